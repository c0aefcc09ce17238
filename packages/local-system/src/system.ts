import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createDataDir,
  DEFAULT_PORTS,
  describeInfra,
  findFreePort,
  provisionServiceDatabases,
  startInfra,
  startTokenIssuer,
} from '@comms/infra';
import type { RunningInfra, RunningTokenIssuer } from '@comms/infra';
import { localTokens } from '@comms/auth';
import type { LocalTokens } from '@comms/auth';
import { SERVICE_CLIENTS } from '@comms/identity';
import { SERVICES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';
import { localSystemEnv } from './config.js';
import { openFaultControl } from './console-faults.js';
import type { FaultControl } from './console-faults.js';
import { checkReplicas, defaultInstancePorts } from './replicas.js';
import type { Replicas } from './replicas.js';
import { supervise } from './supervisor.js';
import type { RestartPolicy, Supervised } from './supervisor.js';

/** One running service of the system. */
export interface RunningService {
  readonly name: ServiceName;
  /** Which instance of the service, from 1; the first keeps the table's ports. */
  readonly instance: number;
  readonly http: string;
  /** `host:port`, for the services that speak gRPC. */
  readonly grpc?: string;
  readonly pid: number;
  readonly env: Readonly<Record<string, string>>;
}

/** The whole system, running locally. */
export interface RunningSystem {
  readonly infra: RunningInfra;
  /**
   * The local token issuer (oidc-provider, packages/infra): 8084 under the
   * default ports, a free port otherwise. With {@link SystemOptions.auth}
   * (the default) the services require its tokens.
   */
  readonly issuer: RunningTokenIssuer;
  /**
   * Tokens from that issuer for whoever calls the system (tests, the
   * benchmark, the suites): end users signed in, service clients by client
   * credentials; see {@link LocalTokens}.
   */
  readonly tokens: LocalTokens;
  /** True when the services require tokens ({@link SystemOptions.auth}). */
  readonly auth: boolean;
  readonly databases: Readonly<Record<string, string>>;
  /** The first instance of each service. */
  readonly services: Readonly<Record<ServiceName, RunningService>>;
  /** Every instance of each service, the first first (see {@link SystemOptions.replicas}). */
  readonly instances: Readonly<Record<ServiceName, readonly RunningService[]>>;
  /**
   * Stops one instance of a service (default the first) and resolves with
   * its exit code. SIGTERM (the default) lets it shut down gracefully;
   * SIGKILL is a crash.
   */
  stopService(
    name: ServiceName,
    signal?: 'SIGTERM' | 'SIGKILL',
    instance?: number,
  ): Promise<number | null>;
  /**
   * Starts a stopped instance (default the first) again, with extra
   * environment, and waits until it is ready.
   */
  startService(
    name: ServiceName,
    extraEnv?: Record<string, string>,
    instance?: number,
  ): Promise<void>;
  /**
   * Starts one more instance of a service, on ports of its own, and
   * resolves once it is ready. The other services' address lists were
   * fixed when they started, so callers of the service do not learn of it;
   * for notification-service, which nobody calls but a browser, joining its
   * consumer group is the point.
   */
  addInstance(name: ServiceName, extraEnv?: Record<string, string>): Promise<RunningService>;
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
  /** Receives every line a service (or the console) prints, with the instance (from 1). */
  readonly onLine?: (service: ServiceName | 'console', line: string, instance: number) => void;
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
  /**
   * Instances per service (default 1 each), at most 9. Under the default
   * ports instance n listens on the table's ports plus (n - 1) × 100; the
   * first keeps the table's. Every instance of a service shares its
   * database. The clients of user-service (order-service,
   * notification-service) get every user-service instance in their address
   * lists and spread their calls over them; the console talks to the first
   * instance of each.
   */
  readonly replicas?: Replicas;
  /**
   * Identity on (default): every service gets AUTH_ISSUER_URL, so
   * order-service requires end users' tokens, user-service and
   * notification-service require their callers' own tokens, and the callers
   * (order-service, notification-service, the console) get their client
   * credentials (SERVICE_TOKEN_URL). `false` runs every service open, as
   * before identity existed; the issuer runs either way.
   */
  readonly auth?: boolean;
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
  /**
   * Let the console's faults panel stop and start user-service,
   * notification-service and (native) Kafka (npm start only): a loopback
   * control endpoint whose token only the console is given.
   * Without it the console refuses every fault action.
   */
  readonly consoleFaults?: boolean;
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
 * as packages/infra decides), the local token issuer, a database and role per service, and the
 * three services as separate processes configured only through their
 * environment. Resolves once every service answers /readyz.
 */
export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const log = options.log ?? (() => undefined);
  // Checked before anything starts, so a bad count leaves nothing running.
  const replicas = options.replicas ?? {};
  checkReplicas(replicas);
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
  let issuer: RunningTokenIssuer;
  try {
    issuer = await startTokenIssuer({
      port: options.ports === 'default' ? 8084 : 'random',
      onUnexpectedExit: (report) => log(report),
    });
  } catch (error) {
    await infra.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  log(`token issuer ready at ${issuer.url} (oidc-provider)`);
  let databases: Awaited<ReturnType<typeof provisionServiceDatabases>>;
  try {
    databases = await provisionServiceDatabases(infra.databaseUrl);
  } catch (error) {
    // Nothing started so far may outlive a failed start.
    await issuer.stop();
    await infra.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const names = Object.keys(SERVICES) as ServiceName[];
  /** Ports of instance `instance` (from 1): the table's plus a step, or free ones. */
  const portsOf = async (name: ServiceName, instance: number) => {
    if (options.ports === 'default') {
      const found = defaultInstancePorts(name, instance);
      return { http: found.http, grpc: found.grpc ?? 0 };
    }
    return {
      http: await findFreePort(),
      grpc: SERVICES[name].grpc === undefined ? 0 : await findFreePort(),
    };
  };
  const initial = {} as Record<ServiceName, { http: number; grpc: number }[]>;
  for (const name of names) {
    initial[name] = [];
    for (let i = 1; i <= (replicas[name] ?? 1); i++) initial[name].push(await portsOf(name, i));
  }
  /** The first instance's ports: what the console and single-address callers use. */
  const ports = {} as Record<ServiceName, { http: number; grpc: number }>;
  for (const name of names) ports[name] = initial[name][0] ?? { http: 0, grpc: 0 };
  const users = initial['user-service'];
  const auth = options.auth ?? true;
  const secretOf = (clientId: string) =>
    SERVICE_CLIENTS.find((client) => client.clientId === clientId)?.clientSecret ?? '';
  /** A caller's own identity at the issuer (client credentials), when identity is on. */
  const identityOf = (clientId: string): Record<string, string> =>
    auth
      ? {
          SERVICE_TOKEN_URL: `${issuer.url}/token`,
          SERVICE_CLIENT_ID: clientId,
          SERVICE_CLIENT_SECRET: secretOf(clientId),
        }
      : {};
  const common: Record<string, string> = {
    PATH: given.path,
    HOST: '127.0.0.1',
    KAFKA_BROKERS: infra.kafkaBrokers,
    LOG_LEVEL: 'info',
    // Addresses through packages/endpoints; explicit so random ports work
    // too. Every user-service instance: its clients spread calls over them.
    USER_SERVICE_HTTP_URL: users.map((p) => `http://127.0.0.1:${String(p.http)}`).join(','),
    USER_SERVICE_GRPC_ADDR: users.map((p) => `127.0.0.1:${String(p.grpc)}`).join(','),
    ...(auth ? { AUTH_ISSUER_URL: issuer.url } : {}),
    ...options.env,
  };
  const own: Record<ServiceName, Record<string, string>> = {
    // Its default callers (AUTH_CALLERS) know order-service, notification-service, the console and the tools.
    'user-service': { DATABASE_URL: databases['user-service'] ?? '' },
    'order-service': {
      DATABASE_URL: databases['order-service'] ?? '',
      USERS_DATABASE_URL: databases['shared-db reader'] ?? '',
      ...identityOf('order-service'),
    },
    'notification-service': {
      DATABASE_URL: databases['notification-service'] ?? '',
      ...identityOf('notification-service'),
    },
  };
  const envOf = (name: ServiceName, p: { http: number; grpc: number }) => ({
    ...common,
    PORT: String(p.http),
    ...(p.grpc === 0 ? {} : { GRPC_PORT: String(p.grpc) }),
    ...own[name],
  });

  const services = {} as Record<ServiceName, RunningService>;
  const instances = {} as Record<ServiceName, RunningService[]>;
  /** Every instance's supervisor, by service, first instance first. */
  const all = {} as Record<ServiceName, Supervised[]>;
  /** The first instance of each service. */
  const supervised = {} as Record<ServiceName, Supervised>;
  let reportFailure: (reason: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (reportFailure = resolve));
  /** Supervises instance `instance` (from 1) of a service on these ports; does not start it. */
  const addSupervised = (
    name: ServiceName,
    instance: number,
    p: { http: number; grpc: number },
  ): Supervised => {
    const http = `http://127.0.0.1:${String(p.http)}`;
    const label = instance === 1 ? name : `${name}#${String(instance)}`;
    const base = envOf(name, p);
    /** Its environment as last started (base plus startService's extra). */
    let envNow: Record<string, string> = base;
    const one = supervise({
      name: label,
      process: (extraEnv) => {
        envNow = { ...base, ...extraEnv };
        return { args: [ENTRY[name]], env: envNow };
      },
      ready: async (launched) => {
        const info: RunningService = {
          name,
          instance,
          http,
          ...(p.grpc === 0 ? {} : { grpc: `127.0.0.1:${String(p.grpc)}` }),
          pid: launched.pid,
          env: envNow,
        };
        instances[name][instance - 1] = info;
        if (instance === 1) services[name] = info;
        await launched.waitHealthy(`${http}/readyz`, {
          timeoutMs: READY_TIMEOUT_MS,
          intervalMs: 200,
        });
        log(`${label} ready at ${http}`);
      },
      ...(options.onLine === undefined
        ? {}
        : { onLine: (line: string) => options.onLine?.(name, line, instance) }),
      log,
      ...(options.restart === undefined ? {} : { restart: options.restart }),
    });
    void one.failed.then(reportFailure);
    all[name][instance - 1] = one;
    if (instance === 1) supervised[name] = one;
    return one;
  };
  for (const name of names) {
    instances[name] = [];
    all[name] = [];
    initial[name].forEach((p, i) => addSupervised(name, i + 1, p));
  }
  const instanceOf = (name: ServiceName, instance: number): Supervised => {
    const found = all[name][instance - 1];
    if (found === undefined)
      throw new Error(
        `${name} has ${String(all[name].length)} instance(s); there is no instance ${String(instance)}`,
      );
    return found;
  };
  const launch = (name: ServiceName, extraEnv: Record<string, string> = {}, instance = 1) =>
    instanceOf(name, instance).start(extraEnv);
  const stopService = (
    name: ServiceName,
    signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
    instance = 1,
  ) => instanceOf(name, instance).stop(signal);
  const addInstance = async (name: ServiceName, extraEnv: Record<string, string> = {}) => {
    const instance = all[name].length + 1;
    checkReplicas({ [name]: instance });
    await addSupervised(name, instance, await portsOf(name, instance)).start(extraEnv);
    const info = instances[name][instance - 1];
    if (info === undefined) throw new Error(`${name}#${String(instance)} did not start`);
    return info;
  };

  // The console calls the services, so it starts after them and stops first.
  let faults: FaultControl | undefined;
  let consoleProcess: Supervised | undefined;
  let consoleInfo: { http: string; pid: number } | undefined;
  const startConsole = async () => {
    const consolePort = options.ports === 'default' ? CONSOLE_PORT : await findFreePort();
    const http = `http://127.0.0.1:${consolePort}`;
    const spansDir = options.env?.['TELEMETRY_SPANS_DIR'];
    if (options.consoleFaults === true) faults = await openFaultControl();
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
          // The Kafka panel lists the topics through the project's Kafka adapter.
          KAFKA_BROKERS: infra.kafkaBrokers,
          // The console signs its users in at the local issuer and calls as them (docs/console.md).
          ...(auth ? { AUTH_ISSUER_URL: issuer.url } : {}),
          ...(spansDir === undefined ? {} : { CONSOLE_SPANS_DIR: spansDir }),
          ...faults?.env,
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
        : { onLine: (line: string) => options.onLine?.('console', line, 1) }),
      log,
      ...(options.restart === undefined ? {} : { restart: options.restart }),
    });
    void consoleProcess.failed.then(reportFailure);
    await consoleProcess.start({});
  };

  const stop = async () => {
    await consoleProcess?.stop();
    await faults?.close();
    await Promise.all(
      Object.values(all)
        .flat()
        .map((service) => service.stop()),
    );
    await issuer.stop();
    await infra.stop();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    // user-service first: the others check users through it.
    await Promise.all(all['user-service'].map((one) => one.start()));
    await Promise.all(
      [...all['order-service'], ...all['notification-service']].map((one) => one.start()),
    );
    if (options.console === true) await startConsole();
  } catch (error) {
    await stop();
    throw error;
  }
  // Kafka can be stopped only when it is a server this run launched (native);
  // Kafka from the environment or a container is left alone.
  const kafkaControl = infra.kafka.control;
  faults?.attach({
    stop: async (name) => {
      if (name === 'kafka') await kafkaControl?.kill('SIGTERM');
      else await stopService(name);
    },
    start: async (name) => {
      if (name === 'kafka') await kafkaControl?.restart();
      else await launch(name);
    },
    refusal: (name) =>
      name === 'kafka' && kafkaControl === undefined
        ? `Kafka came from ${infra.kafka.source === 'environment' ? 'the environment (KAFKA_BROKERS)' : 'a container'}, not from this npm start, so the console does not stop it`
        : undefined,
  });
  return {
    infra,
    issuer,
    tokens: localTokens({ issuerUrl: issuer.url }),
    auth,
    databases,
    services,
    instances,
    stopService,
    startService: launch,
    addInstance,
    stop,
    failed,
    ...(consoleInfo === undefined ? {} : { console: consoleInfo }),
  };
}
