import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVICE_NAMES, SERVICES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';
import { SERVICE_DATABASES } from '@comms/infra';
import { telemetryConfigFromEnv } from '@comms/telemetry/sdk';

/**
 * This machine cannot run containers, so docker-compose.yml and the
 * Dockerfiles are held to the code statically: structure, the environment
 * each service's own config demands, ports, and paths.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  profiles?: string[];
  healthcheck?: unknown;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  name?: string;
  services: Record<string, ComposeService>;
  [key: string]: unknown;
};

const TOP_LEVEL = new Set([
  'name',
  'services',
  'volumes',
  'networks',
  'configs',
  'secrets',
  'include',
]);
const CONDITIONS = new Set([
  'service_started',
  'service_healthy',
  'service_completed_successfully',
]);

describe('docker-compose.yml follows the Compose specification', () => {
  it('has only known top-level keys (extensions start with x-)', () => {
    for (const key of Object.keys(compose))
      expect(TOP_LEVEL.has(key) || key.startsWith('x-'), key).toBe(true);
  });

  it.each(Object.entries(compose.services))(
    '%s has an image or a build whose Dockerfile exists',
    (_name, service) => {
      expect(service.image !== undefined || service.build !== undefined).toBe(true);
      if (service.build !== undefined)
        expect(existsSync(join(ROOT, service.build.context, service.build.dockerfile))).toBe(true);
    },
  );

  it.each(Object.entries(compose.services))(
    '%s depends only on services that exist, with valid conditions',
    (_name, service) => {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[target], target).toBeDefined();
        expect(CONDITIONS.has(condition), condition).toBe(true);
      }
    },
  );

  it('publishes only the services, only on loopback, on the ports of the table', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mapping of service.ports ?? [])
        expect(mapping, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
    expect(compose.services['postgres']?.ports).toBeUndefined();
    expect(compose.services['kafka']?.ports).toBeUndefined();
    for (const name of SERVICE_NAMES) {
      const containerPorts = (compose.services[name]?.ports ?? []).map((p) =>
        Number(p.split(':')[2]),
      );
      const entry = SERVICES[name];
      expect(containerPorts.sort()).toEqual(
        [entry.http, ...(entry.grpc === undefined ? [] : [entry.grpc])].sort(),
      );
    }
  });

  it('creates every service database and role, and the read-only role of the shared-db style', () => {
    const sql = read('infra/compose/postgres-init.sql');
    for (const { database, role } of SERVICE_DATABASES) {
      expect(sql).toContain(`CREATE ROLE ${role} LOGIN`);
      expect(sql).toContain(`CREATE DATABASE ${database} OWNER ${role}`);
    }
    expect(sql).toContain('CREATE ROLE users_reader LOGIN');
  });

  it('creates the topics of the contract before the services start', () => {
    const command = JSON.stringify(compose.services['kafka-topics']);
    for (const topic of ['users', 'orders', 'notifications.dlq']) expect(command).toContain(topic);
  });
});

/** A service's environment as Compose hands it over, `${VAR:-default}` resolved against `shell`. */
function environmentOf(service: ComposeService, shell: Record<string, string> = {}) {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [
      key,
      String(value).replace(
        /\$\{(\w+)(?::-([^}]*))?\}/g,
        (_match, name: string, fallback?: string) => shell[name] || (fallback ?? ''),
      ),
    ]),
  );
}

describe('the observability profile', () => {
  const envFile = Object.fromEntries(
    read('infra/compose/observability.env')
      .split('\n')
      .filter((line) => /^\w+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

  it('adds Jaeger and Prometheus, published on loopback only', () => {
    for (const name of ['jaeger', 'prometheus']) {
      expect(compose.services[name]?.profiles).toEqual(['observability']);
      expect(compose.services[name]?.image).toMatch(/:v?\d+\.\d+\.\d+$/);
    }
    expect(envFile['COMPOSE_PROFILES']).toBe('observability');
  });

  it.each(SERVICE_NAMES)(
    '%s stays quiet by default and sends spans to Jaeger with observability.env',
    (name) => {
      const service = compose.services[name] as ComposeService;
      const quiet = telemetryConfigFromEnv(environmentOf(service));
      expect(quiet.traceExporters).toEqual([]);
      expect(quiet.metricExporters).toEqual(['prometheus']);
      const observed = telemetryConfigFromEnv(environmentOf(service, envFile));
      expect(observed.traceExporters).toEqual(['otlp']);
      expect(observed.metricExporters).toEqual(['prometheus']);
      expect(environmentOf(service, envFile)['OTEL_EXPORTER_OTLP_ENDPOINT']).toBe(
        'http://jaeger:4318',
      );
    },
  );

  it('has Prometheus scrape every service on its HTTP port', () => {
    const config = parse(read('infra/compose/prometheus.yml')) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = config.scrape_configs.flatMap((job) =>
      job.static_configs.flatMap((group) => group.targets),
    );
    expect(targets.sort()).toEqual(
      SERVICE_NAMES.map((name) => `${name}:${SERVICES[name].http}`).sort(),
    );
  });
});

describe.each([...SERVICE_NAMES, 'order-service-shared-db'])(
  'compose service %s',
  (composeName) => {
    const service = compose.services[composeName] as ComposeService;
    const app = (
      composeName === 'order-service-shared-db' ? 'order-service' : composeName
    ) as ServiceName;

    it('gives the service every variable its own config demands, valid', async () => {
      const env = environmentOf(service);
      const { loadConfig } = (await import(
        pathToFileURL(join(ROOT, 'apps', app, 'dist', 'config.js')).href
      )) as {
        loadConfig: (env: Record<string, string>) => {
          HOST: string;
          PORT: number;
          userServiceHttp?: string;
        };
      };
      const config = loadConfig(env);
      expect(config.HOST).toBe('0.0.0.0');
      expect(config.PORT).toBe(SERVICES[app].http);
      if (config.userServiceHttp !== undefined)
        expect(config.userServiceHttp).toBe('http://user-service:8081');
      expect(env['ENDPOINTS_MODE']).toBe('compose');
    });
  },
);

describe.each([...SERVICE_NAMES, 'loadgen'])('apps/%s/Dockerfile', (app) => {
  const dockerfile = read(`apps/${app}/Dockerfile`);

  it('copies only paths that exist in the repository', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(\S+) \S+$/gm)].map(
      (m) => m[1] ?? '',
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
  });

  it('prunes, builds and starts its own workspace, as a non-root user', () => {
    expect(dockerfile).toContain(`turbo@2.11.9 prune @comms/${app} --docker`);
    const entry = /^CMD \["node", "(apps\/[^"]+)\.js"/m.exec(dockerfile)?.[1];
    expect(entry).toBeDefined();
    expect(existsSync(join(ROOT, `${entry?.replace('/dist/', '/src/') ?? ''}.ts`))).toBe(true);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS runtime$/m);
  });
});
