import type { SpanRecord } from './spans.js';

/** What the console did and saw itself when it sent one order command. */
export interface Action {
  readonly traceId: string;
  readonly orderId: string | undefined;
  readonly command: 'create' | 'pay' | 'ship' | 'cancel';
  readonly via: 'rest' | 'grpc';
  /** The console's clock, milliseconds since the epoch. */
  readonly sentAt: number;
  readonly answeredAt: number;
  /** The HTTP status the page was given (a gRPC status is mapped to one). */
  readonly status: number;
  /** The order's version after the command, when it was accepted. */
  readonly version: number | undefined;
  /** The user's name user-service gave order-service, when an order was placed. */
  readonly userName: string | undefined;
  /** How order-service checks users (grpc, rest, shared-db), as its metrics say. */
  readonly validation: string | undefined;
  /** The problem's detail, when it was refused. */
  readonly refusal: string | undefined;
}

/** One event of the order's stream, as `GET /orders/:id/events` gives it. */
export interface StoredEvent {
  readonly version: number;
  readonly eventId: string;
  readonly type: string;
  readonly occurredAt: string;
}

/** One notification, as `GET /notifications?orderId=` gives it. */
export interface StoredNotification {
  readonly id: string;
  readonly eventId: string;
  readonly kind: string;
  readonly recipientName: string;
  readonly createdAt: string;
}

/** The hops the backend can observe; the page adds the last one (its own SSE). */
export type HopId = 'request' | 'user-check' | 'appended' | 'published' | 'consumed' | 'stored';

/**
 * One row of the timeline. `done`: observed, with its time; `untimed`: it
 * happened (a later hop proves it) but nothing observable gives its time;
 * `waiting`: not seen yet; `skipped`: the command was refused before it;
 * `failed`: observed, and it failed (the user check of a refused order).
 */
export interface Hop {
  readonly id: HopId;
  readonly title: string;
  readonly state: 'done' | 'untimed' | 'waiting' | 'skipped' | 'failed';
  /** ISO time with milliseconds, for `done` rows. */
  readonly at?: string;
  readonly detail: string;
  /** Where the row's observation came from. */
  readonly source: string;
}

/** The whole timeline of one action. */
export interface Timeline {
  readonly traceId: string;
  readonly orderId: string | undefined;
  readonly command: Action['command'];
  readonly via: Action['via'];
  readonly hops: readonly Hop[];
  /** Every hop is done, untimed or skipped: nothing more will appear. */
  readonly complete: boolean;
  /** The event appended by this action, whose notification the page waits for on its stream. */
  readonly eventId: string | undefined;
}

/** What the timeline is assembled from: each part is a real observation. */
export interface Observations {
  readonly action: Action;
  readonly events: readonly StoredEvent[];
  readonly notifications: readonly StoredNotification[];
  /** The trace's spans; undefined when the console has no span source. */
  readonly spans: readonly SpanRecord[] | undefined;
  /** The span source's description, or why there is none. */
  readonly spanSource: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const spanStart = (span: SpanRecord) => iso(span.startUs / 1000);
const spanEnd = (span: SpanRecord) => iso((span.startUs + span.durationUs) / 1000);
/** An attribute as text; spans only carry scalars and arrays of them. */
const text = (value: unknown) =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : '';
const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;

const USER_CHECKS: Record<string, { title: string; matches: (span: SpanRecord) => boolean }> = {
  grpc: {
    title: 'User check over gRPC (user.v1.UserService/ValidateUser)',
    matches: (s) => s.kind === 'CLIENT' && s.name.endsWith('/ValidateUser'),
  },
  rest: {
    title: 'User check over REST (GET /users/:id on user-service)',
    matches: (s) =>
      s.kind === 'CLIENT' &&
      !s.name.startsWith('pg.') &&
      text(s.attributes['url.full'] ?? s.attributes['http.url']).includes('/users/'),
  },
  'shared-db': {
    title: 'User check in the shared database (read-only view of users)',
    matches: (s) =>
      s.kind === 'CLIENT' &&
      s.name.startsWith('pg.') &&
      (s.attributes['db.namespace'] ?? s.attributes['db.name']) === 'users',
  },
};

/**
 * Assembles one action's timeline from what was observed. Pure: no clock,
 * no I/O. A row is `done` only with an observed time; nothing is inferred
 * except that a later hop proves an earlier one happened (`untimed`).
 */
export function buildTimeline(observed: Observations): Timeline {
  const { action, events, notifications, spans, spanSource } = observed;
  const inTrace = spans ?? [];
  const ofOrderService = inTrace.filter((s) => s.service === 'order-service');
  const server = ofOrderService.find((s) => s.kind === 'SERVER');
  const refused = action.status >= 400;
  const noSpans = `no span source (${spanSource})`;

  const request: Hop = {
    id: 'request',
    title:
      action.via === 'grpc'
        ? `Request in over gRPC (order.v1.OrderService/${action.command === 'create' ? 'CreateOrder' : action.command})`
        : `Request in over REST (POST /orders${action.command === 'create' ? '' : `/:id/${action.command}`})`,
    state: 'done',
    ...(server === undefined
      ? {
          at: iso(action.sentAt),
          detail: `${refused ? 'refused' : 'answered'} ${action.status} after ${action.answeredAt - action.sentAt} ms${refused && action.refusal !== undefined ? `: ${action.refusal}` : ''}`,
          source: 'timed by the console (sent, answered)',
        }
      : {
          at: spanStart(server),
          detail: `${server.name}: ${refused ? 'refused' : 'answered'} ${action.status} after ${ms(server.durationUs)} in order-service${refused && action.refusal !== undefined ? `: ${action.refusal}` : ''}`,
          source: 'order-service server span',
        }),
  };

  const event = refused ? undefined : events.find((e) => e.version === action.version);
  const notification =
    event === undefined ? undefined : notifications.find((n) => n.eventId === event.eventId);
  const skipped = (id: HopId, title: string): Hop => ({
    id,
    title,
    state: 'skipped',
    detail: `not reached: the command was refused with ${action.status}`,
    source: 'the refusal',
  });
  /** A hop only spans can time: done from its span, else untimed once `proof` exists. */
  const spanHop = (
    id: HopId,
    title: string,
    span: SpanRecord | undefined,
    at: (s: SpanRecord) => string,
    detail: (s: SpanRecord) => string,
    proof: string | undefined,
  ): Hop => {
    if (refused) return skipped(id, title);
    if (span !== undefined)
      return {
        id,
        title,
        state: 'done',
        at: at(span),
        detail: detail(span),
        source: `${span.service} ${span.kind.toLowerCase()} span`,
      };
    if (proof !== undefined && spans === undefined)
      return {
        id,
        title,
        state: 'untimed',
        detail: `${proof}; its time is not observable: ${noSpans}`,
        source: 'a later hop',
      };
    return {
      id,
      title,
      state: 'waiting',
      detail: spans === undefined ? noSpans : 'no span yet',
      source: 'span',
    };
  };

  const hops: Hop[] = [request];

  if (action.command === 'create') {
    const mode = action.validation ?? 'unknown';
    const check = USER_CHECKS[mode];
    const calls = check === undefined ? [] : ofOrderService.filter(check.matches);
    const answered = calls.at(-1);
    const title = check?.title ?? `User check (order-service's mode: ${mode})`;
    hops.push(
      refused && answered !== undefined
        ? {
            // A refused order whose check was tried: the failed calls are what was observed.
            id: 'user-check',
            title,
            state: 'failed',
            at: spanStart(answered),
            detail: `${answered.name}: ${calls.length} attempt${calls.length === 1 ? '' : 's'}, the last failed after ${ms(answered.durationUs)}${answered.status.message === undefined ? '' : ` (${answered.status.message})`}`,
            source: `${answered.service} ${answered.kind.toLowerCase()} span`,
          }
        : spanHop(
            'user-check',
            title,
            answered,
            spanStart,
            (s) =>
              `${s.name}: ${ms(s.durationUs)}${calls.length > 1 ? `, attempt ${calls.length}` : ''}${action.userName === undefined ? '' : `; user-service knew the user as ${action.userName}`}`,
            action.userName === undefined
              ? undefined
              : `user-service knew the user as ${action.userName}`,
          ),
    );
  }

  hops.push(
    refused
      ? skipped('appended', 'Event appended to the order stream')
      : event === undefined
        ? {
            id: 'appended',
            title: 'Event appended to the order stream',
            state: 'waiting',
            detail: `no version ${String(action.version)} in the stream yet`,
            source: 'GET /orders/:id/events',
          }
        : {
            id: 'appended',
            title: 'Event appended to the order stream',
            state: 'done',
            at: event.occurredAt,
            detail: `${event.type}, version ${event.version} (event ${event.eventId})`,
            source: 'GET /orders/:id/events',
          },
  );

  const producer = ofOrderService.find((s) => s.kind === 'PRODUCER');
  const consumer = inTrace.find(
    (s) => s.service === 'notification-service' && s.kind === 'CONSUMER',
  );
  const attr = (s: SpanRecord, key: string) => s.attributes[key];
  const where = (s: SpanRecord) => {
    const partition = attr(s, 'messaging.destination.partition.id');
    const offset = attr(s, 'messaging.kafka.offset') ?? attr(s, 'messaging.kafka.message.offset');
    return `${partition === undefined ? '' : `, partition ${text(partition)}`}${offset === undefined ? '' : `, offset ${text(offset)}`}`;
  };
  const consumedProof =
    notification === undefined ? undefined : `notification-service stored its notification`;
  hops.push(
    spanHop(
      'published',
      'Outbox row published to Kafka',
      producer,
      spanEnd,
      (s) => `${s.name}${where(s)}: the relay's send took ${ms(s.durationUs)}`,
      consumedProof,
    ),
    spanHop(
      'consumed',
      'Consumed from Kafka by notification-service',
      consumer,
      spanStart,
      (s) => `${s.name}${where(s)}: handled in ${ms(s.durationUs)}`,
      consumedProof,
    ),
  );

  hops.push(
    refused
      ? skipped('stored', 'Notification stored')
      : notification === undefined
        ? {
            id: 'stored',
            title: 'Notification stored',
            state: 'waiting',
            detail: 'no notification for this event yet',
            source: 'GET /notifications?orderId=',
          }
        : {
            id: 'stored',
            title: 'Notification stored',
            state: 'done',
            at: notification.createdAt,
            detail: `${notification.kind} #${notification.id} for ${notification.recipientName}`,
            source: 'GET /notifications?orderId=',
          },
  );

  return {
    traceId: action.traceId,
    orderId: action.orderId,
    command: action.command,
    via: action.via,
    hops,
    // With a span source, a refused command's server span is waited for too,
    // so its row (and a failed user check) comes from order-service's own spans.
    complete:
      hops.every((h) => h.state !== 'waiting') && (spans === undefined || server !== undefined),
    eventId: event?.eventId,
  };
}
