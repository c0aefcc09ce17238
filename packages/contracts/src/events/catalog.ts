import Type from 'typebox';
import type { Static, TSchema } from 'typebox';
import { MAX_CANCEL_REASON_LENGTH, MAX_PUBLISHED_PRODUCT_ID_LENGTH } from '../limits.js';
import { MONEY_PATTERN } from '../money.js';
import { Text } from '../text.js';

/**
 * Every Kafka event the system publishes, one schema per type and version.
 * The TypeScript types are derived from these schemas, so they cannot drift.
 *
 * Rules for changing an event (consumers accept every version ever seen):
 * - adding an optional field is fine within a version;
 * - anything else is a new version (`.v2`), published beside the old one
 *   until no consumer needs it, with a fixture under fixtures/events/.
 * Data objects allow unknown fields, so an additive change never breaks an
 * older consumer. compatibility.unit.test.ts holds every published version
 * to these rules against baseline/events.json (see docs/contracts.md).
 */

const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const Money = Type.String({ pattern: MONEY_PATTERN });
// Free text is storable text (no NUL, no unpaired surrogate): see ../text.ts.
const NonEmpty = Text({ minLength: 1, maxLength: 200 });

const OrderLine = Type.Object({
  // The published limit, looser than what new orders may use: consumers keep
  // accepting every event that was ever published (see ../limits.ts).
  productId: Text({ minLength: 1, maxLength: MAX_PUBLISHED_PRODUCT_ID_LENGTH }),
  // v1 never bounded the quantity or the number of lines (MAX_ITEM_QUANTITY,
  // MAX_ORDER_ITEMS); a bound is a tightening, so it waits for a v2.
  quantity: Type.Integer({ minimum: 1 }),
  price: Money,
});

/** `user.registered.v1`: a user was created. Carries the contact details consumers replicate. */
export const UserRegisteredV1 = Type.Object({
  userId: Uuid,
  name: NonEmpty,
  email: Type.String({ format: 'email', maxLength: 254 }),
  registeredAt: Timestamp,
});

/** `user.deactivated.v1`: a user may no longer place orders. */
export const UserDeactivatedV1 = Type.Object({
  userId: Uuid,
  deactivatedAt: Timestamp,
});

/** `order.created.v1`: an order was placed for a validated user. */
export const OrderCreatedV1 = Type.Object({
  orderId: Uuid,
  userId: Uuid,
  userName: NonEmpty,
  items: Type.Array(OrderLine, { minItems: 1 }),
  totalAmount: Money,
  createdAt: Timestamp,
});

/** `order.paid.v1`: the order's total was paid. */
export const OrderPaidV1 = Type.Object({
  orderId: Uuid,
  userId: Uuid,
  amount: Money,
  paidAt: Timestamp,
});

/** `order.cancelled.v1`: the order will not be fulfilled. */
export const OrderCancelledV1 = Type.Object({
  orderId: Uuid,
  userId: Uuid,
  reason: Text({ maxLength: MAX_CANCEL_REASON_LENGTH }),
  cancelledAt: Timestamp,
});

/** `order.shipped.v1`: a paid order left the warehouse. */
export const OrderShippedV1 = Type.Object({
  orderId: Uuid,
  userId: Uuid,
  shippedAt: Timestamp,
});

/** Kafka topics of the system. */
export const TOPICS = {
  users: 'users',
  orders: 'orders',
  notificationsDlq: 'notifications.dlq',
} as const;

/**
 * Partitions of each topic, as the services create it. The Kafka key (the
 * aggregate id) picks the partition, so events of one aggregate stay in
 * order; a different count sends keys elsewhere, so it is a migration, not
 * an edit.
 */
export const TOPIC_PARTITIONS = {
  users: 3,
  orders: 3,
  notificationsDlq: 3,
} as const satisfies Record<keyof typeof TOPICS, number>;

/** Consumer groups that read the topics, by the service that runs them. */
export const CONSUMER_GROUPS = {
  notificationService: 'notifications',
} as const;

/**
 * Headers a dead-lettered message carries on `notifications.dlq`, besides
 * its original headers (its key and value are unchanged).
 */
export const DLQ_HEADERS = {
  /** Why it was dead-lettered, as text (at most 2,000 characters). */
  error: 'dlq-error',
  /** `invalid` (never handled: not a valid event) or `failed` (its handling kept failing). */
  reason: 'dlq-reason',
  topic: 'dlq-source-topic',
  partition: 'dlq-source-partition',
  offset: 'dlq-source-offset',
  group: 'dlq-consumer-group',
  /** RFC 3339. */
  at: 'dlq-failed-at',
  /** Set on a message sent back to its topic by the redrive: how many times it was. */
  redriven: 'dlq-redriven',
  /** The trace context the message arrived with; the DLQ copy carries the consumer's own. */
  traceparent: 'dlq-source-traceparent',
} as const;

/** Each event type with its data schema, the topic it is published to and what it means. */
export const EVENT_CATALOG = {
  'user.registered.v1': {
    topic: TOPICS.users,
    data: UserRegisteredV1,
    summary: 'A user was created. Carries the contact details consumers replicate.',
  },
  'user.deactivated.v1': {
    topic: TOPICS.users,
    data: UserDeactivatedV1,
    summary: 'A user may no longer place orders.',
  },
  'order.created.v1': {
    topic: TOPICS.orders,
    data: OrderCreatedV1,
    summary: 'An order was placed for a validated user.',
  },
  'order.paid.v1': {
    topic: TOPICS.orders,
    data: OrderPaidV1,
    summary: "The order's total was paid.",
  },
  'order.cancelled.v1': {
    topic: TOPICS.orders,
    data: OrderCancelledV1,
    summary: 'The order will not be fulfilled.',
  },
  'order.shipped.v1': {
    topic: TOPICS.orders,
    data: OrderShippedV1,
    summary: 'A paid order left the warehouse.',
  },
} as const satisfies Record<string, { topic: string; data: TSchema; summary: string }>;

/** Every event type, such as `order.created.v1`. */
export type EventType = keyof typeof EVENT_CATALOG;

/** The `data` of an event type, derived from its schema. */
export type EventData<T extends EventType> = Static<(typeof EVENT_CATALOG)[T]['data']>;

/** A CloudEvents 1.0 event (structured JSON mode) of one type. */
export interface CloudEvent<T extends EventType = EventType> {
  readonly specversion: '1.0';
  /** Unique per event; consumers deduplicate on it. */
  readonly id: string;
  /** Who published it, for example `/user-service`. */
  readonly source: string;
  readonly type: T;
  /** RFC 3339. */
  readonly time: string;
  /** The aggregate id; also the Kafka key. */
  readonly subject: string;
  readonly datacontenttype: 'application/json';
  /**
   * Extension attribute: who caused it, `user:<sub>` or `service:<client id>`
   * (see ./actor.ts); never a token. Absent when the producer runs without
   * authentication, and on events published before it existed.
   */
  readonly actor?: string;
  readonly data: EventData<T>;
}

/** Any event of the catalog; switch on `type` to narrow it. */
export type AnyEvent = { [T in EventType]: CloudEvent<T> }[EventType];
