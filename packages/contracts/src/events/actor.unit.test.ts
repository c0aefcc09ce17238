import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { formatActor, parseActor } from './actor.js';
import { createEvent, EventValidationError, parseEvent, parseKafkaEvent } from './codec.js';

const FIXTURES = new URL('../../fixtures/events/', import.meta.url);

async function fixture(type: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(new URL(`${type}.json`, FIXTURES), 'utf8')) as Record<
    string,
    unknown
  >;
}

function rejection(parse: () => unknown): EventValidationError {
  try {
    parse();
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  throw new Error('expected the event to be rejected');
}

describe('the actor extension attribute', () => {
  it('formats and parses users and services', () => {
    expect(formatActor({ kind: 'user', id: '7b0c8b1e-3f5a-4d2e-9c1a-2f4e6b8d0a11' })).toBe(
      'user:7b0c8b1e-3f5a-4d2e-9c1a-2f4e6b8d0a11',
    );
    expect(formatActor({ kind: 'service', id: 'order-service' })).toBe('service:order-service');
    expect(parseActor('service:order-service')).toEqual({ kind: 'service', id: 'order-service' });
    // A client id may itself hold a colon: only the first one separates.
    expect(parseActor('user:a:b')).toEqual({ kind: 'user', id: 'a:b' });
  });

  it.each([
    ['no actor', undefined],
    ['an unknown kind', 'robot:r2'],
    ['no id', 'user:'],
    ['a token instead of an id', `user:${'x'.repeat(256)}`],
    ['text beyond ASCII', 'user:\u00e9'],
  ])('parses %s as no actor', (_label, text) => {
    expect(parseActor(text)).toBeUndefined();
  });

  it('refuses to format an id no consumer would accept', () => {
    expect(() => formatActor({ kind: 'user', id: '' })).toThrow(/1-255 printable ASCII/);
    expect(() => formatActor({ kind: 'user', id: 'x'.repeat(256) })).toThrow(/256 characters/);
  });

  it('is accepted on an event and optional: events published before it have none', async () => {
    const withActor = await fixture('order.created.v1');
    expect(parseEvent(withActor).actor).toBe('user:7b0c8b1e-3f5a-4d2e-9c1a-2f4e6b8d0a11');
    const { actor: _actor, ...without } = withActor;
    expect(parseEvent(without).actor).toBeUndefined();
  });

  it.each([
    ['an unknown kind', 'robot:r2'],
    ['a number', 7],
    ['no id', 'user:'],
  ])('an event whose actor is %s is refused, naming the attribute', async (_label, actor) => {
    const event = { ...(await fixture('order.paid.v1')), actor };
    const error = rejection(() => parseEvent(JSON.stringify(event)));
    expect([error.problem, error.field]).toEqual(['envelope', 'actor']);
  });

  it('is set by createEvent only when given', async () => {
    const { data } = await fixture('order.paid.v1');
    const options = {
      source: '/order-service',
      subject: 'c3d4e5f6-0718-4293-a4b5-c6d7e8f90a1b',
      data: data as never,
    };
    expect(createEvent('order.paid.v1', { ...options, actor: 'user:u1' }).actor).toBe('user:u1');
    expect('actor' in createEvent('order.paid.v1', options)).toBe(false);
    expect(() => createEvent('order.paid.v1', { ...options, actor: 'nobody' })).toThrow(/actor/);
  });

  it('travels as the ce_actor header in binary mode, and is checked there too', async () => {
    const { data, datacontenttype: _ct, actor, ...attributes } = await fixture('order.created.v1');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, value] of Object.entries(attributes)) headers[`ce_${name}`] = String(value);
    const value = Buffer.from(JSON.stringify(data));
    expect(parseKafkaEvent(value, headers).actor).toBeUndefined();
    expect(parseKafkaEvent(value, { ...headers, ce_actor: String(actor) }).actor).toBe(actor);
    const error = rejection(() => parseKafkaEvent(value, { ...headers, ce_actor: 'someone' }));
    expect([error.problem, error.field]).toEqual(['envelope', 'ce_actor']);
  });
});
