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
      description: 'Time a handler took per message.',
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

/** Runs `handle` for one consumed message inside its CONSUMER span, recording its outcome. */
export async function tracedHandle(
  message: DriverMessage,
  groupId: string,
  relation: TraceRelation,
  metrics: KafkaMetrics,
  handle: () => Promise<void>,
): Promise<void> {
  const attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.destination.name': message.topic,
    'messaging.consumer.group.name': groupId,
  };
  const { parent, links } = consumerSpanParent(extractTraceContext(message.headers), relation);
  const span: Span = tracer().startSpan(
    `process ${message.topic}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        ...attributes,
        'messaging.destination.partition.id': String(message.partition),
        'messaging.kafka.offset': Number(message.offset),
      },
    },
    parent,
  );
  const started = performance.now();
  let failed: string | undefined;
  try {
    await withSpan(span, handle);
  } catch (error) {
    failed = errorType(error);
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
    const outcome = failed === undefined ? attributes : { ...attributes, 'error.type': failed };
    metrics.consumed.add(1, outcome);
    metrics.processDuration.record((performance.now() - started) / 1000, outcome);
  }
}
