/**
 * The light half of the telemetry package: what adapters and services call
 * to make spans and metrics and to carry trace context across a hop. It
 * depends on the OpenTelemetry API alone, so it costs nothing when no SDK
 * is running (tests, tools): every call is then a no-op.
 *
 * This package is the only one that depends on `@opentelemetry/api`. Two
 * copies of the API in one process silently disable each other, so the rest
 * of the project goes through these helpers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type {
  Attributes,
  BatchObservableCallback,
  Context,
  Counter,
  Histogram,
  Link,
  Meter,
  ObservableCallback,
  ObservableGauge,
  Span,
  Tracer,
} from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import { metricsHandler } from './state.js';

const SCOPE = '@comms/telemetry';

/** The tracer the project's own spans (gRPC, Kafka) come from. */
export function tracer(): Tracer {
  return trace.getTracer(SCOPE);
}

/**
 * The meter the project's own metrics come from. Create instruments when a
 * component is created, not at import time: a meter taken before the SDK
 * started stays a no-op.
 */
export function meter(): Meter {
  return metrics.getMeter(SCOPE);
}

/**
 * Returns `headers` plus the W3C trace context (`traceparent`, and
 * `tracestate`/`baggage` when there are any) of `ctx`, the active context by
 * default. Headers that already carry a `traceparent` are returned as they
 * are: the first writer (the request that caused a message) wins.
 */
export function withTraceHeaders(
  headers: Readonly<Record<string, string>> = {},
  ctx: Context = context.active(),
): Record<string, string> {
  const out: Record<string, string> = { ...headers };
  if (out['traceparent'] === undefined) propagation.inject(ctx, out);
  return out;
}

/**
 * Writes the trace context of `span` (a client or producer span) into a
 * carrier; baggage comes from `base`, the active context by default.
 */
export function injectSpan(
  carrier: Record<string, string>,
  span: Span,
  base: Context = context.active(),
): void {
  propagation.inject(trace.setSpan(base, span), carrier);
}

/**
 * The context a message continues: the one its headers carry (a message
 * written by a request keeps that request's trace, however late it is
 * sent), else the active one.
 */
export function messageParent(headers: Readonly<Record<string, string>> | undefined): Context {
  return headers?.['traceparent'] === undefined ? context.active() : extractTraceContext(headers);
}

/** The context a carrier (HTTP or Kafka headers, gRPC metadata as a map) continues, if any. */
export function extractTraceContext(carrier: Readonly<Record<string, unknown>>): Context {
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(carrier)) {
    if (typeof value === 'string') text[name] = value;
    else if (Buffer.isBuffer(value)) text[name] = value.toString('utf8');
  }
  return propagation.extract(ROOT_CONTEXT, text);
}

/** How a Kafka consumer's span relates to the span that produced the message. */
export type TraceRelation = 'child' | 'link';

/**
 * Parent and links of a consumer span for a message produced under
 * `produced`:
 * - `child`: the consumer span continues the producer's trace, so one trace
 *   shows the request and everything it caused, however late.
 * - `link`: the consumer span starts its own trace and links to the
 *   producer's span, so traces stay short and bounded (a replay or a batch
 *   does not grow the original trace) and tools follow the link instead.
 */
export function consumerSpanParent(
  produced: Context,
  relation: TraceRelation,
): { parent: Context; links: Link[] } {
  const producer = trace.getSpanContext(produced);
  if (producer === undefined || !trace.isSpanContextValid(producer))
    return { parent: ROOT_CONTEXT, links: [] };
  if (relation === 'child') return { parent: produced, links: [] };
  return { parent: ROOT_CONTEXT, links: [{ context: producer }] };
}

/**
 * Runs `fn` outside any trace. Background loops (the outbox relay, timers)
 * started from a request would otherwise inherit that request's context and
 * hang their work off its trace forever.
 */
export function detached<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/** Runs `fn` with `span` active, so spans and log lines made inside join it. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Marks a span failed with an error (status ERROR plus an exception event). */
export function recordFailure(span: Span, error: unknown): void {
  const failure = error instanceof Error ? error : new Error(String(error));
  span.recordException(failure);
  span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
}

/**
 * The trace fields of the active span for a log line (`trace_id`,
 * `span_id`, `trace_flags`), or nothing outside a trace. Used as a pino
 * mixin, so every line a request logs can be found by its trace id.
 */
export function logTraceFields(): Record<string, string> {
  const span = trace.getSpanContext(context.active());
  if (span === undefined || !trace.isSpanContextValid(span)) return {};
  return {
    trace_id: span.traceId,
    span_id: span.spanId,
    trace_flags: `0${span.traceFlags.toString(16)}`,
  };
}

/**
 * Names the route of the HTTP request being served (`/users/:id`, not the
 * URL), so its server span is called `GET /users/:id` and request metrics
 * are counted per route rather than per URL.
 */
export function setHttpRoute(route: string): void {
  const rpc = getRPCMetadata(context.active());
  if (rpc?.type === RPCType.HTTP) rpc.route = route;
}

/**
 * Serves the Prometheus text format, or returns false when metrics are off
 * (no SDK, or `OTEL_METRICS_EXPORTER` without `prometheus`).
 */
export function serveMetrics(request: IncomingMessage, response: ServerResponse): boolean {
  const handler = metricsHandler();
  if (handler === undefined) return false;
  handler(request, response);
  return true;
}

export { SpanKind, SpanStatusCode };
export type {
  Attributes,
  BatchObservableCallback,
  Context,
  Counter,
  Histogram,
  Link,
  Meter,
  ObservableCallback,
  ObservableGauge,
  Span,
};
