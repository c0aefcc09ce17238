export { formatMoney, MONEY_PATTERN, parseMoney } from './money.js';
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
