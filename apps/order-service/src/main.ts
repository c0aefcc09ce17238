import { TOPICS } from '@comms/contracts';
import { createKafka, keepTopics } from '@comms/kafka';
import { startOutboxRelay } from '@comms/outbox';
import { createPool, migrate } from '@comms/postgres';
import { createLogger, handleShutdown } from '@comms/service-kit';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { buildGrpcServer } from './grpc.js';
import { MIGRATIONS } from './migrations.js';
import { createOrders } from './orders.js';
import { createUserValidator } from './user-validation.js';

/** Wires order-service from its configuration and starts serving. */
export async function startOrderService(
  config: Config,
  options: { readonly telemetry?: { shutdown(): Promise<void> } } = {},
) {
  const logger = createLogger('order-service', config.LOG_LEVEL);
  const pool = createPool({
    url: config.DATABASE_URL,
    applicationName: 'order-service',
    max: 20,
    onError: (error) => logger.warn({ err: error }, 'database connection failed'),
  });
  const applied = await migrate(pool, MIGRATIONS);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');

  const kafka = createKafka({
    ...config.kafka,
    clientId: 'order-service',
    log: ({ level, message }) => logger[level]({ component: 'kafka' }, message),
  });
  const producer = await kafka.producer({ idempotent: true, lazy: true });
  const relay = startOutboxRelay({ pool, producer, pollMs: config.OUTBOX_POLL_MS, log: logger });
  const topics = keepTopics(kafka, [{ topic: TOPICS.orders, partitions: 3 }], (error) =>
    logger.warn({ err: error }, 'Kafka not reachable yet; retrying'),
  );

  const validator = createUserValidator({
    mode: config.USER_VALIDATION,
    grpcAddress: config.userServiceGrpc,
    httpUrl: config.userServiceHttp,
    ...(config.USERS_DATABASE_URL === undefined
      ? {}
      : { usersDatabaseUrl: config.USERS_DATABASE_URL }),
    timeoutMs: config.USER_CALL_TIMEOUT_MS,
    logger,
  });
  logger.info(
    { mode: config.USER_VALIDATION, grpc: config.userServiceGrpc, http: config.userServiceHttp },
    'validating users through user-service',
  );
  const orders = createOrders({ pool, validator, outboxWritten: () => relay.wake() });
  const app = await buildApp({
    orders,
    logger,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    readiness: {
      database: async () => {
        await pool.query('SELECT 1');
      },
      kafka: () => topics.check(),
    },
  });
  const grpc = buildGrpcServer({ orders, logger });

  await app.listen({ host: config.HOST, port: config.PORT });
  const grpcPort = await grpc.listen(config.HOST, config.GRPC_PORT);
  logger.info({ http: config.PORT, grpc: grpcPort }, 'order-service ready');

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
        name: 'close Kafka and user-service clients',
        run: async () => {
          await topics.close();
          await producer.close().catch(() => undefined);
          await validator.close();
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
