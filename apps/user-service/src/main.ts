import { TOPIC_PARTITIONS, TOPICS } from '@comms/contracts';
import { createKafka } from '@comms/kafka';
import type { OutboxRelay } from '@comms/outbox';
import { createPool } from '@comms/postgres';
import {
  createLogger,
  databaseAdapter,
  outboxPublishing,
  startService,
  telemetryAdapter,
} from '@comms/service-kit';
import { createTokenVerifier } from '@comms/auth';
import { buildApp } from './app.js';
import { createCallerCheck } from './callers.js';
import type { Config } from './config.js';
import { buildGrpcServer } from './grpc.js';
import { MIGRATIONS } from './migrations.js';
import { createUsers } from './users.js';

/**
 * Declares user-service's adapters and starts it through the service kit.
 * Kafka may be down at start: users are still created, their events wait in
 * the outbox, and /readyz says Kafka is missing until it answers. The handle
 * is what `server.ts` and the integration tests both run.
 */
export async function startUserService(
  config: Config,
  options: { readonly telemetry?: { shutdown(): Promise<void> } } = {},
) {
  const logger = createLogger('user-service', config.LOG_LEVEL);
  const pool = createPool({
    url: config.DATABASE_URL,
    applicationName: 'user-service',
    onError: (error) => logger.warn({ err: error }, 'database connection failed'),
  });
  const kafka = createKafka({
    ...config.kafka,
    clientId: 'user-service',
    log: ({ level, message }) => logger[level]({ component: 'kafka' }, message),
  });
  const publishing = outboxPublishing({
    kafka,
    topics: [{ topic: TOPICS.users, partitions: TOPIC_PARTITIONS.users }],
    pool,
    pollMs: config.OUTBOX_POLL_MS,
    logger,
  });

  const callers = createCallerCheck(
    config.auth === undefined
      ? undefined
      : {
          verifier: createTokenVerifier(config.auth),
          callers: config.auth.callers,
        },
  );
  const users = createUsers({ pool, outboxWritten: () => publishing.relay()?.wake() });
  const service = await startService({
    name: 'user-service',
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    adapters: [
      telemetryAdapter(options.telemetry),
      databaseAdapter(pool, MIGRATIONS, logger),
      ...publishing.adapters,
    ],
    grpc: {
      host: config.HOST,
      port: config.GRPC_PORT,
      server: buildGrpcServer({ users, logger, callers }),
    },
    http: {
      host: config.HOST,
      port: config.PORT,
      build: (readiness) => buildApp({ users, logger, readiness, callers }),
    },
  });
  return Object.assign(service, {
    pool,
    /** The outbox relay, started: tests wait on its backlog. */
    relay: publishing.relay() as OutboxRelay,
  });
}
