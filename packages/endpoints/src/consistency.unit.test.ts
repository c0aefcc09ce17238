import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createResolver } from './resolver.js';
import type { Env } from './resolver.js';
import { SERVICE_NAMES, SERVICES } from './services.js';

/**
 * Holds every place that repeats service names and ports to the table in
 * services.ts: the README, and, as they appear, docker-compose.yml, the
 * Dockerfiles and the Copilot manifests. Each check runs for the files that
 * exist, so the test grows with the repository.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Rows of the markdown table whose header row starts with `| <first> `. */
function markdownTable(markdown: string, first: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(l));
  expect(start, `README table starting with '${first}'`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim().replace(/`/g, '')),
    );
  }
  return rows;
}

describe('README "How services find each other"', () => {
  const readme = read('README.md');

  it('lists every service with the ports and Service Connect names of the table', () => {
    const rows = markdownTable(readme, 'service');
    expect(rows.map((r) => r[0])).toEqual(SERVICE_NAMES);
    for (const [name, http, grpc, names] of rows) {
      const entry = SERVICES[name as keyof typeof SERVICES];
      expect(Number(http)).toBe(entry.http);
      expect(grpc === '-' ? undefined : Number(grpc)).toBe(entry.grpc);
      expect(names?.split(', ')).toEqual(Object.values(entry.serviceConnect).filter(Boolean));
    }
  });

  it('shows the addresses the resolver really gives in each mode', () => {
    const envFor: Record<string, Env> = {
      local: {},
      compose: { ENDPOINTS_MODE: 'compose' },
      'service-connect': { COPILOT_ENVIRONMENT_NAME: 'test', COPILOT_APPLICATION_NAME: 'kudos' },
      'service-discovery': {
        ENDPOINTS_MODE: 'service-discovery',
        COPILOT_SERVICE_DISCOVERY_ENDPOINT: 'test.kudos.local',
      },
      'service-discovery-legacy': {
        ENDPOINTS_MODE: 'service-discovery-legacy',
        COPILOT_APPLICATION_NAME: 'kudos',
      },
    };
    const rows = markdownTable(readme, 'mode').filter((r) => r[0] !== 'override');
    expect(rows.map((r) => r[0]).sort()).toEqual(Object.keys(envFor).sort());
    for (const [mode = '', , http, grpc] of rows) {
      const resolver = createResolver(envFor[mode] ?? {});
      expect(resolver.mode).toBe(mode);
      expect(resolver.resolve('user-service', 'http')).toBe(http);
      expect(resolver.resolve('user-service', 'grpc')).toBe(grpc);
    }
  });
});

const compose = existsSync(join(ROOT, 'docker-compose.yml'))
  ? (parse(read('docker-compose.yml')) as { services?: Record<string, { environment?: unknown }> })
  : undefined;

describe.runIf(compose !== undefined)('docker-compose.yml', () => {
  it.each(SERVICE_NAMES)('runs %s under its table name in compose mode', (name) => {
    const service = compose?.services?.[name];
    expect(service, `service ${name}`).toBeDefined();
    expect(JSON.stringify(service?.environment ?? {})).toMatch(/ENDPOINTS_MODE\W+compose/);
  });
});

const dockerfiles = SERVICE_NAMES.map((name) => [name, `apps/${name}/Dockerfile`] as const).filter(
  ([, path]) => existsSync(join(ROOT, path)),
);

describe.runIf(dockerfiles.length > 0)('Dockerfiles', () => {
  it.each(dockerfiles)('%s exposes the ports of the table', (name, path) => {
    const exposed = [...read(path).matchAll(/^EXPOSE\s+(.+)$/gm)].flatMap((m) =>
      (m[1] ?? '').split(/\s+/).map((p) => Number(p.split('/')[0])),
    );
    const entry = SERVICES[name];
    expect(exposed).toEqual(
      expect.arrayContaining([entry.http, ...(entry.grpc ? [entry.grpc] : [])]),
    );
  });
});

const manifests = SERVICE_NAMES.map(
  (name) => [name, `copilot/${name}/manifest.yml`] as const,
).filter(([, path]) => existsSync(join(ROOT, path)));

describe.runIf(manifests.length > 0)('Copilot manifests', () => {
  it.each(manifests)(
    '%s listens on the HTTP port of the table, with Service Connect on',
    (name, path) => {
      const manifest = parse(read(path)) as {
        name?: string;
        image?: { port?: number };
        network?: { connect?: unknown };
      };
      expect(manifest.name).toBe(name);
      expect(manifest.image?.port).toBe(SERVICES[name].http);
      expect(manifest.network?.connect).toBeTruthy();
    },
  );
});
