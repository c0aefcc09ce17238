import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createKafka, parseBrokers } from '@comms/kafka';
import { parseDatabaseUrl, redactDatabaseUrl } from '@comms/postgres';
import {
  containerRuntimeAvailable,
  IMAGES,
  startContainerKafka,
  startContainerPostgres,
} from './containers.js';
import { infraEnv } from './config.js';
import { InfraError } from './errors.js';
import { startNativeKafka } from './native-kafka.js';
import { startNativePostgres } from './native-postgres.js';
import { findFreePort } from './process-util.js';
import type { ServerControl } from './process-util.js';

/** Where a server came from, in the order they are tried. */
export type InfraSource = 'environment' | 'containers' | 'native';

/** Ports for the native servers, or `'random'` for free ports (tests). */
export interface InfraPorts {
  readonly postgres: number;
  readonly kafka: number;
  readonly kafkaController: number;
}

/** Options for {@link startInfra}. */
export interface StartInfraOptions {
  /** Where native servers keep their data; removed on stop. */
  readonly dir: string;
  readonly ports: InfraPorts | 'random';
  /** Read for DATABASE_URL, KAFKA_BROKERS and COMMS_INFRA. Default: what config.ts read from the process. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log?: (line: string) => void;
}

/** One server that is up, and how it got there. */
export interface ServerInfo {
  readonly source: InfraSource;
  /** Milliseconds from start until it answered. */
  readonly readyMs: number;
  /** The server's release, where this project chose it (native and containers). */
  readonly version?: string;
  /** OS process id, for native servers. */
  readonly pid?: number;
  readonly logFile?: string;
  /** For native servers: kill and restart, for fault injection. */
  readonly control?: ServerControl;
}

/** PostgreSQL and Kafka, ready to use. */
export interface RunningInfra {
  /** Superuser URL; tests create their own databases through it. */
  readonly databaseUrl: string;
  readonly kafkaBrokers: string;
  readonly postgres: ServerInfo;
  readonly kafka: ServerInfo;
  /** Stops what this call started; servers given by the environment are left alone. */
  stop(): Promise<void>;
}

/** The default ports of ARCHITECTURE.md, used by `npm run infra` and `npm start`. */
export const DEFAULT_PORTS: InfraPorts = { postgres: 5432, kafka: 9092, kafkaController: 9093 };

type Mode = 'auto' | 'native' | 'containers';

function readMode(env: StartInfraOptions['env']): Mode {
  const value = env?.['COMMS_INFRA']?.trim() ?? '';
  if (value === '' || value === 'auto') return 'auto';
  if (value === 'native' || value === 'containers') return value;
  throw new InfraError(
    `COMMS_INFRA must be one of auto, native, containers; got '${value}'`,
    'unset it to let the infra pick (environment, then containers, then native)',
  );
}

async function checkPostgresAnswers(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new InfraError(
      `DATABASE_URL is set to ${redactDatabaseUrl(url)} but that server does not answer: ${(error as Error).message}`,
      'start that server, fix the URL, or unset DATABASE_URL to let the infra start PostgreSQL itself',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkKafkaAnswers(brokers: string): Promise<void> {
  const client = createKafka({ brokers: brokers.split(','), clientId: 'infra-check', retries: 2 });
  try {
    const admin = await client.admin();
    await admin.listTopics();
    await admin.close();
  } catch (error) {
    throw new InfraError(
      `KAFKA_BROKERS is set to ${brokers} but no broker answers: ${(error as Error).message}`,
      'start that broker, fix the list, or unset KAFKA_BROKERS to let the infra start Kafka itself',
    );
  }
}

function asInfraError(variable: string, error: unknown): InfraError {
  return new InfraError((error as Error).message, `fix ${variable} or unset it`);
}

/**
 * Brings up PostgreSQL and Kafka, each from the first source that applies:
 * the environment (DATABASE_URL, KAFKA_BROKERS), then containers when a
 * container runtime answers, then native processes. Both start in parallel;
 * if one fails, the other is stopped before the error is thrown.
 */
export async function startInfra(options: StartInfraOptions): Promise<RunningInfra> {
  const env = options.env ?? infraEnv().all;
  const log = options.log ?? (() => undefined);
  const mode = readMode(env);
  const givenDb = env['DATABASE_URL']?.trim() || undefined;
  const givenKafka = env['KAFKA_BROKERS']?.trim() || undefined;
  if (givenDb !== undefined) {
    try {
      parseDatabaseUrl(givenDb);
    } catch (error) {
      throw asInfraError('DATABASE_URL', error);
    }
  }
  if (givenKafka !== undefined) {
    try {
      parseBrokers(givenKafka);
    } catch (error) {
      throw asInfraError('KAFKA_BROKERS', error);
    }
  }

  let useContainers = mode === 'containers';
  if (mode === 'auto' && (givenDb === undefined || givenKafka === undefined)) {
    useContainers = await containerRuntimeAvailable();
  }
  const ports =
    options.ports === 'random'
      ? {
          postgres: await findFreePort(),
          kafka: await findFreePort(),
          kafkaController: await findFreePort(),
        }
      : options.ports;

  const startPostgres = async (): Promise<{
    url: string;
    info: ServerInfo;
    stop(): Promise<void>;
  }> => {
    const started = Date.now();
    if (givenDb !== undefined) {
      await checkPostgresAnswers(givenDb);
      return {
        url: givenDb,
        info: { source: 'environment', readyMs: Date.now() - started },
        stop: async () => {},
      };
    }
    if (useContainers) {
      const server = await startContainerPostgres();
      return {
        url: server.address,
        info: { source: 'containers', readyMs: Date.now() - started },
        stop: () => server.stop(),
      };
    }
    const server = await startNativePostgres({
      port: ports.postgres,
      dir: join(options.dir, 'postgres'),
    });
    return {
      url: server.url,
      info: {
        source: 'native',
        readyMs: Date.now() - started,
        pid: server.pid,
        logFile: server.logFile,
        control: server,
      },
      stop: () => server.stop(),
    };
  };

  const startKafka = async (): Promise<{
    url: string;
    info: ServerInfo;
    stop(): Promise<void>;
  }> => {
    const started = Date.now();
    if (givenKafka !== undefined) {
      await checkKafkaAnswers(givenKafka);
      return {
        url: givenKafka,
        info: { source: 'environment', readyMs: Date.now() - started },
        stop: async () => {},
      };
    }
    if (useContainers) {
      const server = await startContainerKafka();
      return {
        url: server.address,
        info: {
          source: 'containers',
          readyMs: Date.now() - started,
          version: IMAGES.kafka.replace(/^.*:/, ''),
        },
        stop: () => server.stop(),
      };
    }
    const server = await startNativeKafka({
      port: ports.kafka,
      controllerPort: ports.kafkaController,
      dir: join(options.dir, 'kafka'),
      log,
    });
    return {
      url: server.brokers,
      info: {
        source: 'native',
        readyMs: Date.now() - started,
        version: server.version,
        pid: server.pid,
        logFile: server.logFile,
        control: server,
      },
      stop: () => server.stop(),
    };
  };

  const [postgres, kafka] = await Promise.allSettled([startPostgres(), startKafka()]);
  if (postgres.status === 'rejected' || kafka.status === 'rejected') {
    await Promise.allSettled([
      postgres.status === 'fulfilled' ? postgres.value.stop() : undefined,
      kafka.status === 'fulfilled' ? kafka.value.stop() : undefined,
    ]);
    throw postgres.status === 'rejected'
      ? postgres.reason
      : (kafka as PromiseRejectedResult).reason;
  }
  return {
    databaseUrl: postgres.value.url,
    kafkaBrokers: kafka.value.url,
    postgres: postgres.value.info,
    kafka: kafka.value.info,
    async stop() {
      await Promise.allSettled([kafka.value.stop(), postgres.value.stop()]);
    },
  };
}

/** One line per server: where it came from, its address and how long it took. */
export function describeInfra(infra: RunningInfra): string[] {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `PostgreSQL ready in ${seconds(infra.postgres.readyMs)} (${infra.postgres.source}): ${redactDatabaseUrl(infra.databaseUrl)}`,
    `Kafka      ready in ${seconds(infra.kafka.readyMs)} (${infra.kafka.source}${infra.kafka.version === undefined ? '' : ` ${infra.kafka.version}`}): ${infra.kafkaBrokers}`,
  ];
}

/**
 * A fresh directory for native server data under the OS temp directory.
 * PostgreSQL runs as the `postgres` OS user when we are root, so the
 * directory must be traversable by other users.
 */
export async function createDataDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}
