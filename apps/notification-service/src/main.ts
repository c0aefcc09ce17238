import { createTokenClient, createTokenVerifier, credentialFor } from '@comms/auth';
import { TOPIC_PARTITIONS } from '@comms/contracts';
import { randomUUID } from 'node:crypto';
import { createKafka, keepTopics } from '@comms/kafka';
import type { KafkaConsumer, KafkaProducer, TopicKeeper } from '@comms/kafka';
import { createPool } from '@comms/postgres';
import { retry } from '@comms/resilience';
import { createLogger, databaseAdapter, startService, telemetryAdapter } from '@comms/service-kit';
import { createNotificationAccess } from './access.js';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { startConsumer } from './consumer.js';
import { redriveDlq, redriveGroupOf, watchDlq } from './dlq.js';
import type { DlqView } from './dlq.js';
import { createFeed } from './feed.js';
import type { Feed } from './feed.js';
import { MIGRATIONS } from './migrations.js';
import { createProcessor } from './processor.js';
import { createRecipients } from './recipients.js';

/**
 * Declares notification-service's adapters and starts it through the service
 * kit: it consumes once its group is joined (retrying while Kafka is away)
 * and serves REST and SSE. The handle is what `server.ts` and the
 * integration tests both run.
 */
export async function startNotificationService(
  config: Config,
  options: { readonly telemetry?: { shutdown(): Promise<void> } } = {},
) {
  const logger = createLogger('notification-service', config.LOG_LEVEL);
  const pool = createPool({
    url: config.DATABASE_URL,
    applicationName: 'notification-service',
    onError: (error) => logger.warn({ err: error }, 'database connection failed'),
  });
  const kafka = createKafka({
    ...config.kafka,
    clientId: 'notification-service',
    log: ({ level, message }) => logger[level]({ component: 'kafka' }, message),
  });
  const { identity } = config;
  const recipients = createRecipients({
    ...(identity === undefined
      ? {}
      : { credential: credentialFor(createTokenClient(identity), identity.userServiceAudience) }),
    pool,
    userServiceUrl: config.userServiceHttp,
    timeoutMs: config.USER_CALL_TIMEOUT_MS,
    logger,
  });
  const processor = createProcessor({ pool, recipients });
  const { auth } = config;
  const access = createNotificationAccess(
    auth === undefined
      ? undefined
      : {
          verifier: createTokenVerifier(auth),
          operatorRole: auth.operatorRole,
          operatorClients: auth.operatorClients,
        },
  );
  let producer: KafkaProducer | undefined;
  let topics: TopicKeeper | undefined;
  let feed: Feed | undefined;
  let dlqView: DlqView | undefined;

  // Join the group once the topics exist; keep trying while Kafka is away.
  let consumer: KafkaConsumer | undefined;
  const stopping = new AbortController();
  let pendingTimer: NodeJS.Timeout | undefined;
  const join = async () => {
    if (topics === undefined || producer === undefined) throw new Error('Kafka is not started');
    await topics.check();
    consumer = await startConsumer({
      kafka,
      producer,
      processor,
      logger,
      config: {
        group: config.CONSUMER_GROUP,
        topics: [config.USERS_TOPIC, config.ORDERS_TOPIC],
        dlqTopic: config.DLQ_TOPIC,
        maxAttempts: config.MAX_ATTEMPTS,
        retryBaseMs: config.RETRY_BASE_MS,
        maxEventBytes: config.MAX_EVENT_BYTES,
        concurrency: config.CONSUMER_CONCURRENCY,
        traceRelation: config.TELEMETRY_KAFKA_CONSUMER_RELATION,
      },
    });
  };
  const keepJoining = () =>
    retry(join, {
      attempts: Infinity,
      baseDelayMs: 500,
      maxDelayMs: 2_000,
      signal: stopping.signal,
      // Kafka often needs a moment at startup; say so only when it lasts.
      onRetry: (error, attempt) => {
        if (attempt > 3)
          logger.warn({ err: error }, 'cannot join the consumer group yet; retrying');
      },
    }).catch(() => undefined);

  const service = await startService({
    name: 'notification-service',
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    readyFields: { group: config.CONSUMER_GROUP },
    adapters: [
      telemetryAdapter(options.telemetry),
      databaseAdapter(pool, MIGRATIONS, logger),
      {
        name: 'kafka',
        closing: 'close Kafka',
        start: async () => {
          topics = keepTopics(
            kafka,
            [
              { topic: config.USERS_TOPIC, partitions: TOPIC_PARTITIONS.users },
              { topic: config.ORDERS_TOPIC, partitions: TOPIC_PARTITIONS.orders },
              { topic: config.DLQ_TOPIC, partitions: TOPIC_PARTITIONS.notificationsDlq },
            ],
            (error) => logger.warn({ err: error }, 'Kafka not reachable yet; retrying'),
          );
          producer = await kafka.producer({ idempotent: true, lazy: true });
        },
        close: async () => {
          await topics?.close();
          await producer?.close().catch(() => undefined);
        },
      },
      {
        name: 'consumer',
        // Stop fetching, finish the message in hand, commit, leave the group.
        closing: 'leave the consumer group',
        start: () => {
          void keepJoining();
          pendingTimer = setInterval(() => {
            processor
              .retryPending()
              .catch((error: unknown) =>
                logger.warn({ err: error }, 'retrying pending events failed'),
              );
          }, config.PENDING_RETRY_MS);
        },
        close: async () => {
          stopping.abort();
          clearInterval(pendingTimer);
          await consumer?.close();
        },
        ready: () =>
          consumer?.joined() === true
            ? Promise.resolve()
            : Promise.reject(new Error('not in the consumer group')),
      },
      {
        name: 'dlq view',
        closing: 'stop reading the DLQ',
        // A group of this process's own: every instance lists every dead letter.
        start: () => {
          dlqView = watchDlq({
            kafka,
            dlqTopic: config.DLQ_TOPIC,
            redriveGroup: redriveGroupOf(config.CONSUMER_GROUP),
            viewGroup: `${config.CONSUMER_GROUP}-dlq-view-${randomUUID()}`,
            logger,
          });
        },
        close: () => dlqView?.close(),
      },
      {
        name: 'feed',
        closing: 'close the feed',
        start: () => {
          feed = createFeed({ databaseUrl: config.DATABASE_URL, logger });
        },
        close: () => feed?.close(),
      },
    ],
    http: {
      host: config.HOST,
      port: config.PORT,
      // Closed first, so that live streams end at once (their clients reconnect,
      // elsewhere, with Last-Event-ID) rather than after the consumer has left.
      closing: 'close HTTP and its live streams',
      build: (readiness) => {
        if (feed === undefined || dlqView === undefined || producer === undefined)
          throw new Error('the HTTP server needs the feed, the DLQ view and the producer');
        const dlqProducer = producer;
        return buildApp({
          pool,
          feed,
          consumer: () => consumer,
          group: config.CONSUMER_GROUP,
          dlq: {
            view: dlqView,
            redrive: () =>
              redriveDlq({
                kafka,
                producer: dlqProducer,
                dlqTopic: config.DLQ_TOPIC,
                redriveGroup: redriveGroupOf(config.CONSUMER_GROUP),
                logger,
              }),
          },
          logger,
          readiness,
          access,
        });
      },
    },
  });
  return Object.assign(service, { pool, processor, consumer: () => consumer });
}
