import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createDataDir,
  DEFAULT_PORTS,
  describeInfra,
  findFreePort,
  provisionServiceDatabases,
  startInfra,
} from '@comms/infra';
import type { RunningInfra } from '@comms/infra';
import { SERVICES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';
import { localSystemEnv } from './config.js';
import { supervise } from './supervisor.js';
import type { RestartPolicy, Supervised } from './supervisor.js';

/** One running service of the system. */
export interface RunningService {
  readonly name: ServiceName;
  readonly http: string;
  /** `host:port`, for the services that speak gRPC. */
  readonly grpc?: string;
  readonly pid: number;
  readonly env: Readonly<Record<string, string>>;
}

/** The whole system, running locally. */
export interface RunningSystem {
  readonly infra: RunningInfra;
  readonly databases: Readonly<Record<string, string>>;
  readonly services: Readonly<Record<ServiceName, RunningService>>;
  /**
   * Stops one service and resolves with its exit code. SIGTERM (the
   * default) lets it shut down gracefully; SIGKILL is a crash.
   */
  stopService(name: ServiceName, signal?: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
  /** Starts a stopped service again, with extra environment, and waits until it is ready. */
  startService(name: ServiceName, extraEnv?: Record<string, string>): Promise<void>;
  /** Stops every service, then the infrastructure; nothing is left running. */
  stop(): Promise<void>;
  /**
   * Resolves with the reason once a service is given up on: it died and
   * `restart` was not given, or it kept dying after restarts. Services
   * stopped through `stopService` or `stop` never count.
   */
  readonly failed: Promise<Error>;
  /** The web console, when {@link SystemOptions.console} asked for it. */
  readonly console?: { readonly http: string; readonly pid: number };
}

/** Options for {@link startSystem}. */
export interface SystemOptions {
  /** `default`: the ports of ARCHITECTURE.md; `random`: free ports (tests). */
  readonly ports: 'default' | 'random';
  /** Receives every line a service (or the console) prints. */
  readonly onLine?: (service: ServiceName | 'console', line: string) => void;
  /**
   * Progress messages, and what happens when a service dies unexpectedly:
   * its name, exit code or signal and last lines, restarts, giving up.
   */
  readonly log?: (line: string) => void;
  /**
   * Restart a service that dies unexpectedly (`npm start`). Without it a
   * death is reported through `log` and `failed`, and nothing restarts.
   */
  readonly restart?: RestartPolicy;
  /** Extra environment for every service. */
  readonly env?: Readonly<Record<string, string>>;
  /** Environment the infrastructure is chosen from (DATABASE_URL, KAFKA_BROKERS, COMMS_INFRA). */
  readonly infraEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * Also run the web console (apps/console) once the services are ready,
   * supervised like them; it reads the services' spans from
   * `env.TELEMETRY_SPANS_DIR` when that is given. It must be built:
   * npm start builds every workspace first, and the console's own browser
   * suite runs after its build.
   */
  readonly console?: boolean;
}

// The services' built entry points. Whoever starts the system depends on the
// three service workspaces, so turbo has built them first (apps/dev, apps/loadgen).
const ENTRY: Record<ServiceName, string> = {
  'user-service': fileURLToPath(
    new URL('../../../apps/user-service/dist/server.js', import.meta.url),
  ),
  'order-service': fileURLToPath(
    new URL('../../../apps/order-service/dist/server.js', import.meta.url),
  ),
  'notification-service': fileURLToPath(
    new URL('../../../apps/notification-service/dist/server.js', import.meta.url),
  ),
};

const CONSOLE_ENTRY = fileURLToPath(
  new URL('../../../apps/console/dist/server.js', import.meta.url),
);
/** The console's port in the port table (docs/architecture.md). */
const CONSOLE_PORT = 8080;

/** How long a service may take from start to answering /readyz. */
const READY_TIMEOUT_MS = 90_000;

/**
 * Starts PostgreSQL and Kafka (from the environment, containers or native,
 * as packages/infra decides), a database and role per service, and the
 * three services as separate processes configured only through their
 * environment. Resolves once every service answers /readyz.
 */
export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const log = options.log ?? (() => undefined);
  const given = localSystemEnv();
  const dir = await createDataDir('comms-system-');
  let infra: RunningInfra;
  try {
    infra = await startInfra({
      dir,
      ports: options.ports === 'default' ? DEFAULT_PORTS : 'random',
      env: options.infraEnv ?? given.infra,
      log,
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  for (const line of describeInfra(infra)) log(line);
  const databases = await provisionServiceDatabases(infra.databaseUrl);

  const port = async (service: ServiceName, protocol: 'http' | 'grpc') =>
    options.ports === 'default' ? (SERVICES[service][protocol] ?? 0) : await findFreePort();
  const ports = {
    'user-service': {
      http: await port('user-service', 'http'),
      grpc: await port('user-service', 'grpc'),
    },
    'order-service': {
      http: await port('order-service', 'http'),
      grpc: await port('order-service', 'grpc'),
    },
    'notification-service': { http: await port('notification-service', 'http'), grpc: 0 },
  };
  const common: Record<string, string> = {
    PATH: given.path,
    HOST: '127.0.0.1',
    KAFKA_BROKERS: infra.kafkaBrokers,
    LOG_LEVEL: 'info',
    // Addresses through packages/endpoints; explicit so random ports work too.
    USER_SERVICE_HTTP_URL: `http://127.0.0.1:${ports['user-service'].http}`,
    USER_SERVICE_GRPC_ADDR: `127.0.0.1:${ports['user-service'].grpc}`,
    ...options.env,
  };
  const envOf: Record<ServiceName, Record<string, string>> = {
    'user-service': {
      ...common,
      PORT: String(ports['user-service'].http),
      GRPC_PORT: String(ports['user-service'].grpc),
      DATABASE_URL: databases['user-service'] ?? '',
    },
    'order-service': {
      ...common,
      PORT: String(ports['order-service'].http),
      GRPC_PORT: String(ports['order-service'].grpc),
      DATABASE_URL: databases['order-service'] ?? '',
      USERS_DATABASE_URL: databases['shared-db reader'] ?? '',
    },
    'notification-service': {
      ...common,
      PORT: String(ports['notification-service'].http),
      DATABASE_URL: databases['notification-service'] ?? '',
    },
  };

  const services = {} as Record<ServiceName, RunningService>;
  const supervised = {} as Record<ServiceName, Supervised>;
  /** Each service's environment as last started (envOf plus startService's extra). */
  const envNow = { ...envOf };
  let reportFailure: (reason: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (reportFailure = resolve));
  for (const name of Object.keys(envOf) as ServiceName[]) {
    const http = `http://127.0.0.1:${ports[name].http}`;
    supervised[name] = supervise({
      name,
      process: (extraEnv) => {
        envNow[name] = { ...envOf[name], ...extraEnv };
        return { args: [ENTRY[name]], env: envNow[name] };
      },
      ready: async (launched) => {
        services[name] = {
          name,
          http,
          ...(ports[name].grpc === 0 ? {} : { grpc: `127.0.0.1:${ports[name].grpc}` }),
          pid: launched.pid,
          env: envNow[name],
        };
        await launched.waitHealthy(`${http}/readyz`, {
          timeoutMs: READY_TIMEOUT_MS,
          intervalMs: 200,
        });
        log(`${name} ready at ${http}`);
      },
      ...(options.onLine === undefined
        ? {}
        : { onLine: (line: string) => options.onLine?.(name, line) }),
      log,
      ...(options.restart === undefined ? {} : { restart: options.restart }),
    });
    void supervised[name].failed.then(reportFailure);
  }
  const launch = (name: ServiceName, extraEnv: Record<string, string> = {}) =>
    supervised[name].start(extraEnv);
  const stopService = (name: ServiceName, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') =>
    supervised[name].stop(signal);

  // The console calls the services, so it starts after them and stops first.
  let consoleProcess: Supervised | undefined;
  let consoleInfo: { http: string; pid: number } | undefined;
  const startConsole = async () => {
    const consolePort = options.ports === 'default' ? CONSOLE_PORT : await findFreePort();
    const http = `http://127.0.0.1:${consolePort}`;
    const spansDir = options.env?.['TELEMETRY_SPANS_DIR'];
    consoleProcess = supervise({
      name: 'console',
      process: () => ({
        args: [CONSOLE_ENTRY],
        env: {
          PATH: given.path,
          HOST: '127.0.0.1',
          PORT: String(consolePort),
          LOG_LEVEL: 'info',
          ORDER_SERVICE_HTTP_URL: `http://127.0.0.1:${ports['order-service'].http}`,
          ORDER_SERVICE_GRPC_ADDR: `127.0.0.1:${ports['order-service'].grpc}`,
          USER_SERVICE_HTTP_URL: `http://127.0.0.1:${ports['user-service'].http}`,
          NOTIFICATION_SERVICE_HTTP_URL: `http://127.0.0.1:${ports['notification-service'].http}`,
          ...(spansDir === undefined ? {} : { CONSOLE_SPANS_DIR: spansDir }),
        },
      }),
      ready: async (launched) => {
        consoleInfo = { http, pid: launched.pid };
        await launched.waitHealthy(`${http}/readyz`, {
          timeoutMs: READY_TIMEOUT_MS,
          intervalMs: 200,
        });
        log(`console ready at ${http}`);
      },
      ...(options.onLine === undefined
        ? {}
        : { onLine: (line: string) => options.onLine?.('console', line) }),
      log,
      ...(options.restart === undefined ? {} : { restart: options.restart }),
    });
    void consoleProcess.failed.then(reportFailure);
    await consoleProcess.start({});
  };

  const stop = async () => {
    await consoleProcess?.stop();
    await Promise.all(Object.values(supervised).map((service) => service.stop()));
    await infra.stop();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await launch('user-service');
    await Promise.all([launch('order-service'), launch('notification-service')]);
    if (options.console === true) await startConsole();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    infra,
    databases,
    services,
    stopService,
    startService: launch,
    stop,
    failed,
    ...(consoleInfo === undefined ? {} : { console: consoleInfo }),
  };
}
