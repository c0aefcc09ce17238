import { createKafka } from '@comms/kafka';
import type { KafkaAdmin, KafkaClient, PartitionOffsets } from '@comms/kafka';
import { AppError } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import type { Config } from './config.js';
import { callRest } from './upstream.js';
import type { Answer } from './upstream.js';

/** Most topics the panel lists. */
const MAX_TOPICS = 50;
/** Dead letters the panel asks notification-service for. */
const DLQ_SHOWN = 50;
/** A re-drive waits until the DLQ is drained (notification-service's deadline is 30 s). */
const REDRIVE_TIMEOUT_MS = 45_000;

/** One topic as the panel shows it. */
export interface TopicView {
  readonly topic: string;
  /** Records kept, over all partitions (high watermark minus first offset). */
  readonly messages: number;
  readonly partitions: readonly PartitionOffsets[];
}

/**
 * The topics the panel lists: those of the project (Kafka's own, `__*`,
 * left out), sorted by name, at most {@link MAX_TOPICS}, each with its
 * partitions' first offsets and high watermarks.
 */
export async function readTopics(admin: KafkaAdmin): Promise<TopicView[]> {
  const names = (await admin.listTopics())
    .filter((name) => !name.startsWith('__'))
    .sort()
    .slice(0, MAX_TOPICS);
  return Promise.all(
    names.map(async (topic) => {
      const partitions = await admin.topicOffsets(topic);
      return {
        topic,
        messages: partitions.reduce((sum, p) => sum + (p.high - p.low), 0),
        partitions,
      };
    }),
  );
}

const within = <T>(what: string, ms: number, work: Promise<T>): Promise<T> =>
  Promise.race([
    work,
    new Promise<never>((_resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what} did not answer within ${String(ms)} ms`)),
        ms,
      );
      void work.finally(() => clearTimeout(timer)).catch(() => undefined);
    }),
  ]);

/**
 * The Kafka panel's routes, beside `/api/kafka/lag` in app.ts: the topics
 * with their partitions and high watermarks, read from Kafka through the
 * project's adapter (packages/kafka); notification-service's dead-letter
 * topic with each message's reason and its re-drive, over REST.
 */
export function registerKafkaPanel(app: HttpApp, config: Config): void {
  const timeoutMs = config.UPSTREAM_TIMEOUT_MS;
  const kafka: KafkaClient | undefined =
    config.kafka === undefined
      ? undefined
      : createKafka({
          ...config.kafka,
          clientId: 'console',
          connectionTimeoutMs: Math.min(timeoutMs, 3_000),
          retries: 1,
        });
  let admin: Promise<KafkaAdmin> | undefined;
  const dropAdmin = async () => {
    const dropped = admin;
    admin = undefined;
    await (await dropped?.catch(() => undefined))?.close().catch(() => undefined);
  };
  app.addHook('onClose', async () => {
    await dropAdmin();
  });

  const relay = (
    reply: { status(n: number): unknown; type(t: string): unknown; send(b: unknown): unknown },
    answer: Answer,
  ) => {
    reply.status(answer.status);
    reply.type(answer.headers.get('content-type') ?? 'application/json');
    return reply.send(answer.body);
  };

  app.get('/api/kafka/topics', { logLevel: 'warn' }, async () => {
    if (kafka === undefined)
      throw new AppError(
        'FAILED_PRECONDITION',
        'the console was not given KAFKA_BROKERS, so it cannot list the topics',
      );
    try {
      admin ??= kafka.admin();
      const topics = await within('Kafka', timeoutMs, admin.then(readTopics));
      return { brokers: kafka.brokers, topics };
    } catch (error) {
      await dropAdmin();
      throw new AppError(
        'UNAVAILABLE',
        `Kafka (${kafka.brokers.join(',')}) did not answer: ${(error as Error).message}`,
      );
    }
  });

  const notifications = `${config.notificationServiceHttp}/dlq`;
  app.get('/api/kafka/dlq', { logLevel: 'warn' }, async (_request, reply) =>
    relay(
      reply,
      await callRest('notification-service', `${notifications}?limit=${String(DLQ_SHOWN)}`, {
        timeoutMs,
      }),
    ),
  );
  // POST /dlq/redrive on notification-service: every waiting dead letter back to its topic.
  app.post('/api/kafka/dlq/redrive', async (_request, reply) =>
    relay(
      reply,
      await callRest('notification-service', `${notifications}/redrive`, {
        method: 'POST',
        timeoutMs: REDRIVE_TIMEOUT_MS,
      }),
    ),
  );
}
