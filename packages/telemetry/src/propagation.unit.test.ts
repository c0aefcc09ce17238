import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  consumerSpanParent,
  detached,
  extractTraceContext,
  logTraceFields,
  messageParent,
  SpanKind,
  tracer,
  withSpan,
  withTraceHeaders,
} from './index.js';
import { JsonLinesSpanExporter } from './json-lines-exporter.js';
import type { SpanRecord } from './json-lines-exporter.js';
import { registerTracerProvider } from './register.js';

// A real SDK in this process: spans are kept in memory and written as JSON lines.
const memory = new InMemorySpanExporter();
let dir: string;
let provider: TracerProvider;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'telemetry-test-'));
  provider = new TracerProvider({
    spanProcessors: [
      new SimpleSpanProcessor({ exporter: memory }),
      new SimpleSpanProcessor({ exporter: new JsonLinesSpanExporter(dir, 'test-service') }),
    ],
  });
  registerTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => memory.reset());

/** Sends a "message" under a producer span and returns its headers and the span. */
function produce() {
  const producer = tracer().startSpan('send orders', { kind: SpanKind.PRODUCER });
  const headers = withSpan(producer, () => withTraceHeaders({ 'content-type': 'json' }));
  producer.end();
  return { headers, producer: producer.spanContext() };
}

describe('trace context across a message', () => {
  it('a child consumer span continues the producer trace', () => {
    const { headers, producer } = produce();
    expect(headers['traceparent']).toBe(`00-${producer.traceId}-${producer.spanId}-01`);
    const { parent, links } = consumerSpanParent(extractTraceContext(headers), 'child');
    tracer().startSpan('process orders', { kind: SpanKind.CONSUMER, links }, parent).end();
    const consumed = memory.getFinishedSpans().find((s) => s.name === 'process orders');
    expect(consumed?.spanContext().traceId).toBe(producer.traceId);
    expect(consumed?.parentSpanContext?.spanId).toBe(producer.spanId);
    expect(consumed?.links).toEqual([]);
  });

  it('a linked consumer span starts a new trace that points at the producer span', () => {
    const { headers, producer } = produce();
    const { parent, links } = consumerSpanParent(extractTraceContext(headers), 'link');
    tracer().startSpan('process orders', { kind: SpanKind.CONSUMER, links }, parent).end();
    const consumed = memory.getFinishedSpans().find((s) => s.name === 'process orders');
    expect(consumed?.spanContext().traceId).not.toBe(producer.traceId);
    expect(consumed?.parentSpanContext).toBeUndefined();
    expect(consumed?.links.map((l) => l.context.spanId)).toEqual([producer.spanId]);
  });

  it('a message without trace context gets a fresh root span and no link', () => {
    const { parent, links } = consumerSpanParent(extractTraceContext({}), 'link');
    tracer().startSpan('process orders', { links }, parent).end();
    const consumed = memory.getFinishedSpans()[0];
    expect(consumed?.parentSpanContext).toBeUndefined();
    expect(consumed?.links).toEqual([]);
  });

  it('keeps the traceparent a message was written with, and sends it from there later', () => {
    const request = tracer().startSpan('POST /orders', { kind: SpanKind.SERVER });
    const written = withSpan(request, () => withTraceHeaders());
    request.end();
    // Later, from a background loop in another trace: the row's context still wins.
    const background = tracer().startSpan('relay tick');
    withSpan(background, () => {
      expect(withTraceHeaders(written)).toEqual(written);
      const send = tracer().startSpan('send orders', {}, messageParent(written));
      send.end();
    });
    background.end();
    const send = memory.getFinishedSpans().find((s) => s.name === 'send orders');
    expect(send?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
  });
});

describe('context helpers', () => {
  it('log fields carry the active trace and span ids, and nothing outside a trace', () => {
    expect(logTraceFields()).toEqual({});
    const span = tracer().startSpan('work');
    withSpan(span, () => {
      expect(logTraceFields()).toEqual({
        trace_id: span.spanContext().traceId,
        span_id: span.spanContext().spanId,
        trace_flags: '01',
      });
      // A loop started from here does not inherit the request's trace.
      detached(() => expect(logTraceFields()).toEqual({}));
    });
    span.end();
  });

  it('writes each finished span as a JSON line with its parent and links', async () => {
    const { producer } = produce();
    const lines = (await readFile(join(dir, `test-service-${process.pid}.jsonl`), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as SpanRecord);
    expect(lines.at(-1)).toMatchObject({
      service: 'test-service',
      traceId: producer.traceId,
      spanId: producer.spanId,
      name: 'send orders',
      kind: 'PRODUCER',
      links: [],
    });
    expect(lines.at(-1)?.durationUs).toBeGreaterThanOrEqual(0);
  });
});
