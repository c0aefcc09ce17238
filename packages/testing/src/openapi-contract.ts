import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openApiBreakingChanges } from './tools.js';

/** Where a service's REST contract is kept: what it serves, and what was published. */
export function openApiPaths(service: string): { committed: string; baseline: string } {
  const at = (path: string) =>
    fileURLToPath(new URL(`../../../docs/openapi/${path}`, import.meta.url));
  return { committed: at(`${service}.json`), baseline: at(`baseline/${service}.json`) };
}

/**
 * A service's REST contract, kept (docs/contracts.md): the OpenAPI document it
 * serves must be the one committed under docs/openapi/ (vitest writes it only
 * when told to, with -u), and that document must break no client of the
 * published one in docs/openapi/baseline/ (oasdiff breaking). `served`
 * answers the service's GET /docs/json.
 */
export function describeOpenApiContract(
  service: string,
  served: () => Promise<{ statusCode: number; json(): unknown }>,
): void {
  const { committed, baseline } = openApiPaths(service);
  describe('the committed OpenAPI document', () => {
    it('is what the service serves at GET /docs/json', async () => {
      const response = await served();
      expect(response.statusCode).toBe(200);
      await expect(`${JSON.stringify(response.json(), null, 2)}\n`).toMatchFileSnapshot(committed);
    });

    it(
      'breaks no client of the published document (oasdiff breaking)',
      async () => {
        const { breaking, report } = await openApiBreakingChanges(baseline, committed);
        expect(
          breaking,
          `${report}\nThe API changed in a way that breaks clients of docs/openapi/baseline/${service}.json: keep the old route, field or limit beside the new one (see docs/contracts.md)`,
        ).toBe(false);
      },
      // The first run builds oasdiff from the Go module proxy.
      600_000,
    );
  });
}
