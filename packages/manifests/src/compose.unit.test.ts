import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVICE_NAMES, SERVICES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';
import { SERVICE_CLIENTS, SERVICE_DATABASES, tokenIssuerEnv } from '@comms/infra';
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
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
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
          userServiceHttp?: readonly string[];
        };
      };
      const config = loadConfig(env);
      expect(config.HOST).toBe('0.0.0.0');
      expect(config.PORT).toBe(SERVICES[app].http);
      if (config.userServiceHttp !== undefined)
        expect(config.userServiceHttp).toEqual(['http://user-service:8081']);
      expect(env['ENDPOINTS_MODE']).toBe('compose');
    });
  },
);

describe('compose service console (apps/console, the web console)', () => {
  const service = compose.services['console'] as ComposeService;

  it('is built like the services, published on loopback 8080, and finds them and Kafka by compose name', async () => {
    expect(service.build).toEqual({
      context: '.',
      dockerfile: 'infra/docker/service.Dockerfile',
      args: { SERVICE: 'console' },
    });
    expect(service.ports).toEqual(['127.0.0.1:8080:8080']);
    expect(Object.keys(service.depends_on ?? {}).sort()).toEqual([
      'notification-service',
      'order-service',
    ]);
    // From its source (vitest compiles it): the console is no dependency of this package.
    const { loadConfig } = (await import(
      pathToFileURL(join(ROOT, 'apps', 'console', 'src', 'config.ts')).href
    )) as {
      loadConfig: (env: Record<string, string>) => {
        HOST: string;
        PORT: number;
        orderServiceHttp: string;
        orderServiceGrpc: string;
        notificationServiceHttp: string;
        JAEGER_UI_URL?: string;
        kafka?: { brokers: string[] };
      };
    };
    const config = loadConfig(environmentOf(service));
    expect(config).toMatchObject({
      HOST: '0.0.0.0',
      PORT: 8080,
      orderServiceHttp: 'http://order-service:8082',
      orderServiceGrpc: 'order-service:50052',
      notificationServiceHttp: 'http://notification-service:8083',
    });
    // The Kafka panel's topics: the broker by its compose name, as the services have it.
    expect(config.kafka?.brokers).toEqual(['kafka:9092']);
    expect(config.JAEGER_UI_URL).toBeUndefined();
    const observability = { JAEGER_UI_URL: 'http://127.0.0.1:16686' };
    expect(read('infra/compose/observability.env')).toContain(
      `JAEGER_UI_URL=${observability.JAEGER_UI_URL}`,
    );
    expect(loadConfig(environmentOf(service, observability)).JAEGER_UI_URL).toBe(
      observability.JAEGER_UI_URL,
    );
  });

  it('is deployed nowhere: no Copilot service of its own', () => {
    expect(existsSync(join(ROOT, 'copilot', 'console'))).toBe(false);
  });
});

describe('identity under compose: the token issuer, and every service checking its tokens', () => {
  const issuer = compose.services['token-issuer'] as ComposeService;
  const ISSUER = 'http://token-issuer:8084';

  it('runs the local issuer built from the repository, on 0.0.0.0 in its container, published on loopback 8084', () => {
    expect(issuer.build).toEqual({
      context: '.',
      dockerfile: 'infra/docker/token-issuer.Dockerfile',
    });
    expect(issuer.ports).toEqual(['127.0.0.1:8084:8084']);
    // Its own config parser reads what compose hands it: the iss every token carries.
    expect(tokenIssuerEnv(environmentOf(issuer))).toMatchObject({
      host: '0.0.0.0',
      port: 8084,
      issuerUrl: ISSUER,
      operators: ['operator'],
    });
  });

  it('starts every service after the issuer is healthy', () => {
    for (const name of [...SERVICE_NAMES, 'order-service-shared-db'])
      expect(compose.services[name]?.depends_on?.['token-issuer'], name).toEqual({
        condition: 'service_healthy',
      });
  });

  it.each([...SERVICE_NAMES, 'order-service-shared-db'])(
    '%s expects tokens of that issuer, and callers carry their own',
    async (composeName) => {
      const app = (
        composeName === 'order-service-shared-db' ? 'order-service' : composeName
      ) as ServiceName;
      const env = environmentOf(compose.services[composeName] as ComposeService);
      const { loadConfig } = (await import(
        pathToFileURL(join(ROOT, 'apps', app, 'dist', 'config.js')).href
      )) as {
        loadConfig: (env: Record<string, string>) => {
          auth?: { issuer: string; callers?: readonly unknown[] };
          identity?: { tokenUrl: string; clientId: string; clientSecret: string };
        };
      };
      const config = loadConfig(env);
      expect(env['AUTH_ISSUER_URL']).toBe(ISSUER);
      // Services whose build checks tokens say so (notification-service's check may be newer than its dist).
      if ('auth' in config || app !== 'notification-service')
        expect(config.auth?.issuer).toBe(ISSUER);
      if (app === 'user-service') {
        // Its default: the services read, the console and the tools (the demo registers users) write too.
        expect(config.auth?.callers).toEqual([
          { clientId: 'order-service', permissions: ['users:read'] },
          { clientId: 'notification-service', permissions: ['users:read'] },
          { clientId: 'console', permissions: ['users:read', 'users:write'] },
          { clientId: 'tools', permissions: ['users:read', 'users:write'] },
        ]);
        expect(config.identity).toBeUndefined();
      } else {
        const client = SERVICE_CLIENTS.find((c) => c.clientId === app);
        expect(config.identity).toEqual({
          tokenUrl: `${ISSUER}/token`,
          clientId: app,
          clientSecret: client?.clientSecret,
          userServiceAudience: 'urn:comms:user-service',
          ...(config.identity === undefined ? {} : pick(config.identity)),
        });
      }
    },
  );

  it('gives the console and the demo the same issuer to sign in at', () => {
    for (const name of ['console', 'demo'])
      expect(environmentOf(compose.services[name] as ComposeService)['AUTH_ISSUER_URL'], name).toBe(
        ISSUER,
      );
  });

  describe('infra/docker/token-issuer.Dockerfile', () => {
    const built = instructionsOf(read('infra/docker/token-issuer.Dockerfile'));
    const runtime = Math.max(...built.map((i) => i.stage));
    const inRuntime = built.filter((i) => i.stage === runtime);

    it('prunes and builds packages/infra, and copies only paths that exist', () => {
      const runs = built.filter((i) => i.keyword === 'RUN').map((i) => i.args);
      expect(runs).toContain('npx --yes turbo@2.11.9 prune @comms/infra --docker');
      expect(runs).toContain('npx turbo run build --filter=@comms/infra');
      for (const source of built
        .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
        .map((i) => i.args.split(' ')[0] ?? ''))
        expect(existsSync(join(ROOT, source)), source).toBe(true);
    });

    it('starts token-issuer-main as a non-root user, healthy once discovery answers', () => {
      expect(
        inRuntime.find((i) => i.keyword === 'WORKDIR' && i.args.includes('packages'))?.args,
      ).toBe('/app/packages/infra');
      expect(JSON.parse(inRuntime.find((i) => i.keyword === 'CMD')?.args ?? '[]')).toEqual([
        'node',
        'dist/token-issuer-main.js',
      ]);
      expect(existsSync(join(ROOT, 'packages/infra/src/token-issuer-main.ts'))).toBe(true);
      expect(inRuntime.find((i) => i.keyword === 'USER')?.args).toBe('node');
      const probe = inRuntime.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
      const command = JSON.parse(probe.slice(probe.indexOf('CMD ') + 4)) as string[];
      expect(command[0]).toBe('node');
      expect(command[2]).toContain('/.well-known/openid-configuration');
      expect(inRuntime.find((i) => i.keyword === 'ENV')?.args).toContain(
        'TOKEN_ISSUER_HOST=0.0.0.0',
      );
    });
  });
});

/** Fields of the identity other than the four compose sets (newer builds may add some). */
function pick(identity: Record<string, unknown>): Record<string, unknown> {
  const {
    tokenUrl: _t,
    clientId: _c,
    clientSecret: _s,
    userServiceAudience: _a,
    ...rest
  } = identity;
  return rest;
}

/** One Dockerfile instruction: its keyword, its arguments, and the stage it is in. */
interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly stage: number;
}

/** The instructions of a Dockerfile: comments dropped, continuation lines joined. */
function instructionsOf(text: string): Instruction[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  let stage = -1;
  return logical.map((line) => {
    const [keyword = '', ...rest] = line.split(/\s+/);
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    return { keyword: keyword.toUpperCase(), args: rest.join(' '), stage };
  });
}

/**
 * The instructions as `docker build --build-arg` would expand them, with
 * Docker's scoping: an ARG before the first FROM is visible only in FROM
 * lines, and a stage sees a build argument only after its own `ARG`.
 */
function expand(instructions: Instruction[], buildArgs: Record<string, string>): Instruction[] {
  const global: Record<string, string> = {};
  let scope: Record<string, string> = {};
  const substitute = (text: string, vars: Record<string, string>) =>
    text.replace(/\$\{(\w+)\}/g, (match, name: string) => vars[name] ?? match);
  return instructions.map((instruction) => {
    if (instruction.keyword === 'ARG') {
      const [name = '', fallback] = instruction.args.split('=');
      const value = buildArgs[name] ?? fallback ?? global[name];
      if (instruction.stage < 0) {
        if (value !== undefined) global[name] = value;
      } else if (value !== undefined) scope[name] = value;
      return instruction;
    }
    if (instruction.keyword === 'FROM') {
      scope = {};
      return { ...instruction, args: substitute(instruction.args, global) };
    }
    return { ...instruction, args: substitute(instruction.args, scope) };
  });
}

const SERVICE_DOCKERFILE = 'infra/docker/service.Dockerfile';

describe(`${SERVICE_DOCKERFILE}, the one image recipe of the services`, () => {
  const instructions = instructionsOf(read(SERVICE_DOCKERFILE));

  it.each([...SERVICE_NAMES, 'order-service-shared-db'])(
    'compose service %s builds from it, the service as its only build argument',
    (composeName) => {
      const app = composeName === 'order-service-shared-db' ? 'order-service' : composeName;
      expect(compose.services[composeName]?.build).toEqual({
        context: '.',
        dockerfile: SERVICE_DOCKERFILE,
        args: { SERVICE: app },
      });
    },
  );

  it('uses SERVICE only in stages that declare it (Docker scopes build arguments per stage)', () => {
    const declared = new Set(
      instructions.filter((i) => i.keyword === 'ARG' && i.args === 'SERVICE').map((i) => i.stage),
    );
    const using = instructions.filter((i) => i.keyword !== 'ARG' && i.args.includes('${SERVICE}'));
    expect(using.length).toBeGreaterThan(0);
    for (const instruction of using)
      expect(declared.has(instruction.stage), `${instruction.keyword} ${instruction.args}`).toBe(
        true,
      );
  });

  it('refuses to build without SERVICE, naming the values it takes', () => {
    const check = instructions.find((i) => i.keyword === 'RUN' && i.args.includes('test -n'));
    expect(check?.stage).toBe(0);
    for (const name of SERVICE_NAMES) expect(check?.args).toContain(name);
  });

  describe.each(SERVICE_NAMES)('with SERVICE=%s', (service) => {
    const built = expand(instructions, { SERVICE: service });
    const stages = built.filter((i) => i.keyword === 'FROM').map((i) => i.args);
    const runtime = stages.length - 1;
    const inRuntime = built.filter((i) => i.stage === runtime);

    it('runs on node 24, slim bookworm, in every stage', () => {
      for (const from of stages) expect(from).toMatch(/^node:24-bookworm-slim AS \w+$/);
      expect(stages[runtime]).toBe('node:24-bookworm-slim AS runtime');
    });

    it('copies only paths that exist in the repository', () => {
      const sources = built
        .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
        .map((i) => i.args.split(' ')[0] ?? '');
      expect(sources.length).toBeGreaterThan(0);
      for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
    });

    it('prunes, builds and installs that workspace only', () => {
      const runs = built.filter((i) => i.keyword === 'RUN').map((i) => i.args);
      expect(runs).toContain(`npx --yes turbo@2.11.9 prune @comms/${service} --docker`);
      expect(runs).toContain(`npx turbo run build --filter=@comms/${service}`);
      expect(
        runs.some((run) => run.includes(`--omit=dev`) && run.includes(`@comms/${service}`)),
      ).toBe(true);
    });

    it('starts the service from its built server.js, as a non-root user', () => {
      const workdir = inRuntime.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;
      expect(workdir).toBe(`/app/apps/${service}`);
      expect(inRuntime.map((i) => `${i.keyword} ${i.args}`)).toContain(
        `COPY --from=build /repo/apps/${service}/dist ./apps/${service}/dist`,
      );
      const cmd = JSON.parse(inRuntime.find((i) => i.keyword === 'CMD')?.args ?? '[]') as string[];
      expect(cmd).toEqual(['node', 'dist/server.js']);
      expect(existsSync(join(ROOT, 'apps', service, 'src', 'server.ts'))).toBe(true);
      expect(inRuntime.find((i) => i.keyword === 'USER')?.args).toBe('node');
    });

    it("probes /healthz on the port the service's own config chooses", () => {
      const probe = inRuntime.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
      const script = /CMD \["node", "(\/app\/[^"]+)"\]$/.exec(probe)?.[1];
      expect(script).toBe('/app/healthcheck.mjs');
      expect(inRuntime.map((i) => `${i.keyword} ${i.args}`)).toContain(
        'COPY infra/docker/healthcheck.mjs ./healthcheck.mjs',
      );
      const source = read('infra/docker/healthcheck.mjs');
      expect(source).toContain("resolve('dist/config.js')");
      expect(source).toContain('/healthz');
      expect(existsSync(join(ROOT, 'apps', service, 'src', 'config.ts'))).toBe(true);
    });
  });
});

describe('apps/dev/Dockerfile (the demo as a container)', () => {
  const app = 'dev';
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
