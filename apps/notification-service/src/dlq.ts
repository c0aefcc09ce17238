import { DLQ_HEADERS } from '@comms/contracts';
import type {
  IncomingMessage,
  KafkaAdmin,
  KafkaClient,
  KafkaConsumer,
  KafkaProducer,
  OutgoingMessage,
} from '@comms/kafka';
import { pollUntil, retry } from '@comms/resilience';
import type { Logger } from '@comms/service-kit';

/** The group whose committed offsets mark how far the re-drive has gone, for a consumer group. */
export const redriveGroupOf = (group: string) => `${group}-redrive`;

/** Most dead letters one `GET /dlq` lists. */
export const DLQ_LIST_MAX = 200;
/** Dead letters the view keeps in memory; the oldest are forgotten first. */
const KEPT = 1_000;
/** Characters of a message's value shown as its preview. */
const PREVIEW_CHARS = 300;

/** A dead-lettered message, as the DLQ listing shows it. */
export interface DeadLetter {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  /** `invalid` or `failed` (DLQ_HEADERS.reason); `unknown` when the header is missing. */
  readonly reason: string;
  readonly error: string;
  /** Where the message was read from before it was dead-lettered. */
  readonly sourceTopic: string | null;
  readonly sourcePartition: number | null;
  readonly sourceOffset: number | null;
  readonly group: string | null;
  readonly failedAt: string | null;
  /** How many times it had been re-driven before this dead-lettering. */
  readonly redriven: number;
  /** The CloudEvent's type and id, when its value says them. */
  readonly eventType: string | null;
  readonly eventId: string | null;
  readonly preview: string;
}

/** What waits in the DLQ: every message the re-drive has not yet sent back. */
export interface DlqListing {
  readonly topic: string;
  /** The group whose committed offsets mark what was re-driven. */
  readonly redriveGroup: string;
  /** Messages waiting, over all partitions (may exceed the ones listed). */
  readonly total: number;
  /** Whether the view has read up to the end of every partition. */
  readonly caughtUp: boolean;
  readonly partitions: Array<{
    partition: number;
    /** The first offset not re-driven yet. */
    from: number;
    end: number;
    waiting: number;
  }>;
  /** The waiting messages, newest first. */
  readonly messages: DeadLetter[];
}

const numberOrNull = (text: string | undefined) =>
  text === undefined || !/^\d+$/.test(text) ? null : Number(text);

/** Reads what the DLQ headers and the value say about a dead-lettered message. */
export function deadLetterOf(message: IncomingMessage): DeadLetter {
  const h = message.headers;
  const text = message.value?.toString('utf8') ?? '';
  let eventType = h['ce_type'] ?? null;
  let eventId = h['ce_id'] ?? null;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null) {
      const { type, id } = parsed as { type?: unknown; id?: unknown };
      if (typeof type === 'string') eventType = type;
      if (typeof id === 'string') eventId = id;
    }
  } catch {
    // Not JSON: that is often why it is here.
  }
  return {
    partition: message.partition,
    offset: Number(message.offset),
    key: message.key,
    reason: h[DLQ_HEADERS.reason] ?? 'unknown',
    error: h[DLQ_HEADERS.error] ?? '',
    sourceTopic: h[DLQ_HEADERS.topic] ?? null,
    sourcePartition: numberOrNull(h[DLQ_HEADERS.partition]),
    sourceOffset: numberOrNull(h[DLQ_HEADERS.offset]),
    group: h[DLQ_HEADERS.group] ?? null,
    failedAt: h[DLQ_HEADERS.at] ?? null,
    redriven: numberOrNull(h[DLQ_HEADERS.redriven]) ?? 0,
    eventType,
    eventId,
    preview: text.slice(0, PREVIEW_CHARS),
  };
}

/** Reads the DLQ for `GET /dlq`. */
export interface DlqView {
  /** The messages waiting, newest first, at most `limit`; rejects while Kafka does not answer. */
  list(limit: number): Promise<DlqListing>;
  close(): Promise<void>;
}

/**
 * Watches the DLQ: a consumer in a group of this process's own (`viewGroup`,
 * from the beginning, so every instance sees every dead letter) keeps the
 * latest {@link KEPT} in memory; a listing shows those the re-drive group
 * has not yet passed. Joining is retried in the background while Kafka is
 * away; closing ends that.
 */
export function watchDlq(deps: {
  kafka: KafkaClient;
  dlqTopic: string;
  redriveGroup: string;
  viewGroup: string;
  logger: Logger;
}): DlqView {
  const kept: DeadLetter[] = [];
  /** Per partition: the offset after the last message the view has read. */
  const seenUpTo = new Map<number, number>();
  const stopping = new AbortController();
  let consumer: KafkaConsumer | undefined;
  let admin: Promise<KafkaAdmin> | undefined;

  const joining = retry(
    async () => {
      const joined = await deps.kafka.consumer({
        groupId: deps.viewGroup,
        topics: [deps.dlqTopic],
        fromBeginning: true,
      });
      consumer = joined;
      await joined.run((message) => {
        kept.push(deadLetterOf(message));
        if (kept.length > KEPT) kept.shift();
        seenUpTo.set(message.partition, Number(message.offset) + 1);
        return Promise.resolve();
      });
    },
    {
      attempts: Infinity,
      baseDelayMs: 500,
      maxDelayMs: 5_000,
      signal: stopping.signal,
      onRetry: (error, attempt) => {
        if (attempt > 3) deps.logger.warn({ err: error }, 'cannot read the DLQ yet; retrying');
      },
    },
  ).catch(() => undefined);

  const adminNow = () => {
    admin ??= deps.kafka.admin().catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    return admin;
  };

  return {
    async list(limit) {
      const a = await adminNow();
      let ends, committed;
      try {
        [ends, committed] = await Promise.all([
          a.topicOffsets(deps.dlqTopic),
          a.committedOffsets(deps.redriveGroup, deps.dlqTopic),
        ]);
      } catch (error) {
        admin = undefined;
        await a.close().catch(() => undefined);
        throw error;
      }
      const partitions = ends.map((e) => {
        const from = Math.max(committed.get(e.partition) ?? -1, e.low);
        return { partition: e.partition, from, end: e.high, waiting: Math.max(0, e.high - from) };
      });
      const fromOf = new Map(partitions.map((p) => [p.partition, p.from]));
      const waiting = kept.filter((m) => m.offset >= (fromOf.get(m.partition) ?? 0));
      return {
        topic: deps.dlqTopic,
        redriveGroup: deps.redriveGroup,
        total: partitions.reduce((sum, p) => sum + p.waiting, 0),
        caughtUp: partitions.every(
          (p) => p.waiting === 0 || (seenUpTo.get(p.partition) ?? 0) >= p.end,
        ),
        partitions,
        messages: waiting.reverse().slice(0, limit),
      };
    },
    async close() {
      stopping.abort();
      await joining;
      await consumer?.close();
      const a = await admin?.catch(() => undefined);
      await a?.close().catch(() => undefined);
    },
  };
}

/** What one re-drive did. */
export interface RedriveOutcome {
  /** Messages sent back to the topic they came from. */
  readonly redriven: number;
  /** Messages without a source-topic header, passed over. */
  readonly skipped: number;
  /** True when the DLQ was drained; false when the deadline came first (run it again). */
  readonly drained: boolean;
}

/**
 * Sends every dead-lettered message the re-drive group has not yet passed
 * back to the topic it came from, with its original key, value and headers
 * (the DLQ's own headers dropped, `DLQ_HEADERS.redriven` counted up), so
 * the consumer handles it again; handling is idempotent by event id.
 * Returns once the group has caught up with the DLQ, or at the deadline.
 * Run it once the cause of the failures is fixed: a message that fails
 * again is dead-lettered again.
 */
export async function redriveDlq(deps: {
  kafka: KafkaClient;
  producer: KafkaProducer;
  dlqTopic: string;
  redriveGroup: string;
  timeoutMs?: number;
  logger?: Pick<Logger, 'warn'>;
}): Promise<RedriveOutcome> {
  const admin = await deps.kafka.admin();
  const dlqNames = new Set<string>(Object.values(DLQ_HEADERS));
  let redriven = 0;
  let skipped = 0;
  let consumer: KafkaConsumer | undefined;
  try {
    // Only what is there now: a message that fails again comes back to the
    // DLQ meanwhile, and is left for the next re-drive instead of looping.
    const ends = new Map((await admin.topicOffsets(deps.dlqTopic)).map((p) => [p.partition, p]));
    const drainedNow = async () => {
      const committed = await admin.committedOffsets(deps.redriveGroup, deps.dlqTopic);
      return [...ends.values()].every(
        (p) => Math.max(committed.get(p.partition) ?? -1, p.low) >= p.high,
      );
    };
    if (await drainedNow()) return { redriven, skipped, drained: true };
    consumer = await deps.kafka.consumer({
      groupId: deps.redriveGroup,
      topics: [deps.dlqTopic],
    });
    await consumer.run(async (message, control) => {
      if (Number(message.offset) >= (ends.get(message.partition)?.high ?? 0)) {
        // Not committed: held until this re-drive ends, then left for the next.
        await new Promise((resolve) => control.signal.addEventListener('abort', resolve));
        throw new Error('arrived after the re-drive began; left for the next one');
      }
      const target = message.headers[DLQ_HEADERS.topic];
      if (target === undefined) {
        skipped += 1;
        deps.logger?.warn(
          { partition: message.partition, offset: message.offset },
          `no ${DLQ_HEADERS.topic} header; left alone`,
        );
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(message.headers).filter(([name]) => !dlqNames.has(name)),
      );
      headers[DLQ_HEADERS.redriven] = String(
        (numberOrNull(message.headers[DLQ_HEADERS.redriven]) ?? 0) + 1,
      );
      const outgoing: OutgoingMessage = { key: message.key, value: message.value, headers };
      await deps.producer.send(target, [outgoing]);
      redriven += 1;
    });
    const drained = await pollUntil(async () => ((await drainedNow()) ? true : undefined), {
      timeoutMs: deps.timeoutMs ?? 30_000,
      intervalMs: 200,
    }).catch(() => false);
    return { redriven, skipped, drained };
  } finally {
    await consumer?.close();
    await admin.close();
  }
}
