import { createRequire } from 'node:module';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInAsUser, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { TOPICS } from '@comms/contracts';
import { OrderServiceClient } from '@comms/contracts/grpc';
import type { CreateOrderResponse } from '@comms/contracts/grpc';
import { createPool } from '@comms/postgres';
import type { HttpApp } from '@comms/service-kit';
import { createTestDatabase, startUserServiceProcess, watchEvents } from '@comms/testing';
import type { TestDatabase, TestUserService, WatchedEvents } from '@comms/testing';
import type { startOrderService } from './main.js';
import { rebuildReadModel } from './projection.js';
import { startTestOrderService } from './test-support.js';

// Who caused each event, end to end: the token's subject is stored with the
// event, shown by GET /orders/:id/events and published as the CloudEvents
// `actor` attribute, read back off the real orders topic. One order-service
// runs with AUTH_ISSUER_URL set, one without, each on its own database.

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');

let issuer: RunningTokenIssuer;
let securedDb: TestDatabase;
let openDb: TestDatabase;
let userService: TestUserService;
let secured: Awaited<ReturnType<typeof startOrderService>>;
let open: Awaited<ReturnType<typeof startOrderService>>;
/** Every event on the orders topic, as its raw value and as parsed. */
let watched: WatchedEvents;
let userA: string;
let userB: string;
const tokens = { a: '', b: '', operator: '' };
/** The operator's `sub`, as the issuer put it in the token. */
let operatorSub: string;

const subjectOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub: string })
    .sub;

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random' });
  securedDb = await createTestDatabase('actor_orders');
  openDb = await createTestDatabase('actor_orders_open');
  userService = await startUserServiceProcess({ entry: USER_SERVICE, database: 'actor_users' });
  secured = await startTestOrderService({
    databaseUrl: securedDb.url,
    userService,
    env: { AUTH_ISSUER_URL: issuer.url },
  });
  open = await startTestOrderService({ databaseUrl: openDb.url, userService });

  watched = await watchEvents(TOPICS.orders, { partitions: 3 });

  userA = (await userService.register('Ada')).id;
  userB = (await userService.register('Brian')).id;
  tokens.a = (await signInAsUser({ issuerUrl: issuer.url, userId: userA })).accessToken;
  tokens.b = (await signInAsUser({ issuerUrl: issuer.url, userId: userB })).accessToken;
  tokens.operator = (await signInAsUser({ issuerUrl: issuer.url, userId: 'operator' })).accessToken;
  operatorSub = subjectOf(tokens.operator);
}, 90_000);

afterAll(async () => {
  await watched?.close();
  await secured?.stop();
  await open?.stop();
  await userService?.stop();
  await issuer?.stop();
  await securedDb?.drop();
  await openDb?.drop();
});

const items = [{ productId: 'book', quantity: 1, price: '19.99' }];
const bearer = (token: string | undefined): Record<string, string> =>
  token === undefined ? {} : { authorization: `Bearer ${token}` };

async function send(
  app: HttpApp,
  token: string | undefined,
  method: 'GET' | 'POST',
  url: string,
  payload?: object,
): Promise<unknown> {
  const response = await app.inject({
    method,
    url,
    headers: bearer(token),
    ...(payload === undefined ? {} : { payload }),
  });
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.json<unknown>();
}

async function place(app: HttpApp, token: string | undefined, userId: string): Promise<string> {
  const created = (await send(app, token, 'POST', '/orders', { userId, items })) as {
    orderId: string;
  };
  return created.orderId;
}

/** What GET /orders/:id/events says of each event: its type and who caused it. */
async function history(
  app: HttpApp,
  token: string | undefined,
  orderId: string,
): Promise<{ type: string; actor: string | null }[]> {
  const body = (await send(app, token, 'GET', `/orders/${orderId}/events`)) as {
    events: { type: string; actor: string | null }[];
  };
  return body.events.map((e) => ({ type: e.type, actor: e.actor }));
}

/** The order's events as they reached the orders topic, once `count` have. */
const onKafka = (orderId: string, count: number) => watched.ofSubject(orderId, count);

describe('with authentication on, each event records who caused it', () => {
  it('a user’s create and pay, the operator’s ship: stored, shown, and published as actor', async () => {
    const orderId = await place(secured.app, tokens.a, userA);
    await send(secured.app, tokens.a, 'POST', `/orders/${orderId}/pay`);
    await send(secured.app, tokens.operator, 'POST', `/orders/${orderId}/ship`);
    const expected = [
      { type: 'order.created.v1', actor: `user:${userA}` },
      { type: 'order.paid.v1', actor: `user:${userA}` },
      { type: 'order.shipped.v1', actor: `user:${operatorSub}` },
    ];
    // The owner and the operator see the same history.
    expect(await history(secured.app, tokens.a, orderId)).toEqual(expected);
    expect(await history(secured.app, tokens.operator, orderId)).toEqual(expected);

    const events = await onKafka(orderId, 3);
    expect(events.map((p) => ({ type: p.event.type, actor: p.event.actor }))).toEqual(expected);
    // Who, never how: no token travels with the event.
    for (const p of events) {
      for (const token of [tokens.a, tokens.operator]) {
        expect(p.value).not.toContain(token);
        expect(p.value).not.toContain(token.split('.')[2]);
      }
    }
  });

  it('another user’s create and cancel carry that user', async () => {
    const orderId = await place(secured.app, tokens.b, userB);
    await send(secured.app, tokens.b, 'POST', `/orders/${orderId}/cancel`, {
      reason: 'changed my mind',
    });
    const expected = [
      { type: 'order.created.v1', actor: `user:${userB}` },
      { type: 'order.cancelled.v1', actor: `user:${userB}` },
    ];
    expect(await history(secured.app, tokens.b, orderId)).toEqual(expected);
    const events = await onKafka(orderId, 2);
    expect(events.map((p) => ({ type: p.event.type, actor: p.event.actor }))).toEqual(expected);
  });

  it('an order created over gRPC with a token carries the same actor', async () => {
    const client = new OrderServiceClient(
      secured.grpc?.address ?? '',
      credentials.createInsecure(),
    );
    try {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${tokens.a}`);
      const created = await new Promise<CreateOrderResponse>((resolve, reject) =>
        client.createOrder(
          { userId: userA, items, idempotencyKey: '' },
          metadata,
          (e: ServiceError | null, r) => (e ? reject(e) : resolve(r)),
        ),
      );
      const expected = [{ type: 'order.created.v1', actor: `user:${userA}` }];
      expect(await history(secured.app, tokens.a, created.orderId)).toEqual(expected);
      const events = await onKafka(created.orderId, 1);
      expect(events.map((p) => ({ type: p.event.type, actor: p.event.actor }))).toEqual(expected);
    } finally {
      client.close();
    }
  });

  it('the read model rebuilt from the streams is identical: the actor is not part of an order', async () => {
    const orderId = await place(secured.app, tokens.a, userA);
    await send(secured.app, tokens.a, 'POST', `/orders/${orderId}/pay`);
    const rebuilt = (await send(
      secured.app,
      tokens.operator,
      'POST',
      `/orders/${orderId}/rebuild`,
    )) as { repaired: boolean; differences: unknown[] };
    expect(rebuilt).toMatchObject({ repaired: false, differences: [] });
    const pool = createPool({ url: securedDb.url, max: 2 });
    try {
      const whole = await rebuildReadModel(pool);
      expect(whole.orders).toBeGreaterThanOrEqual(4);
      expect(whole.differences).toBe(0);
    } finally {
      await pool.end();
    }
  });
});

describe('with authentication off (AUTH_ISSUER_URL unset), no event has an actor', () => {
  it('create, pay, ship and cancel: null in the history, no attribute on Kafka', async () => {
    const shipped = await place(open.app, undefined, userA);
    await send(open.app, undefined, 'POST', `/orders/${shipped}/pay`);
    await send(open.app, undefined, 'POST', `/orders/${shipped}/ship`);
    const cancelled = await place(open.app, undefined, userB);
    await send(open.app, undefined, 'POST', `/orders/${cancelled}/cancel`);
    expect(await history(open.app, undefined, shipped)).toEqual([
      { type: 'order.created.v1', actor: null },
      { type: 'order.paid.v1', actor: null },
      { type: 'order.shipped.v1', actor: null },
    ]);
    expect(await history(open.app, undefined, cancelled)).toEqual([
      { type: 'order.created.v1', actor: null },
      { type: 'order.cancelled.v1', actor: null },
    ]);
    const events = [...(await onKafka(shipped, 3)), ...(await onKafka(cancelled, 2))];
    expect(events).toHaveLength(5);
    for (const p of events)
      expect(Object.keys(JSON.parse(p.value) as object)).not.toContain('actor');
  });
});
