import { randomUUID } from 'node:crypto';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import type { Validator } from 'typebox/compile';
import { findUnstorableText, formatFieldPath, Text } from '../text.js';
import { ACTOR_PATTERN } from './actor.js';
import { EVENT_CATALOG } from './catalog.js';
import type { AnyEvent, CloudEvent, EventData, EventType } from './catalog.js';

/** Content type of a structured-mode CloudEvent, set as the Kafka `content-type` header. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

/** What is wrong with an event, so a consumer can dead-letter it with a reason. */
export type EventProblem = 'not-json' | 'envelope' | 'unknown-type' | 'data';

/**
 * An event that cannot be accepted. `field` names the offending field as a
 * path (`data.email`, `specversion`); `problem` says which check failed.
 */
export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  constructor(
    readonly problem: EventProblem,
    readonly field: string,
    readonly reason: string,
  ) {
    super(field === '' ? reason : `${field}: ${reason}`);
  }
}

/** The CloudEvents envelope every event has, whatever its type; `data` is checked by type. */
export const EventEnvelope = Type.Object({
  specversion: Type.Literal('1.0'),
  id: Text({ minLength: 1, maxLength: 200 }),
  source: Text({ minLength: 1, maxLength: 500 }),
  type: Type.String({ pattern: '^[a-z]+(\\.[a-z]+)+\\.v[0-9]+$' }),
  time: Type.String({ format: 'date-time' }),
  subject: Text({ minLength: 1, maxLength: 200 }),
  datacontenttype: Type.Optional(Type.Literal('application/json')),
  // An extension attribute (./actor.ts): optional, as events published before it have none.
  actor: Type.Optional(Type.String({ pattern: ACTOR_PATTERN })),
  data: Type.Object({}),
});

const envelope = Compile(EventEnvelope);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const dataValidators = new Map<string, Validator>(
  Object.entries(EVENT_CATALOG).map(([type, entry]) => [type, Compile(entry.data)]),
);

function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_CATALOG, type);
}

/** `/data/items/0/price` -> `data.items[0].price`. */
function fieldPath(prefix: string, pointer: string): string {
  const parts = pointer.split('/').filter((p) => p !== '');
  let path = prefix;
  for (const part of parts)
    path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  return path;
}

function firstError(
  validator: Validator,
  value: unknown,
  prefix: string,
  problem: EventProblem,
): never {
  const error = validator.Errors(value)[0];
  if (error === undefined) throw new EventValidationError(problem, prefix, 'is invalid');
  let field = fieldPath(prefix, error.instancePath);
  if (error.keyword === 'required') {
    const missing = (error.params as { requiredProperties?: string[] }).requiredProperties?.[0];
    if (missing !== undefined) field = field === '' ? missing : `${field}.${missing}`;
    throw new EventValidationError(problem, field, 'is required');
  }
  throw new EventValidationError(problem, field, error.message);
}

/** JSON text or bytes to a value; bytes must be UTF-8. */
function parseJson(input: string | Uint8Array): unknown {
  let text: string;
  try {
    // Strict: bytes that are not UTF-8 would otherwise turn into U+FFFD unnoticed.
    text = typeof input === 'string' ? input : utf8.decode(input);
  } catch {
    throw new EventValidationError('not-json', '', 'not JSON: the bytes are not UTF-8 text');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EventValidationError('not-json', '', `not JSON: ${(error as Error).message}`);
  }
}

/**
 * Parses and validates one event: bytes or text of a structured-mode
 * CloudEvent, or an already parsed object. Returns it typed by its `type`;
 * throws {@link EventValidationError} naming the field otherwise.
 */
export function parseEvent(input: unknown): AnyEvent {
  const value: unknown =
    typeof input === 'string' || input instanceof Uint8Array ? parseJson(input) : input;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EventValidationError('envelope', '', 'a CloudEvent must be a JSON object');
  }
  // Before the schemas, so the reason is plain and unknown fields are searched too.
  const unstorable = findUnstorableText(value);
  if (unstorable !== undefined) {
    const inData = unstorable.path[0] === 'data';
    throw new EventValidationError(
      inData ? 'data' : 'envelope',
      formatFieldPath('', unstorable.path),
      unstorable.reason,
    );
  }
  if (!envelope.Check(value)) firstError(envelope, value, '', 'envelope');
  const { type, data } = value as { type: string; data: unknown };
  if (!isEventType(type)) {
    throw new EventValidationError('unknown-type', 'type', `unknown event type '${type}'`);
  }
  const validator = dataValidators.get(type);
  if (validator !== undefined && !validator.Check(data))
    firstError(validator, data, 'data', 'data');
  return value as AnyEvent;
}

/** Options for {@link createEvent}. */
export interface CreateEventOptions<T extends EventType> {
  readonly source: string;
  readonly subject: string;
  readonly data: EventData<T>;
  /** Default: a new UUID. Pass a stable id to make a re-publish deduplicable. */
  readonly id?: string;
  /** Default: now. */
  readonly time?: Date | string;
  /** Who caused it, as `formatActor` writes it; default: no `actor` attribute. */
  readonly actor?: string;
}

/** Builds a CloudEvent of `type`, validating it before it can be published. */
export function createEvent<T extends EventType>(
  type: T,
  options: CreateEventOptions<T>,
): CloudEvent<T> {
  const time = options.time ?? new Date();
  const event = {
    specversion: '1.0',
    id: options.id ?? randomUUID(),
    source: options.source,
    type,
    time: typeof time === 'string' ? time : time.toISOString(),
    subject: options.subject,
    datacontenttype: 'application/json',
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    data: options.data,
  } as CloudEvent<T>;
  parseEvent(event);
  return event;
}

/** The Kafka topic an event type is published to. */
export function topicOf(type: EventType): string {
  return EVENT_CATALOG[type].topic;
}

/** Prefix of the Kafka headers that carry CloudEvents attributes in binary mode. */
export const CLOUDEVENTS_HEADER_PREFIX = 'ce_';

/**
 * Parses and validates one Kafka record as a CloudEvent, in either content
 * mode of the CloudEvents Kafka binding. Binary mode, when a `ce_specversion`
 * header is present: every attribute is a `ce_<name>` header, `content-type`
 * is `datacontenttype` (it must be JSON) and the value is `data`. Otherwise
 * structured mode (what the services send): the value is the whole event,
 * as {@link parseEvent} reads it. Either way the same checks apply; in
 * binary mode an envelope error names the header.
 */
export function parseKafkaEvent(
  value: Uint8Array | string | null,
  headers: Readonly<Record<string, string | undefined>>,
): AnyEvent {
  if (headers[`${CLOUDEVENTS_HEADER_PREFIX}specversion`] === undefined) return parseEvent(value);
  const contentType = headers['content-type'];
  const media = contentType?.split(';')[0]?.trim().toLowerCase();
  if (media !== undefined && media !== 'application/json')
    throw new EventValidationError(
      'envelope',
      'content-type',
      `binary-mode data must be application/json, got '${contentType}'`,
    );
  if (value === null)
    throw new EventValidationError(
      'data',
      'data',
      'a binary-mode event needs its data as the value',
    );
  const event: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(headers)) {
    if (name.startsWith(CLOUDEVENTS_HEADER_PREFIX) && text !== undefined)
      event[name.slice(CLOUDEVENTS_HEADER_PREFIX.length)] = text;
  }
  if (media !== undefined) event['datacontenttype'] = 'application/json';
  event['data'] = parseJson(value);
  try {
    return parseEvent(event);
  } catch (error) {
    if (!(error instanceof EventValidationError) || error.problem !== 'envelope') throw error;
    const header =
      error.field === 'datacontenttype'
        ? 'content-type'
        : `${CLOUDEVENTS_HEADER_PREFIX}${error.field.split('.')[0] ?? ''}`;
    throw new EventValidationError('envelope', header, error.reason);
  }
}
