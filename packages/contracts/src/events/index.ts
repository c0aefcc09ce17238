export {
  ACTOR_ATTRIBUTE,
  ACTOR_PATTERN,
  formatActor,
  MAX_ACTOR_ID_LENGTH,
  parseActor,
} from './actor.js';
export type { Actor, ActorKind } from './actor.js';
export {
  CONSUMER_GROUPS,
  DLQ_HEADERS,
  EVENT_CATALOG,
  OrderCancelledV1,
  OrderCreatedV1,
  OrderPaidV1,
  OrderShippedV1,
  TOPIC_PARTITIONS,
  TOPICS,
  UserDeactivatedV1,
  UserRegisteredV1,
} from './catalog.js';
export type { AnyEvent, CloudEvent, EventData, EventType } from './catalog.js';
export {
  CLOUDEVENTS_CONTENT_TYPE,
  CLOUDEVENTS_HEADER_PREFIX,
  createEvent,
  EventEnvelope,
  EventValidationError,
  parseEvent,
  parseKafkaEvent,
  topicOf,
} from './codec.js';
export type { CreateEventOptions, EventProblem } from './codec.js';
