import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  MAX_CANCEL_REASON_LENGTH,
  MAX_PRODUCT_ID_LENGTH,
  MAX_PUBLISHED_PRODUCT_ID_LENGTH,
} from '../limits.js';
import { EVENT_CATALOG } from './catalog.js';
import { createEvent, EventValidationError, parseEvent, topicOf } from './codec.js';
import type { EventType } from './catalog.js';

const FIXTURES = new URL('../../fixtures/events/', import.meta.url);

async function fixture(type: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(new URL(`${type}.json`, FIXTURES), 'utf8')) as Record<
    string,
    unknown
  >;
}

function rejection(input: unknown): EventValidationError {
  try {
    parseEvent(input);
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  throw new Error('expected the event to be rejected');
}

describe('published event versions', () => {
  it('has a fixture for every event type and version in the catalog', async () => {
    const files = (await readdir(FIXTURES)).map((f) => f.replace(/\.json$/, ''));
    expect(files.sort()).toEqual(Object.keys(EVENT_CATALOG).sort());
  });

  it.each(Object.keys(EVENT_CATALOG))('still parses the %s fixture', async (type) => {
    const event = parseEvent(JSON.stringify(await fixture(type)));
    expect(event.type).toBe(type);
    expect(event.specversion).toBe('1.0');
  });
});

describe('parseEvent rejects invalid events with the field at fault', () => {
  it.each<[string, (e: Record<string, unknown>) => unknown, string, string]>([
    ['bytes that are not JSON', () => Buffer.from([0xff, 0x00, 0x7b]), 'not-json', ''],
    ['a JSON array', () => [], 'envelope', ''],
    ['a wrong specversion', (e) => ({ ...e, specversion: '0.3' }), 'envelope', 'specversion'],
    ['a missing id', ({ id: _id, ...e }) => e, 'envelope', 'id'],
    ['a time that is not RFC 3339', (e) => ({ ...e, time: 'yesterday' }), 'envelope', 'time'],
    ['an unknown type', (e) => ({ ...e, type: 'user.renamed.v1' }), 'unknown-type', 'type'],
    ['a future version', (e) => ({ ...e, type: 'user.registered.v9' }), 'unknown-type', 'type'],
    [
      'an email that is not one',
      (e) => ({ ...e, data: { ...(e['data'] as object), email: 'not-an-email' } }),
      'data',
      'data.email',
    ],
    [
      'a missing data field',
      (e) => {
        const { name: _name, ...data } = e['data'] as Record<string, unknown>;
        return { ...e, data };
      },
      'data',
      'data.name',
    ],
  ])('%s', async (_label, mutate, problem, field) => {
    const error = rejection(mutate(await fixture('user.registered.v1')));
    expect(error.problem).toBe(problem);
    expect(error.field).toBe(field);
    expect(error.message.length).toBeGreaterThan(field.length);
  });

  it('names the array element of a bad order line', async () => {
    const created = await fixture('order.created.v1');
    const data = created['data'] as { items: Record<string, unknown>[] };
    const error = rejection({
      ...created,
      data: { ...data, items: [data.items[0], { ...data.items[1], price: 3.5 }] },
    });
    expect(error.field).toBe('data.items[1].price');
  });

  it.each<[string, (e: Record<string, unknown>) => unknown, string, string, RegExp]>([
    [
      'NUL in a name',
      (e) => ({ ...e, data: { ...(e['data'] as object), name: 'a\u0000b' } }),
      'data',
      'data.name',
      /NUL \(U\+0000\)/,
    ],
    [
      'a lone surrogate in the subject',
      (e) => ({ ...e, subject: 'x\ud800' }),
      'envelope',
      'subject',
      /unpaired surrogate/,
    ],
    [
      'NUL in a field name of data',
      (e) => ({ ...e, data: { ...(e['data'] as object), 'x\u0000': 1 } }),
      'data',
      'data.x\\u0000',
      /field name/,
    ],
    [
      'NUL in a field it does not know',
      (e) => ({ ...e, extension: ['ok', 'a\u0000'] }),
      'envelope',
      'extension[1]',
      /NUL/,
    ],
  ])('refuses text PostgreSQL cannot store: %s', async (_label, mutate, problem, field, reason) => {
    const error = rejection(mutate(await fixture('user.registered.v1')));
    expect(error.problem).toBe(problem);
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
  });

  it('refuses bytes that are not UTF-8 instead of reading U+FFFD', async () => {
    const text = JSON.stringify(await fixture('user.registered.v1')).replace('Ada', 'A\u0001a');
    const bytes = Buffer.from(text);
    bytes[bytes.indexOf(1)] = 0xff;
    const error = rejection(bytes);
    expect(error.problem).toBe('not-json');
    expect(error.reason).toMatch(/not UTF-8/);
  });

  it('keeps accepting product ids as long as any order.created.v1 ever published, and no longer', async () => {
    const created = await fixture('order.created.v1');
    const data = created['data'] as { items: Record<string, unknown>[] };
    const withProductId = (productId: string) => ({
      ...created,
      data: { ...data, items: [{ ...data.items[0], productId }] },
    });
    expect(MAX_PUBLISHED_PRODUCT_ID_LENGTH).toBeGreaterThanOrEqual(MAX_PRODUCT_ID_LENGTH);
    const longest = 'p'.repeat(MAX_PUBLISHED_PRODUCT_ID_LENGTH);
    expect(parseEvent(withProductId(longest)).type).toBe('order.created.v1');
    expect(rejection(withProductId(`${longest}p`)).field).toBe('data.items[0].productId');
  });

  it('accepts a cancellation reason up to the one limit, and no longer', async () => {
    const cancelled = await fixture('order.cancelled.v1');
    const withReason = (reason: string) => ({
      ...cancelled,
      data: { ...(cancelled['data'] as object), reason },
    });
    const longest = 'r'.repeat(MAX_CANCEL_REASON_LENGTH);
    expect(parseEvent(withReason(longest)).type).toBe('order.cancelled.v1');
    expect(rejection(withReason(`${longest}r`)).field).toBe('data.reason');
  });

  it('accepts fields it does not know in data (additive changes do not break consumers)', async () => {
    const event = await fixture('order.shipped.v1');
    const data = { ...(event['data'] as object), carrier: 'parcel-co' };
    expect(parseEvent({ ...event, data }).type).toBe('order.shipped.v1');
  });
});

describe('createEvent', () => {
  it('builds a valid CloudEvent with a fresh id and the aggregate as subject', () => {
    const data = {
      userId: '7b0c8b1e-3f5a-4d2e-9c1a-2f4e6b8d0a11',
      deactivatedAt: '2026-02-01T12:00:00.000Z',
    };
    const a = createEvent('user.deactivated.v1', {
      source: '/user-service',
      subject: data.userId,
      data,
    });
    const b = createEvent('user.deactivated.v1', {
      source: '/user-service',
      subject: data.userId,
      data,
    });
    expect(a).toMatchObject({
      specversion: '1.0',
      type: 'user.deactivated.v1',
      subject: data.userId,
    });
    expect(a.id).not.toBe(b.id);
    expect(parseEvent(JSON.stringify(a))).toEqual(a);
  });

  it('refuses to build an event its consumers would reject', () => {
    expect(() =>
      createEvent('order.paid.v1', {
        source: '/order-service',
        subject: 'x',
        data: { orderId: 'x', userId: 'y', amount: '1', paidAt: 'now' },
      }),
    ).toThrow(/data\.orderId/);
  });

  it.each<[EventType, string]>([
    ['user.registered.v1', 'users'],
    ['order.cancelled.v1', 'orders'],
  ])('publishes %s to %s', (type, topic) => {
    expect(topicOf(type)).toBe(topic);
  });
});
