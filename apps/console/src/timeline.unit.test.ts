import { describe, expect, it } from 'vitest';
import type { SpanRecord } from './spans.js';
import { buildTimeline } from './timeline.js';
import type { Action } from './timeline.js';
import { parseUserCheck } from './upstream.js';

const action: Action = {
  traceId: 'a'.repeat(32),
  orderId: '11111111-1111-4111-8111-111111111111',
  command: 'create',
  via: 'rest',
  sentAt: Date.parse('2026-01-01T10:00:00.000Z'),
  answeredAt: Date.parse('2026-01-01T10:00:00.040Z'),
  status: 201,
  version: 1,
  userName: 'Ada',
  validation: 'grpc',
  refusal: undefined,
};
const event = {
  version: 1,
  eventId: 'e1',
  type: 'order.created.v1',
  occurredAt: '2026-01-01T10:00:00.020Z',
};
const notification = {
  id: '7',
  eventId: 'e1',
  kind: 'order-confirmation',
  recipientName: 'Ada',
  createdAt: '2026-01-01T10:00:00.090Z',
};
const span = (
  service: string,
  kind: SpanRecord['kind'],
  name: string,
  startMs: number,
): SpanRecord => ({
  service,
  kind,
  name,
  traceId: action.traceId,
  spanId: name,
  status: { code: 0 },
  attributes: {},
  links: [],
  events: [],
  startUs: Date.parse('2026-01-01T10:00:00.000Z') * 1000 + startMs * 1000,
  durationUs: 2_000,
});
const states = (hops: readonly { id: string; state: string }[]) =>
  Object.fromEntries(hops.map((h) => [h.id, h.state]));

describe('the timeline of an order', () => {
  it('given no span source, when the order is stored and notified, then only the hops with their own observation have a time', () => {
    const timeline = buildTimeline({
      action,
      events: [event],
      notifications: [notification],
      spans: undefined,
      spanSource: 'CONSOLE_SPANS_DIR is not set',
    });
    expect(states(timeline.hops)).toEqual({
      request: 'done',
      'user-check': 'untimed',
      appended: 'done',
      published: 'untimed',
      consumed: 'untimed',
      stored: 'done',
    });
    expect(timeline.hops.find((h) => h.id === 'published')?.at).toBeUndefined();
    expect(timeline.hops.find((h) => h.id === 'stored')?.at).toBe(notification.createdAt);
    expect(timeline.complete).toBe(true);
    expect(timeline.eventId).toBe('e1');
  });

  it('given spans, when the consumer span is not written yet, then that hop waits and the timeline is not complete', () => {
    const spans = [
      span('order-service', 'SERVER', 'POST /orders', 1),
      span('order-service', 'CLIENT', 'user.v1.UserService/ValidateUser', 2),
      span('order-service', 'PRODUCER', 'send orders', 30),
    ];
    const timeline = buildTimeline({
      action,
      events: [event],
      notifications: [],
      spans,
      spanSource: 'span files',
    });
    expect(states(timeline.hops)).toMatchObject({
      request: 'done',
      'user-check': 'done',
      published: 'done',
      consumed: 'waiting',
      stored: 'waiting',
    });
    expect(timeline.hops[0]?.at).toBe('2026-01-01T10:00:00.001Z');
    // The publish is done when the relay's send ends.
    expect(timeline.hops.find((h) => h.id === 'published')?.at).toBe('2026-01-01T10:00:00.032Z');
    expect(timeline.complete).toBe(false);
  });

  it('given a stale version, when the command is refused, then nothing after the request is waited for', () => {
    const refusal = {
      action: {
        ...action,
        command: 'pay' as const,
        status: 409,
        version: undefined,
        refusal: 'order is at version 2, not 1',
      },
      events: [event],
      notifications: [notification],
      spanSource: 'span files',
    };
    // With a span source, the refused request's own server span is still awaited.
    expect(buildTimeline({ ...refusal, spans: [] }).complete).toBe(false);
    const timeline = buildTimeline({
      action: {
        ...action,
        command: 'pay',
        status: 409,
        version: undefined,
        refusal: 'order is at version 2, not 1',
      },
      events: [event],
      notifications: [notification],
      spans: [span('order-service', 'SERVER', 'POST /orders/:id/pay', 1)],
      spanSource: 'span files',
    });
    expect(timeline.hops[0]?.detail).toContain('refused 409');
    expect(timeline.hops[0]?.detail).toContain('not 1');
    expect(timeline.hops.slice(1).every((h) => h.state === 'skipped')).toBe(true);
    expect(timeline.hops.map((h) => h.id)).not.toContain('user-check');
    expect(timeline.complete).toBe(true);
  });

  it('given user-service away, when the order is refused with 503, then the failed check attempts are shown as failed', () => {
    const timeline = buildTimeline({
      action: {
        ...action,
        status: 503,
        version: undefined,
        userName: undefined,
        refusal: 'user-service is unavailable',
      },
      events: [],
      notifications: [],
      spans: [
        span('order-service', 'SERVER', 'POST /orders', 1),
        span('order-service', 'CLIENT', 'user.v1.UserService/ValidateUser', 2),
        span('order-service', 'CLIENT', 'user.v1.UserService/ValidateUser', 10),
      ],
      spanSource: 'span files',
    });
    expect(states(timeline.hops)).toMatchObject({
      request: 'done',
      'user-check': 'failed',
      appended: 'skipped',
    });
    expect(timeline.hops[1]?.detail).toContain('2 attempts');
    expect(timeline.complete).toBe(true);
  });
});

describe("order-service's user check, read from its metrics", () => {
  it('names the mode and the state whose gauge is 1', () => {
    const page = [
      '# TYPE comms_circuit_breaker_state gauge',
      'comms_circuit_breaker_state{breaker="user-service (validation over shared-db)",state="closed",otel_scope_name="x"} 0',
      'comms_circuit_breaker_state{breaker="user-service (validation over shared-db)",state="open",otel_scope_name="x"} 1',
    ].join('\n');
    expect(parseUserCheck(page)).toEqual({ mode: 'shared-db', breaker: 'open' });
    expect(parseUserCheck('')).toEqual({ mode: undefined, breaker: undefined });
  });
});
