import { TOPICS } from '@comms/contracts';
import { createKafka, keepTopics } from '@comms/kafka';
import { startOutboxRelay } from '@comms/outbox';
import { createPool, migrate } from '@comms/postgres';
import { createLogger, handleShutdown } from '@comms/service-kit';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { buildGrpcServer } from './grpc.js';
import { MIGRATIONS } from './migrations.js';
import { createUsers } from './users.js';

/**
 * Wires user-service from its configuration and starts serving. Kafka may be
 * down at start: users are still created, their events wait in the outbox,
 * and /readyz says Kafka is missing until it answers.
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
  const applied = await migrate(pool, MIGRATIONS);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');

  const kafka = createKafka({
    ...config.kafka,
    clientId: 'user-service',
    log: ({ level, message }) => logger[level]({ component: 'kafka' }, message),
  });
  const producer = await kafka.producer({ idempotent: true, lazy: true });
  const relay = startOutboxRelay({ pool, producer, pollMs: config.OUTBOX_POLL_MS, log: logger });

  // Topics are created explicitly; keep trying in the background while Kafka is away.
  const topics = keepTopics(kafka, [{ topic: TOPICS.users, partitions: 3 }], (error) =>
    logger.warn({ err: error }, 'Kafka not reachable yet; retrying'),
  );

  const users = createUsers({ pool, outboxWritten: () => relay.wake() });
  const app = await buildApp({
    users,
    logger,
    readiness: {
      database: async () => {
        await pool.query('SELECT 1');
      },
      kafka: () => topics.check(),
    },
  });
  const grpc = buildGrpcServer({ users, logger });

  await app.listen({ host: config.HOST, port: config.PORT });
  const grpcPort = await grpc.listen(config.HOST, config.GRPC_PORT);
  logger.info({ http: config.PORT, grpc: grpcPort }, 'user-service ready');

  const shutdown = handleShutdown({
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    log: logger,
    steps: [
      { name: 'stop accepting HTTP, finish in-flight requests', run: () => app.close() },
      {
        name: 'stop accepting gRPC, finish in-flight calls',
        run: () => grpc.close(config.SHUTDOWN_TIMEOUT_MS / 2),
      },
      { name: 'flush the outbox', run: () => relay.stop() },
      {
        name: 'close Kafka',
        run: async () => {
          await topics.close();
          await producer.close().catch(() => undefined);
        },
      },
      { name: 'close the database pool', run: () => pool.end() },
      {
        name: 'send the last spans and metrics',
        run: () => options.telemetry?.shutdown() ?? Promise.resolve(),
      },
    ],
  });
  return { app, grpc, grpcPort, relay, pool, shutdown };
}
