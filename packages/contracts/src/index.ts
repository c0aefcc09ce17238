export { formatMoney, MONEY_PATTERN, parseMoney } from './money.js';
export {
  findUnstorableText,
  formatFieldPath,
  STORABLE_TEXT_PATTERN,
  Text,
  unstorableReason,
} from './text.js';
export type { UnstorableText } from './text.js';
export {
  CLOUDEVENTS_CONTENT_TYPE,
  createEvent,
  EVENT_CATALOG,
  EventValidationError,
  parseEvent,
  TOPICS,
  topicOf,
} from './events/index.js';
export type {
  AnyEvent,
  CloudEvent,
  CreateEventOptions,
  EventData,
  EventProblem,
  EventType,
} from './events/index.js';
