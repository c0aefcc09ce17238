import {
  consumerSpanParent,
  extractTraceContext,
  injectSpan,
  messageParent,
  meter,
  recordFailure,
  SpanKind,
  tracer,
  withSpan,
} from '@comms/telemetry';
import type { Counter, Histogram, Span, TraceRelation } from '@comms/telemetry';
import type { DriverMessage, DriverRecord } from './driver.js';
import type { OutgoingMessage } from './port.js';

/**
 * Kafka's spans and metrics, made here and not by a client library's
 * instrumentation, so they are the same whichever driver runs: a PRODUCER
 * span per record sent, whose context travels in the record's W3C
 * `traceparent` header, and a CONSUMER span per record handled, child of
 * or linked to it.
 */

interface KafkaMetrics {
  readonly sent: Counter;
  readonly consumed: Counter;
  readonly processDuration: Histogram;
}

export function kafkaMetrics(): KafkaMetrics {
  const m = meter();
  return {
    sent: m.createCounter('messaging.client.sent.messages', {
      description: 'Messages sent to Kafka (acknowledged or failed, see error.type).',
    }),
    consumed: m.createCounter('messaging.client.consumed.messages', {
      description: 'Messages handed to a handler.',
    }),
    processDuration: m.createHistogram('messaging.process.duration', {
      unit: 's',
      description: 'Time a handler took per message, or per batch of messages handled together.',
    }),
  };
}

const errorType = (error: unknown) => (error instanceof Error ? error.name : 'Error');

/**
 * Sends `messages` through `send`, each under a PRODUCER span: child of the
 * trace the message was written in (its headers, as the outbox stores them)
 * or else of the caller's, and carried on in the headers sent.
 */
export async function tracedSend(
  topic: string,
  messages: readonly OutgoingMessage[],
  metrics: KafkaMetrics,
  send: (records: DriverRecord[]) => Promise<void>,
): Promise<void> {
  const attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'send',
    'messaging.destination.name': topic,
  };
  const traced = messages.map((m) => {
    const parent = messageParent(m.headers);
    const span = tracer().startSpan(
      `send ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          ...attributes,
          ...(m.key === null ? {} : { 'messaging.kafka.message.key': m.key }),
        },
      },
      parent,
    );
    const headers: Record<string, string> = { ...m.headers };
    injectSpan(headers, span, parent);
    return { span, record: { key: m.key, value: m.value, headers } };
  });
  try {
    await send(traced.map((t) => t.record));
    metrics.sent.add(messages.length, attributes);
  } catch (error) {
    for (const { span } of traced) recordFailure(span, error);
    metrics.sent.add(messages.length, { ...attributes, 'error.type': errorType(error) });
    throw error;
  } finally {
    for (const { span } of traced) span.end();
  }
}

const processAttributes = (message: DriverMessage, groupId: string) => ({
  'messaging.system': 'kafka',
  'messaging.operation.type': 'process',
  'messaging.destination.name': message.topic,
  'messaging.consumer.group.name': groupId,
});

/** A consumed message's CONSUMER span: child of (or linked to) the span that produced it. */
function startConsumerSpan(message: DriverMessage, groupId: string, relation: TraceRelation): Span {
  const { parent, links } = consumerSpanParent(extractTraceContext(message.headers), relation);
  return tracer().startSpan(
    `process ${message.topic}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        ...processAttributes(message, groupId),
        'messaging.destination.partition.id': String(message.partition),
        'messaging.kafka.offset': Number(message.offset),
      },
    },
    parent,
  );
}

/** Runs `handle` for one consumed message inside its CONSUMER span, recording its outcome. */
export async function tracedHandle(
  message: DriverMessage,
  groupId: string,
  relation: TraceRelation,
  metrics: KafkaMetrics,
  handle: () => Promise<void>,
): Promise<void> {
  await tracedBatch([message], groupId, relation, metrics, handle);
}

/** Runs work inside the CONSUMER span of one message of the batch being handled. */
export type WithinMessage = <T>(message: DriverMessage, work: () => Promise<T>) => Promise<T>;

/**
 * Runs `handle` for messages of one partition handled together. Each
 * message gets its CONSUMER span, so every order's trace still shows its
 * consumption; they all last as long as the batch. With one message the
 * handler runs inside its span; with several, inside a span of the batch
 * (`process <topic> batch`, linked to each message's span) for the work
 * they share, and `within` puts what is one message's own (its log lines,
 * its own retries) back in that message's span, so in its trace.
 */
export async function tracedBatch(
  messages: readonly DriverMessage[],
  groupId: string,
  relation: TraceRelation,
  metrics: KafkaMetrics,
  handle: (within: WithinMessage) => Promise<void>,
): Promise<void> {
  const first = messages[0];
  if (first === undefined) return;
  const attributes = processAttributes(first, groupId);
  const spans = new Map(
    messages.map((message) => [message, startConsumerSpan(message, groupId, relation)]),
  );
  const all = [...spans.values()];
  const around =
    all.length === 1
      ? (all[0] as Span)
      : tracer().startSpan(`process ${first.topic} batch`, {
          kind: SpanKind.CONSUMER,
          links: all.map((span) => ({ context: span.spanContext() })),
          attributes: {
            ...attributes,
            'messaging.destination.partition.id': String(first.partition),
            'messaging.batch.message_count': messages.length,
          },
        });
  const within: WithinMessage = (message, work) => {
    const span = spans.get(message);
    return span === undefined ? work() : withSpan(span, work);
  };
  const started = performance.now();
  let failed: string | undefined;
  try {
    await withSpan(around, () => handle(within));
  } catch (error) {
    failed = errorType(error);
    for (const span of new Set([around, ...all])) recordFailure(span, error);
    throw error;
  } finally {
    for (const span of new Set([around, ...all])) span.end();
    const outcome = failed === undefined ? attributes : { ...attributes, 'error.type': failed };
    metrics.consumed.add(messages.length, outcome);
    metrics.processDuration.record((performance.now() - started) / 1000, outcome);
  }
}
