import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import {
  CONSUMER_GROUPS,
  DLQ_HEADERS,
  EVENT_CATALOG,
  TOPIC_PARTITIONS,
  TOPICS,
} from './catalog.js';
import type { EventType } from './catalog.js';
import { ACTOR_ATTRIBUTE } from './actor.js';
import { CLOUDEVENTS_CONTENT_TYPE, EventEnvelope } from './codec.js';

/**
 * docs/asyncapi.yaml, the topics' contract, built from the event catalog:
 * nothing in it is written by hand, so it cannot say something the code
 * does not do. `npx turbo run asyncapi --filter=@comms/contracts` writes it;
 * asyncapi.unit.test.ts fails when the committed file differs.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A schema as plain JSON: TypeBox's own markers are not enumerable and drop out. */
function plain(schema: unknown): { [key: string]: Json } {
  return JSON.parse(JSON.stringify(schema)) as { [key: string]: Json };
}

const KAFKA_BINDING_VERSION = '0.5.0';

const BINARY_MODE =
  'Accepts each message in structured mode (as documented) or in binary mode: the attributes as ce_* headers, content-type application/json, data as the value. Invalid messages go to notifications.dlq.';

/** W3C trace context, as the producers write it (version 00). */
const TRACEPARENT_PATTERN = '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$';

/** The record headers every producer of the system sets on an event. */
function eventHeaders(): Json {
  return {
    type: 'object',
    required: ['content-type'],
    properties: {
      'content-type': {
        type: 'string',
        const: CLOUDEVENTS_CONTENT_TYPE,
        description: 'Structured-mode CloudEvent: the value is the whole event as JSON.',
      },
      traceparent: {
        type: 'string',
        pattern: TRACEPARENT_PATTERN,
        description:
          "W3C trace context of the request that wrote the event (kept in the outbox row), so a consumer's work joins that trace. Set whenever the producer runs with tracing (the default).",
      },
      tracestate: { type: 'string', description: 'W3C trace state, when the trace has one.' },
      baggage: { type: 'string', description: 'W3C baggage, when the request carried some.' },
      [DLQ_HEADERS.redriven]: {
        type: 'string',
        pattern: '^[1-9][0-9]*$',
        description:
          'Only on an event sent back from notifications.dlq by the redrive: how many times it was.',
      },
    },
  };
}

/** Who sets `actor` on each topic's events, and when. */
const ACTORS = {
  [TOPICS.users]:
    'user-service sets it to the calling service, `service:<client id>` (the back office `service:tools`, the console `service:console`), on every event a caller with its own client-credentials token caused (REST or gRPC); absent when it runs without caller authentication (AUTH_ISSUER_URL unset).',
  [TOPICS.orders]:
    'order-service sets it on every event a caller with a token caused (REST or gRPC; an operator shipping is `user:<operator sub>`); absent when it runs without authentication (AUTH_ISSUER_URL unset).',
} as const;

/** Where each key of an event comes from, by topic. */
const AGGREGATE = {
  [TOPICS.users]: 'user',
  [TOPICS.orders]: 'order',
} as const;

/** `order.created.v1` -> `orderCreatedV1`: component keys may not contain dots. */
function messageId(type: string): string {
  return type
    .split('.')
    .map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('');
}

function fixture(type: EventType): Json {
  const url = new URL(`../../fixtures/events/${type}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Json;
}

function eventMessage(type: EventType): Json {
  const entry = EVENT_CATALOG[type];
  const aggregate = AGGREGATE[entry.topic];
  const envelope = plain(EventEnvelope);
  const properties = envelope['properties'] as { [key: string]: { [key: string]: Json } };
  return {
    name: type,
    title: type,
    summary: entry.summary,
    contentType: CLOUDEVENTS_CONTENT_TYPE,
    headers: eventHeaders(),
    payload: {
      ...envelope,
      description: `CloudEvents 1.0 in structured JSON mode. Unknown fields are allowed, in the envelope and in data.`,
      properties: {
        ...properties,
        id: { ...properties['id'], description: 'Unique per event; consumers deduplicate on it.' },
        source: { ...properties['source'], description: 'The publishing service.' },
        type: { type: 'string', const: type },
        subject: {
          ...properties['subject'],
          description: `The ${aggregate} id: the aggregate the event is about, and the Kafka key.`,
        },
        [ACTOR_ATTRIBUTE]: {
          ...properties[ACTOR_ATTRIBUTE],
          description: `CloudEvents extension attribute: who caused the event, \`user:<sub>\` for an end user (the token's subject) or \`service:<client id>\` for a service acting on its own client-credentials token. Never a token. Optional: absent when no authenticated caller caused it, and on events published before it existed; consumers accept events with and without it. In binary mode it is the \`ce_${ACTOR_ATTRIBUTE}\` header. ${ACTORS[entry.topic]}`,
        },
        data: plain(entry.data),
      },
    },
    bindings: {
      kafka: {
        key: { type: 'string', description: `The ${aggregate} id (the event's subject).` },
        bindingVersion: KAFKA_BINDING_VERSION,
      },
    },
    examples: [
      {
        name: 'fixture',
        summary: `packages/contracts/fixtures/events/${type}.json`,
        headers: {
          'content-type': CLOUDEVENTS_CONTENT_TYPE,
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        },
        payload: fixture(type),
      },
    ],
  };
}

function deadLetterMessage(): Json {
  const text = (description: string, extra: { [key: string]: Json } = {}): Json => ({
    type: 'string',
    ...extra,
    description,
  });
  return {
    name: 'dead-letter',
    title: 'A message notification-service could not handle',
    summary:
      'The original record of users or orders, key, value and headers unchanged, with dlq-* headers saying why and where from. `npm run redrive -w @comms/notification-service` sends it back.',
    headers: {
      type: 'object',
      required: [
        DLQ_HEADERS.error,
        DLQ_HEADERS.reason,
        DLQ_HEADERS.topic,
        DLQ_HEADERS.partition,
        DLQ_HEADERS.offset,
        DLQ_HEADERS.group,
        DLQ_HEADERS.at,
      ],
      properties: {
        [DLQ_HEADERS.error]: text(
          'Why, at most 2,000 characters: for an invalid message the problem first (not-json, envelope, unknown-type, data, too-large) and the field at fault.',
          { maxLength: 2000 },
        ),
        [DLQ_HEADERS.reason]: text(
          '`invalid`: never handled, not a valid event of a known type and version. `failed`: valid, but handling failed every attempt.',
          { enum: ['invalid', 'failed'] },
        ),
        [DLQ_HEADERS.topic]: text('The topic it was read from.'),
        [DLQ_HEADERS.partition]: text('Its partition there.', { pattern: '^[0-9]+$' }),
        [DLQ_HEADERS.offset]: text('Its offset there.', { pattern: '^[0-9]+$' }),
        [DLQ_HEADERS.group]: text('The consumer group that gave up on it.'),
        [DLQ_HEADERS.at]: text('When, RFC 3339.', { format: 'date-time' }),
        [DLQ_HEADERS.traceparent]: text(
          'The traceparent it arrived with; its own traceparent is that of the dead-lettering.',
          { pattern: TRACEPARENT_PATTERN },
        ),
        traceparent: text('W3C trace context of the consumer that dead-lettered it.', {
          pattern: TRACEPARENT_PATTERN,
        }),
      },
    },
    payload: {
      description:
        'The original value, byte for byte: usually a CloudEvent of the users or orders channel, but an invalid message is kept as it came (it may not be JSON at all).',
    },
    bindings: {
      kafka: {
        key: { type: 'string', description: 'The original key.' },
        bindingVersion: KAFKA_BINDING_VERSION,
      },
    },
  };
}

function eventTypesOn(topic: string): EventType[] {
  return (Object.keys(EVENT_CATALOG) as EventType[])
    .filter((type) => EVENT_CATALOG[type].topic === topic)
    .sort();
}

function messageRefs(channel: string, types: readonly EventType[]): Json {
  return types.map((type) => ({ $ref: `#/channels/${channel}/messages/${messageId(type)}` }));
}

/** The AsyncAPI 3.0 document of the system's topics, as a plain object. */
export function asyncApiDocument(): { [key: string]: Json } {
  const users = eventTypesOn(TOPICS.users);
  const orders = eventTypesOn(TOPICS.orders);
  const channelMessages = (types: readonly EventType[]) =>
    Object.fromEntries(
      types.map((type) => [messageId(type), { $ref: `#/components/messages/${messageId(type)}` }]),
    );
  const channel = (
    topic: string,
    partitions: number,
    description: string,
    messages: { [key: string]: Json },
  ): Json => ({
    address: topic,
    title: topic,
    description,
    messages,
    bindings: { kafka: { topic, partitions, bindingVersion: KAFKA_BINDING_VERSION } },
  });
  const group = {
    groupId: {
      type: 'string',
      const: CONSUMER_GROUPS.notificationService,
      description: 'Default of CONSUMER_GROUP.',
    },
    bindingVersion: KAFKA_BINDING_VERSION,
  };
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'comms-reference topics',
      version: '1.0.0',
      description: [
        'The Kafka topics of the system and every event type and version published on them.',
        'Generated from packages/contracts (src/events/catalog.ts); do not edit by hand.',
        '',
        'Events are CloudEvents 1.0 in structured JSON mode; `type` names the event and its version (`order.created.v1`).',
        'The Kafka key is the aggregate id, which is also `subject`, so events of one aggregate keep their order.',
        'Delivery is at-least-once: consumers deduplicate by `id`. A published version never changes',
        'in a way that breaks a consumer; a breaking change is a new version, published beside the old one.',
        'The services send structured mode; notification-service also accepts binary mode (as SDKs in other languages',
        'often send): every attribute as a `ce_<name>` header (`ce_specversion`, `ce_id`, `ce_source`, `ce_type`, `ce_time`,',
        '`ce_subject`, and `ce_actor` when the event has one), `content-type: application/json`, and `data` alone as the value.',
        'The `actor` extension attribute names who caused an event (`user:<sub>` or `service:<client id>`), never their token;',
        'it is optional, and absent on events from a producer running without authentication and on older events.',
        'Operations are tagged with the service that performs them.',
      ].join('\n'),
    },
    defaultContentType: CLOUDEVENTS_CONTENT_TYPE,
    channels: {
      users: channel(
        TOPICS.users,
        TOPIC_PARTITIONS.users,
        'User events, published by user-service through its outbox. Key: the user id.',
        channelMessages(users),
      ),
      orders: channel(
        TOPICS.orders,
        TOPIC_PARTITIONS.orders,
        'Order events, published by order-service from its event store. Key: the order id.',
        channelMessages(orders),
      ),
      notificationsDlq: channel(
        TOPICS.notificationsDlq,
        TOPIC_PARTITIONS.notificationsDlq,
        "notification-service's dead-letter topic: what it could not handle, kept for inspection and redrive.",
        { deadLetter: { $ref: '#/components/messages/deadLetter' } },
      ),
    },
    operations: {
      publishUserEvents: {
        action: 'send',
        channel: { $ref: '#/channels/users' },
        summary: 'user-service publishes user events.',
        tags: [{ name: 'user-service' }],
        messages: messageRefs('users', users),
      },
      publishOrderEvents: {
        action: 'send',
        channel: { $ref: '#/channels/orders' },
        summary: 'order-service publishes order events.',
        tags: [{ name: 'order-service' }],
        messages: messageRefs('orders', orders),
      },
      consumeUserEvents: {
        action: 'receive',
        channel: { $ref: '#/channels/users' },
        summary: 'notification-service keeps its contact replica and welcomes new users.',
        description: BINARY_MODE,
        tags: [{ name: 'notification-service' }],
        messages: messageRefs('users', users),
        bindings: { kafka: group },
      },
      consumeOrderEvents: {
        action: 'receive',
        channel: { $ref: '#/channels/orders' },
        summary: 'notification-service notifies the user of each step of an order.',
        description: BINARY_MODE,
        tags: [{ name: 'notification-service' }],
        messages: messageRefs('orders', orders),
        bindings: { kafka: group },
      },
      deadLetter: {
        action: 'send',
        channel: { $ref: '#/channels/notificationsDlq' },
        summary:
          'notification-service dead-letters what is invalid, or what failed every attempt, and moves on.',
        tags: [{ name: 'notification-service' }],
        messages: [{ $ref: '#/channels/notificationsDlq/messages/deadLetter' }],
      },
    },
    components: {
      messages: {
        ...Object.fromEntries(
          [...users, ...orders].map((type) => [messageId(type), eventMessage(type)]),
        ),
        deadLetter: deadLetterMessage(),
      },
    },
  };
}

/** The text of docs/asyncapi.yaml. */
export function renderAsyncApi(): string {
  return (
    '# Generated from packages/contracts by `npx turbo run asyncapi --filter=@comms/contracts`. Do not edit.\n' +
    stringify(asyncApiDocument(), {
      lineWidth: 0,
      blockQuote: 'literal',
      aliasDuplicateObjects: false,
    })
  );
}
