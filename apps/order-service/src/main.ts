import { createTokenClient, createTokenVerifier, credentialFor } from '@comms/auth';
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
import { createOrderAccess } from './access.js';
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
    max: config.DATABASE_POOL_SIZE,
    onError: (error) => logger.warn({ err: error }, 'database connection failed'),
  });
  const kafka = createKafka({
    ...config.kafka,
    clientId: 'order-service',
    log: ({ level, message }) => logger[level]({ component: 'kafka' }, message),
  });
  const { identity } = config;
  const validator = createUserValidator({
    ...(identity === undefined
      ? {}
      : { credential: credentialFor(createTokenClient(identity), identity.userServiceAudience) }),
    mode: config.USER_VALIDATION,
    grpcAddresses: config.userServiceGrpc,
    httpUrls: config.userServiceHttp,
    ...(config.USERS_DATABASE_URL === undefined
      ? {}
      : { usersDatabaseUrl: config.USERS_DATABASE_URL }),
    timeoutMs: config.USER_CALL_TIMEOUT_MS,
    logger,
  });
  const publishing = outboxPublishing({
    kafka,
    topics: [{ topic: TOPICS.orders, partitions: TOPIC_PARTITIONS.orders }],
    pool,
    pollMs: config.OUTBOX_POLL_MS,
    logger,
  });

  const access = createOrderAccess(
    config.auth === undefined
      ? undefined
      : {
          verifier: createTokenVerifier(config.auth),
          operatorRole: config.auth.operatorRole,
        },
  );
  const orders = createOrders({
    pool,
    validator,
    outboxWritten: () => publishing.relay()?.wake(),
  });
  const service = await startService({
    name: 'order-service',
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    adapters: [
      telemetryAdapter(options.telemetry),
      databaseAdapter(pool, MIGRATIONS, logger),
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
      ...publishing.adapters,
    ],
    grpc: {
      host: config.HOST,
      port: config.GRPC_PORT,
      server: buildGrpcServer({ orders, logger, access }),
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
          access,
        }),
    },
  });
  return Object.assign(service, {
    pool,
    /** The outbox relay, started: tests wait on its backlog. */
    relay: publishing.relay() as OutboxRelay,
  });
}
