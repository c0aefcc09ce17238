import { EventValidationError, parseEvent } from '@comms/contracts';
import { isDatabaseUnavailable } from '@comms/postgres';
import type { IncomingMessage, KafkaClient, KafkaConsumer, KafkaProducer } from '@comms/kafka';
import type { Logger } from '@comms/service-kit';
import { meter } from '@comms/telemetry';
import type { Processor } from './processor.js';

/** Options for {@link startConsumer}. */
export interface ConsumerConfig {
  readonly group: string;
  readonly topics: readonly string[];
  readonly dlqTopic: string;
  /** Tries per message before it is dead-lettered. */
  readonly maxAttempts: number;
  /** First retry delay; doubles on each try. */
  readonly retryBaseMs: number;
  readonly sessionTimeoutMs?: number;
  /** Partitions handled at once; order is kept within each. Default 1. */
  readonly concurrency?: number;
  /** Larger messages go to the dead-letter topic unread. Default 256 KiB. */
  readonly maxEventBytes?: number;
  /** Whether handling continues the producer's trace (`child`) or links to it. Default child. */
  readonly traceRelation?: 'child' | 'link';
}

/** Header names a dead-lettered message carries, besides its original headers. */
export const DLQ_HEADERS = {
  error: 'dlq-error',
  reason: 'dlq-reason',
  topic: 'dlq-source-topic',
  partition: 'dlq-source-partition',
  offset: 'dlq-source-offset',
  group: 'dlq-consumer-group',
  at: 'dlq-failed-at',
  redriven: 'dlq-redriven',
  /** The trace context the message arrived with; the DLQ copy carries the consumer's own. */
  traceparent: 'dlq-source-traceparent',
} as const;

/** Waits `ms`, or less when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The consumer loop. A message that is not a valid CloudEvent of a known
 * type and version goes straight to the dead-letter topic; a message whose
 * handling fails is retried with exponential backoff and dead-lettered once
 * it has failed `maxAttempts` times; a failure because the database is
 * unreachable does not count, and the message waits for the database. Either way the partition moves on. The
 * offset is committed only after the message was handled or dead-lettered;
 * if even the dead-letter publish fails, the message is redelivered.
 */
export async function startConsumer(deps: {
  kafka: KafkaClient;
  producer: KafkaProducer;
  processor: Processor;
  config: ConsumerConfig;
  logger: Logger;
}): Promise<KafkaConsumer> {
  const { config, logger, processor, producer } = deps;
  const deadLettered = meter().createCounter('comms.kafka.dlq.messages', {
    description: 'Messages moved to the dead-letter topic, per source topic and reason.',
  });

  const deadLetter = async (
    message: IncomingMessage,
    reason: 'invalid' | 'failed',
    error: string,
  ) => {
    // The DLQ publish joins the trace of this handling, not the original send's.
    const { traceparent, ...headers } = message.headers;
    await producer.send(config.dlqTopic, [
      {
        key: message.key,
        value: message.value,
        headers: {
          ...headers,
          ...(traceparent === undefined ? {} : { [DLQ_HEADERS.traceparent]: traceparent }),
          [DLQ_HEADERS.error]: error.slice(0, 2_000),
          [DLQ_HEADERS.reason]: reason,
          [DLQ_HEADERS.topic]: message.topic,
          [DLQ_HEADERS.partition]: String(message.partition),
          [DLQ_HEADERS.offset]: message.offset,
          [DLQ_HEADERS.group]: config.group,
          [DLQ_HEADERS.at]: new Date().toISOString(),
        },
      },
    ]);
    deadLettered.add(1, { 'messaging.destination.name': message.topic, reason });
    logger.warn(
      { topic: message.topic, partition: message.partition, offset: message.offset, reason, error },
      'message dead-lettered',
    );
  };

  const consumer = await deps.kafka.consumer({
    groupId: config.group,
    topics: config.topics,
    ...(config.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: config.sessionTimeoutMs }),
    partitionsConsumedConcurrently: config.concurrency ?? 1,
    traceRelation: config.traceRelation ?? 'child',
  });
  await consumer.run(async (message, control) => {
    const size = message.value?.length ?? 0;
    const maxBytes = config.maxEventBytes ?? 256 * 1024;
    if (size > maxBytes) {
      await deadLetter(
        message,
        'invalid',
        `too-large: ${String(size)} bytes, more than the ${String(maxBytes)} an event may have`,
      );
      return;
    }
    let event;
    try {
      event = parseEvent(message.value);
    } catch (error) {
      if (!(error instanceof EventValidationError)) throw error;
      await deadLetter(message, 'invalid', `${error.problem}: ${error.message}`);
      return;
    }
    let attempt = 1;
    let outage = 0;
    for (;;) {
      try {
        const outcome = await processor.handle(event);
        logger.info({ eventId: event.id, type: event.type, outcome }, 'event handled');
        if (event.type === 'user.registered.v1') {
          // Order events that waited for this user can go out now.
          await processor.retryPending({ userId: event.data.userId }).catch((error: unknown) => {
            logger.warn({ err: error }, 'retrying pending events failed; the timer will try again');
          });
        }
        return;
      } catch (error) {
        if (isDatabaseUnavailable(error)) {
          // The database is away: no fault of this message, so it keeps its
          // tries and waits (heartbeating) until the database is back. If
          // the consumer closes meanwhile, it stays uncommitted.
          outage += 1;
          const wait = Math.min(config.retryBaseMs * 2 ** Math.min(outage - 1, 10), 5_000);
          if (outage === 1 || outage % 10 === 0)
            logger.warn(
              { err: error, eventId: event.id, waitedTimes: outage },
              'database unavailable; holding the event until it returns',
            );
          await pause(wait, control.signal);
          if (control.signal.aborted) throw error;
          await control.heartbeat();
          continue;
        }
        if (attempt >= config.maxAttempts) {
          await deadLetter(
            message,
            'failed',
            `failed ${attempt} times: ${(error as Error).message}`,
          );
          return;
        }
        const delay = config.retryBaseMs * 2 ** (attempt - 1);
        logger.warn(
          { err: error, eventId: event.id, attempt, retryInMs: delay },
          'handling failed; retrying',
        );
        await pause(delay, control.signal);
        if (control.signal.aborted) throw error;
        await control.heartbeat();
        attempt += 1;
      }
    }
  });
  return consumer;
}
