import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EVENT_CATALOG } from './catalog.js';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  EventValidationError,
  parseEvent,
  parseKafkaEvent,
} from './codec.js';

const FIXTURES = new URL('../../fixtures/events/', import.meta.url);

async function fixture(type: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(new URL(`${type}.json`, FIXTURES), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** The fixture as another language's SDK sends it in binary mode. */
function binary(event: Record<string, unknown>): {
  value: Buffer;
  headers: Record<string, string>;
} {
  const { data, datacontenttype: _ct, ...attributes } = event;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(attributes)) headers[`ce_${name}`] = String(value);
  return { value: Buffer.from(JSON.stringify(data)), headers };
}

function rejection(value: Buffer | null, headers: Record<string, string>): EventValidationError {
  try {
    parseKafkaEvent(value, headers);
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  throw new Error('expected the record to be rejected');
}

describe('parseKafkaEvent reads both content modes of the CloudEvents Kafka binding', () => {
  it.each(Object.keys(EVENT_CATALOG))(
    'binary-mode %s is the same event as structured',
    async (type) => {
      const event = await fixture(type);
      const { value, headers } = binary(event);
      expect(parseKafkaEvent(value, headers)).toEqual(parseEvent(JSON.stringify(event)));
    },
  );

  it('reads structured mode with or without its content-type header', async () => {
    const event = await fixture('order.paid.v1');
    const value = Buffer.from(JSON.stringify(event));
    expect(parseKafkaEvent(value, { 'content-type': CLOUDEVENTS_CONTENT_TYPE })).toEqual(event);
    expect(parseKafkaEvent(value, {})).toEqual(event);
  });

  it('keeps extension attributes and accepts a charset on the content type', async () => {
    const { value, headers } = binary(await fixture('user.deactivated.v1'));
    const event = parseKafkaEvent(value, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      ce_partitionkey: 'k',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    }) as unknown as Record<string, unknown>;
    expect(event['partitionkey']).toBe('k');
    expect(event['traceparent']).toBeUndefined();
    expect(event['datacontenttype']).toBe('application/json');
  });

  it.each<[string, (h: Record<string, string>) => Record<string, string>, string, string]>([
    ['a missing id header', ({ ce_id: _id, ...h }) => h, 'envelope', 'ce_id'],
    ['a wrong specversion', (h) => ({ ...h, ce_specversion: '0.3' }), 'envelope', 'ce_specversion'],
    ['a time that is not RFC 3339', (h) => ({ ...h, ce_time: 'now' }), 'envelope', 'ce_time'],
    [
      'data that is not JSON',
      (h) => ({ ...h, 'content-type': 'text/plain' }),
      'envelope',
      'content-type',
    ],
    ['an unknown type', (h) => ({ ...h, ce_type: 'user.renamed.v1' }), 'unknown-type', 'type'],
  ])('refuses %s, naming the header', async (_label, change, problem, field) => {
    const { value, headers } = binary(await fixture('user.registered.v1'));
    const error = rejection(value, change(headers));
    expect([error.problem, error.field]).toEqual([problem, field]);
  });

  it('refuses bad data as it does in structured mode', async () => {
    const event = await fixture('user.registered.v1');
    const { headers } = binary(event);
    const data = { ...(event['data'] as object), email: 'not-an-email' };
    const error = rejection(Buffer.from(JSON.stringify(data)), headers);
    expect([error.problem, error.field]).toEqual(['data', 'data.email']);
    expect(rejection(Buffer.from([0xff, 0xfe]), headers).problem).toBe('not-json');
    expect(rejection(null, headers).problem).toBe('data');
  });
});
