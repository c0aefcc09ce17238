// order-service's REST contract, kept: docs/openapi/order-service.json is the
// OpenAPI document the service serves at GET /docs/json, committed so that a
// change to it is seen in review. After a deliberate change to the routes:
//   cd apps/order-service && npx vitest run src/openapi.int.test.ts -u
// docs/openapi/baseline/order-service.json is the published document: oasdiff's
// breaking check refuses a change that would break its clients. Copy the
// document over it only when publishing a new API on purpose (docs/contracts.md).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, openApiBreakingChanges, testInfra } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { loadConfig } from './config.js';
import { startOrderService } from './main.js';

const COMMITTED = fileURLToPath(
  new URL('../../../docs/openapi/order-service.json', import.meta.url),
);
const BASELINE = fileURLToPath(
  new URL('../../../docs/openapi/baseline/order-service.json', import.meta.url),
);

let db: TestDatabase;
let service: Awaited<ReturnType<typeof startOrderService>>;

beforeAll(async () => {
  db = await createTestDatabase('order_openapi');
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: testInfra().kafkaBrokers,
    KAFKA_CLIENT: testInfra().kafkaClient,
    LOG_LEVEL: 'silent',
  });
  service = await startOrderService({ ...config, PORT: 0, GRPC_PORT: 0 });
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
  await db.drop();
});

describe('the committed OpenAPI document', () => {
  it('is what the service serves at GET /docs/json', async () => {
    const served = await service.app.inject({ method: 'GET', url: '/docs/json' });
    expect(served.statusCode).toBe(200);
    // vitest fails on a difference and writes the file only when told to (-u).
    await expect(`${JSON.stringify(served.json(), null, 2)}\n`).toMatchFileSnapshot(
      '../../../docs/openapi/order-service.json',
    );
  });

  it(
    'breaks no client of the published document (oasdiff breaking)',
    async () => {
      const { breaking, report } = await openApiBreakingChanges(BASELINE, COMMITTED);
      expect(
        breaking,
        `${report}\nThe API changed in a way that breaks clients of docs/openapi/baseline/order-service.json: keep the old route, field or limit beside the new one (see docs/contracts.md)`,
      ).toBe(false);
    },
    // The first run builds oasdiff from the Go module proxy.
    600_000,
  );
});
