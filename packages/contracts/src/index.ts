export { AppError } from './errors.js';
export type { Code, FieldViolation } from './errors.js';
export {
  MAX_CANCEL_REASON_LENGTH,
  MAX_ITEM_PRICE_MINOR,
  MAX_ITEM_QUANTITY,
  MAX_ORDER_ITEMS,
  MAX_PRODUCT_ID_LENGTH,
  MAX_PUBLISHED_PRODUCT_ID_LENGTH,
} from './limits.js';
export { formatMoney, ITEM_PRICE_PATTERN, MONEY_PATTERN, parseMoney } from './money.js';
export {
  findUnstorableText,
  formatFieldPath,
  NON_BLANK_PATTERN,
  NonBlankText,
  STORABLE_TEXT_PATTERN,
  Text,
  unstorableReason,
} from './text.js';
export type { UnstorableText } from './text.js';
export {
  ACTOR_ATTRIBUTE,
  ACTOR_PATTERN,
  CLOUDEVENTS_CONTENT_TYPE,
  CLOUDEVENTS_HEADER_PREFIX,
  CONSUMER_GROUPS,
  createEvent,
  DLQ_HEADERS,
  EVENT_CATALOG,
  EventValidationError,
  formatActor,
  MAX_ACTOR_ID_LENGTH,
  parseActor,
  parseEvent,
  parseKafkaEvent,
  TOPIC_PARTITIONS,
  TOPICS,
  topicOf,
} from './events/index.js';
export type {
  Actor,
  ActorKind,
  AnyEvent,
  CloudEvent,
  CreateEventOptions,
  EventData,
  EventProblem,
  EventType,
} from './events/index.js';
