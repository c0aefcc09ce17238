import { DLQ_HEADERS, EventValidationError, parseKafkaEvent } from '@comms/contracts';
import { isDatabaseUnavailable } from '@comms/postgres';
import type { AnyEvent } from '@comms/contracts';
import type {
  IncomingMessage,
  KafkaClient,
  KafkaConsumer,
  KafkaProducer,
  MessageControl,
} from '@comms/kafka';
import type { Logger } from '@comms/service-kit';
import { retry } from '@comms/resilience';
import { meter } from '@comms/telemetry';
import { handlingOf } from './handled-events.js';
import type { OrderEvent, Processor } from './processor.js';

const isOrderEvent = (event: AnyEvent): event is OrderEvent => event.type.startsWith('order.');

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
  /** Messages of one partition handled together at most. Default 100. */
  readonly maxBatch?: number;
  /** Whether handling continues the producer's trace (`child`) or links to it. Default child. */
  readonly traceRelation?: 'child' | 'link';
}

/** Header names a dead-lettered message carries, besides its original headers (part of the topics' contract). */
export { DLQ_HEADERS };

/**
 * The consumer loop. A message that is not a valid CloudEvent of a known
 * type and version, in structured or binary mode, goes straight to the
 * dead-letter topic; a message whose
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
  /**
   * What a message is: the event to handle, or nothing when it was
   * dead-lettered (too large, not a valid CloudEvent, a type this service
   * does not declare) or is ignored on purpose.
   */
  const screen = async (message: IncomingMessage): Promise<AnyEvent | undefined> => {
    const size = message.value?.length ?? 0;
    const maxBytes = config.maxEventBytes ?? 256 * 1024;
    if (size > maxBytes) {
      await deadLetter(
        message,
        'invalid',
        `too-large: ${String(size)} bytes, more than the ${String(maxBytes)} an event may have`,
      );
      return undefined;
    }
    let event: AnyEvent;
    try {
      // Structured mode (what the services send) or binary mode (ce_* headers).
      event = parseKafkaEvent(message.value, message.headers);
    } catch (error) {
      if (!(error instanceof EventValidationError)) throw error;
      await deadLetter(message, 'invalid', `${error.problem}: ${error.message}`);
      return undefined;
    }
    const handling = handlingOf(event.type);
    if (handling === undefined) {
      // A catalog event this service does not declare: kept for whoever fixes that.
      await deadLetter(
        message,
        'invalid',
        `unhandled-type: notification-service declares no handling for '${event.type}' (EVENT_HANDLING)`,
      );
      return undefined;
    }
    if (handling === 'ignore') {
      logger.debug({ eventId: event.id, type: event.type }, 'event ignored on purpose');
      return undefined;
    }
    return event;
  };

  /** One event on its own, with retries, outage waits and, at the end, the dead-letter topic. */
  const handleOne = async (
    message: IncomingMessage,
    event: AnyEvent,
    control: MessageControl,
  ): Promise<void> => {
    // Failures of the handler count towards maxAttempts; a database that is
    // away is no fault of this message, so those waits do not count: the
    // event is held, heartbeating, until the database is back. If the
    // consumer closes meanwhile, the wait ends and the message stays
    // uncommitted, for whoever consumes next.
    let failures = 0;
    let outages = 0;
    try {
      await retry(
        async (attempt) => {
          if (attempt > 1) await control.heartbeat();
          const outcome = await processor.handle(event);
          logger.info({ eventId: event.id, type: event.type, outcome }, 'event handled');
          if (event.type === 'user.registered.v1') {
            // Order events that waited for this user can go out now.
            await processor.retryPending({ userId: event.data.userId }).catch((error: unknown) => {
              logger.warn(
                { err: error },
                'retrying pending events failed; the timer will try again',
              );
            });
          }
        },
        {
          attempts: Infinity,
          baseDelayMs: config.retryBaseMs,
          maxDelayMs: 5_000,
          signal: control.signal,
          retryable: (error) => {
            if (isDatabaseUnavailable(error)) {
              outages += 1;
              return true;
            }
            failures += 1;
            return failures < config.maxAttempts;
          },
          onRetry: (error, _attempt, delayMs) => {
            if (isDatabaseUnavailable(error)) {
              if (outages === 1 || outages % 10 === 0)
                logger.warn(
                  { err: error, eventId: event.id, waitedTimes: outages },
                  'database unavailable; holding the event until it returns',
                );
            } else
              logger.warn(
                {
                  err: error,
                  eventId: event.id,
                  attempt: failures,
                  retryInMs: Math.round(delayMs),
                },
                'handling failed; retrying',
              );
          },
        },
      );
    } catch (error) {
      if (control.signal.aborted) throw error;
      await deadLetter(
        message,
        'failed',
        `failed ${String(failures)} times: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };

  // A fetched batch of one partition: the order events among it are stored
  // together (two round trips for all of them); whatever that leaves, and
  // everything when it fails, is handled one event at a time as before.
  await consumer.runBatches(
    async (messages, control) => {
      const events: Array<{ message: IncomingMessage; event: AnyEvent }> = [];
      for (const message of messages) {
        const event = await control.within(message, () => screen(message));
        if (event !== undefined) events.push({ message, event });
      }
      let one = events;
      const orders = events.filter(
        (entry): entry is { message: IncomingMessage; event: OrderEvent } =>
          isOrderEvent(entry.event),
      );
      if (orders.length > 1) {
        try {
          const { outcomes } = await processor.handleOrderBatch(orders.map(({ event }) => event));
          // Each event's line in its own trace; those without an outcome
          // (their recipient is not in the replica) go one at a time.
          const rest = new Set<IncomingMessage>();
          for (const [at, { message, event }] of orders.entries()) {
            const outcome = outcomes[at];
            if (outcome === undefined) rest.add(message);
            else
              await control.within(message, () => {
                logger.info(
                  { eventId: event.id, type: event.type, outcome, batch: orders.length },
                  'event handled',
                );
                return Promise.resolve();
              });
          }
          one = events.filter(({ event, message }) => !isOrderEvent(event) || rest.has(message));
        } catch (error) {
          logger.warn(
            { err: error, events: orders.length },
            'storing the batch failed; handling its events one at a time',
          );
        }
      }
      for (const { message, event } of one) {
        await control.within(message, () => handleOne(message, event, control));
        // Handling one at a time may take a while: stay in the group meanwhile.
        await control.heartbeat();
      }
    },
    { maxBatch: config.maxBatch ?? 100 },
  );
  return consumer;
}
