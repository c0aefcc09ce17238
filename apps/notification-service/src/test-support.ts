// For the integration tests only (tsconfig.build.json leaves it out of dist):
// a suite's own topics, notification-service started on them, and events as
// user-service and order-service publish them.
import { randomUUID } from 'node:crypto';
import { createEvent } from '@comms/contracts';
import type { AnyEvent } from '@comms/contracts';
import { createKafka } from '@comms/kafka';
import type { KafkaClient, KafkaProducer } from '@comms/kafka';
import { testInfra, uniqueName, waitFor } from '@comms/testing';
import { loadConfig } from './config.js';
import { startNotificationService } from './main.js';

/** A suite's own users, orders and DLQ topics, so suites never read each other's events. */
export interface SuiteTopics {
  readonly users: string;
  readonly orders: string;
  readonly dlq: string;
}

/** New, unique topic names (created by {@link connectToTopics}). */
export function suiteTopics(): SuiteTopics {
  return { users: uniqueName('users'), orders: uniqueName('orders'), dlq: uniqueName('dlq') };
}

/**
 * Creates the topics, `partitions` each, before anything produces to them
 * (auto-creation would race the first send), and answers a client and a
 * producer on the shared test Kafka.
 */
export async function connectToTopics(
  topics: SuiteTopics,
  options: { readonly clientId: string; readonly partitions?: number },
): Promise<{ kafka: KafkaClient; producer: KafkaProducer }> {
  const { kafkaBrokers, kafkaClient } = testInfra();
  const kafka = createKafka({
    brokers: kafkaBrokers.split(','),
    clientId: options.clientId,
    client: kafkaClient,
  });
  const admin = await kafka.admin();
  await admin.ensureTopics(
    [topics.users, topics.orders, topics.dlq].map((topic) => ({
      topic,
      partitions: options.partitions ?? 3,
    })),
  );
  await admin.close();
  return { kafka, producer: await kafka.producer() };
}

/**
 * notification-service's environment in a suite: its database, the shared
 * test Kafka, the suite's topics, a consumer group of its own, silent logs,
 * and a user-service URL where nothing listens (recipients come from the
 * user events the suite sends). `env` adds to it or replaces any of it.
 */
export function testEnv(
  databaseUrl: string,
  topics: SuiteTopics,
  env: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const { kafkaBrokers, kafkaClient } = testInfra();
  return {
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_CLIENT: kafkaClient,
    LOG_LEVEL: 'silent',
    USERS_TOPIC: topics.users,
    ORDERS_TOPIC: topics.orders,
    DLQ_TOPIC: topics.dlq,
    CONSUMER_GROUP: uniqueName('notifications'),
    USER_SERVICE_HTTP_URL: 'http://127.0.0.1:9',
    ...env,
  };
}

/**
 * Starts notification-service in process with {@link testEnv} on a free port
 * and waits until its consumer has joined, so nothing sent from then on is
 * missed (or stops it and fails).
 */
export async function startTestNotificationService(
  databaseUrl: string,
  topics: SuiteTopics,
  env: Readonly<Record<string, string>> = {},
): ReturnType<typeof startNotificationService> {
  const service = await startNotificationService({
    ...loadConfig(testEnv(databaseUrl, topics, env)),
    PORT: 0,
  });
  try {
    await waitFor(async () => ((await service.ready()).status === 'ready' ? true : undefined), {
      timeoutMs: 30_000,
      message: 'the consumer did not join',
    });
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}

/** A user.registered.v1 event with a unique email; `actor` as the CloudEvents attribute. */
export function userRegistered(
  userId: string = randomUUID(),
  options: { readonly name?: string; readonly actor?: string } = {},
) {
  return createEvent('user.registered.v1', {
    source: '/user-service',
    subject: userId,
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    data: {
      userId,
      name: options.name ?? 'Ada Lovelace',
      email: `${uniqueName('reader')}@example.com`,
      registeredAt: new Date().toISOString(),
    },
  });
}

/** An order.created.v1 event for `userId`: one book, a new order id unless given. */
export function orderCreated(
  userId: string,
  options: { readonly orderId?: string; readonly actor?: string } = {},
) {
  const orderId = options.orderId ?? randomUUID();
  return createEvent('order.created.v1', {
    source: '/order-service',
    subject: orderId,
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    data: {
      orderId,
      userId,
      userName: 'someone',
      items: [{ productId: 'book', quantity: 1, price: '19.99' }],
      totalAmount: '19.99',
      createdAt: new Date().toISOString(),
    },
  });
}

/** Sends events to `topic`, each keyed by its subject, as the services do. */
export function publishEvents(
  producer: KafkaProducer,
  topic: string,
  ...events: AnyEvent[]
): Promise<void> {
  return producer.send(
    topic,
    events.map((event) => ({ key: event.subject, value: JSON.stringify(event) })),
  );
}
