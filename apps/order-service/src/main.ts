import { TOPICS } from '@comms/contracts';
import { createKafka, keepTopics } from '@comms/kafka';
import type { KafkaProducer, TopicKeeper } from '@comms/kafka';
import { startOutboxRelay } from '@comms/outbox';
import type { OutboxRelay } from '@comms/outbox';
import { createPool, migrate } from '@comms/postgres';
import { createLogger, startService } from '@comms/service-kit';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { buildGrpcServer } from './grpc.js';
import { MIGRATIONS } from './migrations.js';
import { createOrders } from './orders.js';
import { createUserValidator } from './user-validation.js';

/**
 * Declares order-service's adapters and starts it through the service kit.
 * The handle is what `server.ts` and the integration tests both run.
 */
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
  const kafka = createKafka({
    ...config.kafka,
    clientId: 'order-service',
    log: ({ level, message }) => logger[level]({ component: 'kafka' }, message),
  });
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
  let producer: KafkaProducer | undefined;
  let topics: TopicKeeper | undefined;
  let relay: OutboxRelay | undefined;

  const orders = createOrders({ pool, validator, outboxWritten: () => relay?.wake() });
  const service = await startService({
    name: 'order-service',
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    adapters: [
      {
        name: 'telemetry',
        closing: 'send the last spans and metrics',
        close: () => options.telemetry?.shutdown(),
      },
      {
        name: 'database',
        closing: 'close the database pool',
        start: async () => {
          const applied = await migrate(pool, MIGRATIONS);
          if (applied.length > 0) logger.info({ applied }, 'migrations applied');
        },
        close: () => pool.end(),
        ready: async () => {
          await pool.query('SELECT 1');
        },
      },
      {
        name: 'user-service',
        closing: 'close the user-service clients',
        start: () =>
          logger.info(
            {
              mode: config.USER_VALIDATION,
              grpc: config.userServiceGrpc,
              http: config.userServiceHttp,
            },
            'validating users through user-service',
          ),
        close: () => validator.close(),
      },
      {
        name: 'kafka',
        closing: 'close Kafka',
        start: async () => {
          producer = await kafka.producer({ idempotent: true, lazy: true });
          // Topics are created explicitly; keep trying in the background while Kafka is away.
          topics = keepTopics(kafka, [{ topic: TOPICS.orders, partitions: 3 }], (error) =>
            logger.warn({ err: error }, 'Kafka not reachable yet; retrying'),
          );
        },
        close: async () => {
          await topics?.close();
          await producer?.close().catch(() => undefined);
        },
        ready: () => topics?.check() ?? Promise.reject(new Error('not started')),
      },
      {
        name: 'outbox',
        closing: 'flush the outbox',
        start: () => {
          if (producer === undefined) throw new Error('the outbox relay needs the Kafka producer');
          relay = startOutboxRelay({ pool, producer, pollMs: config.OUTBOX_POLL_MS, log: logger });
        },
        close: () => relay?.stop(),
      },
    ],
    grpc: {
      host: config.HOST,
      port: config.GRPC_PORT,
      server: buildGrpcServer({ orders, logger }),
    },
    http: {
      host: config.HOST,
      port: config.PORT,
      build: (readiness) =>
        buildApp({
          orders,
          logger,
          rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
          readiness,
        }),
    },
  });
  return Object.assign(service, {
    pool,
    /** The outbox relay, started: tests wait on its backlog. */
    relay: relay as OutboxRelay,
  });
}
