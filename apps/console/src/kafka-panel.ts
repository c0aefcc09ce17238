import { CONSUMER_GROUPS, TOPICS } from '@comms/contracts';
import { createKafka } from '@comms/kafka';
import type { KafkaAdmin, KafkaClient, PartitionOffsets } from '@comms/kafka';
import { AppError } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import type { Config } from './config.js';
import { createCredentials } from './credentials.js';
import type { Credentials } from './credentials.js';
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

/** How far a consumer group is behind on one partition. */
export interface GroupPartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset (-1: none yet). */
  readonly committed: number;
  readonly end: number;
  readonly lag: number;
}

/**
 * A consumer group's lag per partition of `topics`, read from Kafka (its
 * committed offsets against the high watermarks), so it is known while the
 * group's members are all away; nothing committed counts from the first
 * offset kept.
 */
export async function readGroupLag(
  admin: KafkaAdmin,
  group: string,
  topics: readonly string[],
): Promise<GroupPartitionLag[]> {
  const perTopic = await Promise.all(
    topics.map(async (topic) => {
      const [ends, committed] = await Promise.all([
        admin.topicOffsets(topic),
        admin.committedOffsets(group, topic),
      ]);
      return ends.map((e) => {
        const at = committed.get(e.partition) ?? -1;
        return {
          topic,
          partition: e.partition,
          committed: at,
          end: e.high,
          lag: Math.max(0, e.high - (at < 0 ? e.low : at)),
        };
      });
    }),
  );
  return perTopic.flat();
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
export function registerKafkaPanel(
  app: HttpApp,
  config: Config,
  credentials: Credentials = createCredentials(config.AUTH_ISSUER_URL),
): void {
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

  /** Runs `read` on the cluster's admin, within the deadline; a failure is a 503 naming the brokers. */
  const fromKafka = async <T>(read: (admin: KafkaAdmin) => Promise<T>) => {
    if (kafka === undefined)
      throw new AppError(
        'FAILED_PRECONDITION',
        'the console was not given KAFKA_BROKERS, so it cannot read Kafka',
      );
    try {
      admin ??= kafka.admin();
      return { brokers: kafka.brokers, value: await within('Kafka', timeoutMs, admin.then(read)) };
    } catch (error) {
      await dropAdmin();
      throw new AppError(
        'UNAVAILABLE',
        `Kafka (${kafka.brokers.join(',')}) did not answer: ${(error as Error).message}`,
      );
    }
  };

  app.get('/api/kafka/topics', { logLevel: 'warn' }, async () => {
    const { brokers, value } = await fromKafka(readTopics);
    return { brokers, topics: value };
  });

  // notification-service's group as Kafka keeps it: known while the service is paused.
  const group = CONSUMER_GROUPS.notificationService;
  app.get('/api/kafka/group-lag', { logLevel: 'warn' }, async () => {
    const { value } = await fromKafka((a) => readGroupLag(a, group, [TOPICS.users, TOPICS.orders]));
    return { group, totalLag: value.reduce((sum, p) => sum + p.lag, 0), partitions: value };
  });

  const notifications = `${config.notificationServiceHttp}/dlq`;
  // The DLQ is an operator's: notification-service lets the console's own client
  // (AUTH_OPERATOR_CLIENTS, 'console' by default) read and re-drive it.
  const asConsole = { kind: 'console', api: 'notification-service' } as const;
  app.get('/api/kafka/dlq', { logLevel: 'warn' }, async (_request, reply) =>
    relay(
      reply,
      await credentials.call(asConsole, (headers) =>
        callRest('notification-service', `${notifications}?limit=${String(DLQ_SHOWN)}`, {
          headers,
          timeoutMs,
        }),
      ),
    ),
  );
  // POST /dlq/redrive on notification-service: every waiting dead letter back to its topic.
  app.post('/api/kafka/dlq/redrive', async (_request, reply) =>
    relay(
      reply,
      await credentials.call(asConsole, (headers) =>
        callRest('notification-service', `${notifications}/redrive`, {
          method: 'POST',
          headers,
          timeoutMs: REDRIVE_TIMEOUT_MS,
        }),
      ),
    ),
  );
}
