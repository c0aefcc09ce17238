import { createRequire } from 'node:module';
import { credentials } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent, TOPICS } from '@comms/contracts';
import type { AnyEvent } from '@comms/contracts';
import { OrderServiceClient, OrderStatus } from '@comms/contracts/grpc';
import type { CreateOrderRequest, CreateOrderResponse } from '@comms/contracts/grpc';
import { createKafka } from '@comms/kafka';
import type { KafkaClient, KafkaConsumer } from '@comms/kafka';
import { createPool, migrate } from '@comms/postgres';
import type { Pool } from '@comms/postgres';
import type { HttpApp } from '@comms/service-kit';
import {
  createTestDatabase,
  startUserServiceProcess,
  testInfra,
  uniqueName,
  waitFor,
} from '@comms/testing';
import type { TestDatabase, TestUserService } from '@comms/testing';
import { startOrderService } from './main.js';
import { MIGRATIONS } from './migrations.js';
import { rebuildReadModel } from './projection.js';
import { startTestOrderService, testConfig } from './test-support.js';
import type { ValidationMode } from './user-validation.js';

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');

let ordersDb: TestDatabase;
let pool: Pool;
let kafka: KafkaClient;
let userService: TestUserService;
let readerUrl: string;
let consumer: KafkaConsumer;
const published: AnyEvent[] = [];

/** One order-service instance, in process, over the shared orders database. */
type Instance = Awaited<ReturnType<typeof startOrderService>>;
const instances: Instance[] = [];

// A generous deadline by default: a busy CI machine can stall a call for a
// second, and a breaker opened by stalls would fail unrelated tests. The
// user-service-down test sets the production deadline.
async function instance(mode: ValidationMode = 'grpc', timeoutMs = 5_000): Promise<Instance> {
  const created = await startTestOrderService({
    databaseUrl: ordersDb.url,
    userService,
    env: {
      USER_VALIDATION: mode,
      USERS_DATABASE_URL: readerUrl,
      USER_CALL_TIMEOUT_MS: String(timeoutMs),
    },
  });
  instances.push(created);
  return created;
}

beforeAll(async () => {
  const { databaseUrl, kafkaBrokers } = testInfra();
  ordersDb = await createTestDatabase('orders');
  // The read-only role of the shared-database style (cluster-wide, so maybe there already).
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(
    // Another package may create the role at the same moment on the shared server.
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'users_reader') THEN CREATE ROLE users_reader LOGIN PASSWORD 'users_reader'; END IF; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
  );
  await admin.end();
  // After the role: user-service's migration grants it the directory view when it exists.
  userService = await startUserServiceProcess({ entry: USER_SERVICE, database: 'order_users' });
  const reader = new URL(userService.db.url);
  reader.username = 'users_reader';
  reader.password = 'users_reader';
  readerUrl = reader.toString();

  pool = createPool({ url: ordersDb.url, max: 20 });
  await migrate(pool, MIGRATIONS);
  kafka = createKafka({
    brokers: kafkaBrokers.split(','),
    clientId: 'order-service-test',
    client: testInfra().kafkaClient,
  });
  const kafkaAdmin = await kafka.admin();
  await kafkaAdmin.ensureTopics([{ topic: TOPICS.orders, partitions: 3 }]);
  await kafkaAdmin.close();
  consumer = await kafka.consumer({ groupId: uniqueName('order-events'), topics: [TOPICS.orders] });
  await consumer.run((message) => {
    const event = parseEvent(message.value);
    expect(message.key).toBe(event.subject);
    published.push(event);
    return Promise.resolve();
  });
}, 90_000);

afterAll(async () => {
  expect(await Promise.all(instances.map((i) => i.stop()))).toEqual(instances.map(() => 0));
  await consumer.close();
  await userService.stop();
  await pool.end();
  await ordersDb.drop();
});

async function newUser(name = 'Ada Lovelace'): Promise<string> {
  return (await userService.register(name)).id;
}

const items = [
  { productId: 'book', quantity: 1, price: '19.99' },
  { productId: 'pen', quantity: 3, price: '0.10' },
];

function placeOrder(
  app: HttpApp,
  userId: string,
  headers: Record<string, string> = {},
  body?: unknown,
) {
  return app.inject({
    method: 'POST',
    url: '/orders',
    headers,
    payload: body ?? { userId, items },
  });
}

async function streamCount(): Promise<number> {
  return (
    (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM streams')).rows[0]?.n ?? 0
  );
}

describe.each<ValidationMode>(['grpc', 'rest', 'shared-db'])('validation over %s', (mode) => {
  let app: HttpApp;
  beforeAll(async () => {
    app = (await instance(mode)).app;
  });

  it('places an order for an active user with an exact total', async () => {
    const userId = await newUser('Mode User');
    const response = await placeOrder(app, userId);
    expect(response.statusCode).toBe(201);
    const created = response.json<{ orderId: string }>();
    expect(created).toMatchObject({
      status: 'CREATED',
      userName: 'Mode User',
      totalAmount: '20.29',
      version: 1,
    });
    const order = (
      await app.inject({ method: 'GET', url: `/orders/${created.orderId}` })
    ).json<unknown>();
    expect(order).toMatchObject({ userId, status: 'CREATED', items, totalAmount: '20.29' });
  });

  it('rejects an unknown user with 422 and stores nothing', async () => {
    const before = await streamCount();
    const response = await placeOrder(app, '00000000-0000-4000-8000-000000000000');
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({
      code: 'FAILED_PRECONDITION',
      detail: expect.stringMatching(/not found/) as unknown,
    });
    expect(await streamCount()).toBe(before);
  });

  it('rejects an inactive user', async () => {
    const userId = await newUser();
    await fetch(`${userService.httpUrl}/users/${userId}/deactivate`, { method: 'POST' });
    const response = await placeOrder(app, userId);
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: string }>().detail).toMatch(/inactive/);
  });
});

describe('shared-database role', () => {
  it('can read the user directory view but neither the users table nor write', async () => {
    const client = new pg.Client({ connectionString: readerUrl });
    await client.connect();
    try {
      await expect(client.query('SELECT count(*) FROM user_directory')).resolves.toBeDefined();
      await expect(client.query('SELECT email FROM users')).rejects.toThrow(/permission denied/);
      await expect(client.query("DELETE FROM user_directory WHERE name = 'x'")).rejects.toThrow(
        /permission denied/,
      );
    } finally {
      await client.end();
    }
  });
});

describe('REST commands and concurrency', () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = (await instance()).app;
  });

  it('pays and ships with If-Match, refuses a stale version with 409, and keeps the history', async () => {
    const orderId = (await placeOrder(app, await newUser())).json<{ orderId: string }>().orderId;
    const paid = await app.inject({
      method: 'POST',
      url: `/orders/${orderId}/pay`,
      headers: { 'if-match': '"1"' },
    });
    expect(paid.statusCode).toBe(200);
    expect(paid.headers['etag']).toBe('"2"');
    const stale = await app.inject({
      method: 'POST',
      url: `/orders/${orderId}/ship`,
      headers: { 'if-match': '"1"' },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'ABORTED' });
    const shipped = await app.inject({
      method: 'POST',
      url: `/orders/${orderId}/ship`,
      payload: { expectedVersion: 2 },
    });
    expect(shipped.json()).toMatchObject({ status: 'SHIPPED', version: 3 });
    const cancel = await app.inject({ method: 'POST', url: `/orders/${orderId}/cancel` });
    expect(cancel.statusCode).toBe(422);

    const history = (await app.inject({ method: 'GET', url: `/orders/${orderId}/events` })).json<{
      events: { version: number; type: string }[];
    }>();
    expect(history.events.map((e) => [e.version, e.type])).toEqual([
      [1, 'order.created.v1'],
      [2, 'order.paid.v1'],
      [3, 'order.shipped.v1'],
    ]);
  });

  it('lets exactly one of two concurrent commands on the same version win (no lost update)', async () => {
    const orderId = (await placeOrder(app, await newUser())).json<{ orderId: string }>().orderId;
    const [a, b] = await Promise.all([
      app.inject({ method: 'POST', url: `/orders/${orderId}/pay`, headers: { 'if-match': '1' } }),
      app.inject({
        method: 'POST',
        url: `/orders/${orderId}/cancel`,
        headers: { 'if-match': '1' },
      }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const events = (await app.inject({ method: 'GET', url: `/orders/${orderId}/events` })).json<{
      events: { type: string }[];
    }>();
    expect(events.events).toHaveLength(2);
    // The loser wrote nothing anywhere: the outbox holds the same two events,
    // and the read model shows the winner's.
    const queued = await pool.query<{ type: string }>(
      "SELECT payload::jsonb ->> 'type' AS type FROM outbox WHERE message_key = $1 ORDER BY id",
      [orderId],
    );
    expect(queued.rows.map((row) => row.type)).toEqual(events.events.map((event) => event.type));
    const winner = (a.statusCode === 200 ? a : b).json<{ status: string; version: number }>();
    const view = (await app.inject({ method: 'GET', url: `/orders/${orderId}` })).json<{
      status: string;
      version: number;
    }>();
    expect(view).toMatchObject({ status: winner.status, version: 2 });
  });

  it('replays an Idempotency-Key: same order, nothing new; a different body with the key is refused', async () => {
    const userId = await newUser();
    const key = uniqueName('idem');
    const before = await streamCount();
    const [first, second] = await Promise.all([
      placeOrder(app, userId, { 'idempotency-key': key }),
      placeOrder(app, userId, { 'idempotency-key': key }),
    ]);
    const third = await placeOrder(app, userId, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(third.json()).toEqual(first.json());
    expect(await streamCount()).toBe(before + 1);
    const other = await placeOrder(
      app,
      userId,
      { 'idempotency-key': key },
      { userId, items: [items[0]] },
    );
    expect(other.statusCode).toBe(422);
  });

  it.each<[string, unknown, RegExp]>([
    ['a float price', { items: [{ productId: 'a', quantity: 1, price: 19.99 }] }, /price/],
    ['three decimals', { items: [{ productId: 'a', quantity: 1, price: '1.999' }] }, /price/],
    [
      'a zero price',
      { items: [{ productId: 'a', quantity: 1, price: '0' }] },
      /price must be greater than 0/,
    ],
    ['a zero quantity', { items: [{ productId: 'a', quantity: 0, price: '1.00' }] }, /quantity/],
    ['no items', { items: [] }, /items/],
    ['a malformed user id', { userId: 'bob', items }, /userId/],
    ['an unknown field', { items, coupon: 'FREE' }, /coupon is not a known field/],
  ])('answers %s with 400 and stores nothing', async (_label, patch, detail) => {
    const before = await streamCount();
    const response = await placeOrder(
      app,
      '',
      {},
      { userId: '11111111-1111-4111-8111-111111111111', ...(patch as object) },
    );
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(detail);
    expect(await streamCount()).toBe(before);
  });

  it('rebuilds a read model identical to the live one', async () => {
    const result = await rebuildReadModel(pool);
    expect(result.orders).toBeGreaterThan(3);
    expect(result.differences).toBe(0);
  });
});

describe('gRPC order.v1.OrderService', () => {
  it('creates an order, reports REJECTED for an unknown user, and gets an order', async () => {
    const { grpc } = await instance();
    const client = new OrderServiceClient(grpc?.address ?? '', credentials.createInsecure());
    const create = (request: Partial<CreateOrderRequest>) =>
      new Promise<CreateOrderResponse>((resolve, reject) =>
        client.createOrder(
          { userId: '', items: [], idempotencyKey: '', ...request },
          (e: ServiceError | null, r) => (e ? reject(e) : resolve(r)),
        ),
      );
    const userId = await newUser('Grpc Buyer');
    const created = await create({ userId, items });
    expect(created).toMatchObject({
      status: OrderStatus.ORDER_STATUS_CREATED,
      userName: 'Grpc Buyer',
      totalAmount: '20.29',
    });
    const rejected = await create({ userId: '00000000-0000-4000-8000-000000000000', items });
    expect(rejected).toMatchObject({
      status: OrderStatus.ORDER_STATUS_REJECTED,
      orderId: '',
      errorMessage: expect.stringMatching(/not found/) as unknown,
    });
    await expect(
      create({ userId, items: [{ productId: 'a', quantity: 1, price: '1.234' }] }),
    ).rejects.toMatchObject({ code: 3 });
    const order = await new Promise<unknown>((resolve, reject) =>
      client.getOrder({ orderId: created.orderId }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    expect(order).toMatchObject({
      order: { orderId: created.orderId, status: OrderStatus.ORDER_STATUS_CREATED, version: 1 },
    });
    client.close();
  });
});

describe('events on the orders topic', () => {
  it('delivers every concurrently created order, valid, in stream order per order', async () => {
    const { app } = await instance();
    const userId = await newUser();
    const responses = await Promise.all(Array.from({ length: 40 }, () => placeOrder(app, userId)));
    const ids = responses.map((r) => r.json<{ orderId: string }>().orderId);
    expect(responses.filter((r) => r.statusCode !== 201).map((r) => r.body)).toEqual([]);
    expect(new Set(ids).size).toBe(40);
    await Promise.all(
      ids.slice(0, 10).map((id) => app.inject({ method: 'POST', url: `/orders/${id}/pay` })),
    );
    await waitFor(
      () => {
        const mine = published.filter((e) => ids.includes(e.subject));
        return mine.length >= 50 ? true : undefined;
      },
      { timeoutMs: 30_000, message: 'not every order event reached Kafka' },
    );
    for (const id of ids) {
      const types = published.filter((e) => e.subject === id).map((e) => e.type);
      expect(types).toEqual(
        ids.indexOf(id) < 10 ? ['order.created.v1', 'order.paid.v1'] : ['order.created.v1'],
      );
    }
  });

  it('with two instances side by side, publishes each stored event exactly once', async () => {
    const [one, two] = [await instance(), await instance()];
    const userId = await newUser();
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => placeOrder(i % 2 === 0 ? one.app : two.app, userId)),
    );
    const ids = created.map((r) => r.json<{ orderId: string }>().orderId);
    // Both instances race to pay every order: one wins per order, the other gets a conflict or "already paid".
    const results = await Promise.all(
      ids.flatMap((id) =>
        [one.app, two.app].map((app) => app.inject({ method: 'POST', url: `/orders/${id}/pay` })),
      ),
    );
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(20);
    expect(results.every((r) => [200, 409, 422].includes(r.statusCode))).toBe(true);
    const stored = await pool.query<{ event_id: string }>(
      'SELECT event_id FROM events WHERE stream_id = ANY($1::uuid[])',
      [ids],
    );
    expect(stored.rows).toHaveLength(40);
    await waitFor(
      () => (published.filter((e) => ids.includes(e.subject)).length >= 40 ? true : undefined),
      { timeoutMs: 30_000, message: 'events missing on Kafka' },
    );
    await waitFor(async () => ((await one.relay.backlog()).rows === 0 ? true : undefined));
    const mine = published.filter((e) => ids.includes(e.subject));
    expect(mine.map((e) => e.id).sort()).toEqual(stored.rows.map((r) => r.event_id).sort());
  });
});

describe('user-service down', () => {
  it('answers 503 fast without creating the order, then recovers by itself', async () => {
    const { app } = await instance('grpc', 300);
    const userId = await newUser();
    await userService.process.stop();
    try {
      const before = await streamCount();
      for (let i = 0; i < 8; i++) {
        const started = Date.now();
        const response = await placeOrder(app, userId);
        expect(response.statusCode).toBe(503);
        expect(response.headers['content-type']).toMatch(/problem\+json/);
        expect(Date.now() - started).toBeLessThan(1_500);
      }
      expect(await streamCount()).toBe(before);
    } finally {
      await userService.process.restart();
    }
    const recovered = await waitFor(
      async () => {
        const response = await placeOrder(app, userId);
        return response.statusCode === 201 ? response : undefined;
      },
      {
        timeoutMs: 45_000,
        intervalMs: 200,
        message: 'order creation did not recover after user-service returned',
      },
    );
    expect(recovered.json()).toMatchObject({ status: 'CREATED' });
  }, 120_000);
});

describe('several user-service instances', () => {
  it.each<ValidationMode>(['grpc', 'rest'])(
    'over %s, keeps accepting orders through the other when one is stopped',
    async (mode) => {
      const second = await startUserServiceProcess({
        entry: USER_SERVICE,
        database: userService.db,
      });
      try {
        // Both instances in the lists, the first first: a client that took
        // only the first address would lose user-service with it.
        const config = testConfig({
          databaseUrl: ordersDb.url,
          userService: {
            grpcAddress: `${userService.grpcAddress},${second.grpcAddress}`,
            httpUrl: `${userService.httpUrl},${second.httpUrl}`,
          },
          env: { USER_VALIDATION: mode, USER_CALL_TIMEOUT_MS: '2000' },
        });
        expect(config.userServiceGrpc).toHaveLength(2);
        const balanced = await startOrderService({ ...config, PORT: 0, GRPC_PORT: 0 });
        instances.push(balanced);
        const userId = await newUser();
        // Both instances serve: a few orders reach each.
        for (let i = 0; i < 4; i++)
          expect((await placeOrder(balanced.app, userId)).statusCode).toBe(201);
        await userService.process.stop();
        try {
          const answers: number[] = [];
          for (let i = 0; i < 10; i++)
            answers.push((await placeOrder(balanced.app, userId)).statusCode);
          expect(answers).toEqual(Array.from({ length: 10 }, () => 201));
        } finally {
          await userService.process.restart();
        }
      } finally {
        await second.stop();
      }
    },
    120_000,
  );
});

describe('POST /orders/:id/rebuild', () => {
  interface Rebuilt {
    repaired: boolean;
    before: Record<string, unknown> | null;
    after: Record<string, unknown>;
    differences: { field: string; before: unknown; after: unknown }[];
  }
  const rebuild = async (app: HttpApp, orderId: string) => {
    const response = await app.inject({ method: 'POST', url: `/orders/${orderId}/rebuild` });
    expect(response.statusCode).toBe(200);
    return response.json<Rebuilt>();
  };
  const eventCount = async (orderId: string) =>
    (
      await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM events WHERE stream_id = $1',
        [orderId],
      )
    ).rows[0]?.n ?? 0;

  it('finds no difference in a sound row, and repairs a corrupted or missing one from the events', async () => {
    const { app } = await instance();
    const userId = await newUser('Rebuild Buyer');
    const { orderId } = (await placeOrder(app, userId)).json<{ orderId: string }>();
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/orders/${orderId}/pay`,
          headers: { 'if-match': '"1"' },
        })
      ).statusCode,
    ).toBe(200);

    const sound = await rebuild(app, orderId);
    expect(sound).toMatchObject({ repaired: false, differences: [] });
    expect(sound.after).toMatchObject({ status: 'PAID', version: 2, totalAmount: '20.29' });
    expect(sound.before).toEqual(sound.after);

    // Someone edits the read model behind the events' back.
    await pool.query(
      "UPDATE orders_view SET status = 'CANCELLED', total_amount = '0.00' WHERE order_id = $1",
      [orderId],
    );
    expect(
      (await app.inject({ method: 'GET', url: `/orders/${orderId}` })).json<unknown>(),
    ).toMatchObject({ status: 'CANCELLED' });
    const corrupted = await rebuild(app, orderId);
    expect(corrupted.repaired).toBe(true);
    expect(corrupted.differences).toEqual([
      { field: 'status', before: 'CANCELLED', after: 'PAID' },
      { field: 'totalAmount', before: '0.00', after: '20.29' },
    ]);
    expect(
      (await app.inject({ method: 'GET', url: `/orders/${orderId}` })).json<unknown>(),
    ).toMatchObject({ status: 'PAID', totalAmount: '20.29', version: 2 });
    expect(await rebuild(app, orderId)).toMatchObject({ repaired: false, differences: [] });

    // A row lost altogether comes back, every field shown as new.
    await pool.query('DELETE FROM orders_view WHERE order_id = $1', [orderId]);
    const missing = await rebuild(app, orderId);
    expect(missing.before).toBeNull();
    expect(missing.differences.map((d) => d.field)).toEqual([
      'userId',
      'userName',
      'status',
      'items',
      'totalAmount',
      'version',
      'createdAt',
      'updatedAt',
    ]);
    expect(
      (await app.inject({ method: 'GET', url: `/orders/${orderId}` })).json<unknown>(),
    ).toEqual(sound.after);
    // The events are the truth: a rebuild never writes one.
    expect(await eventCount(orderId)).toBe(2);
  });

  it('answers 404 for an order with no stream, and 400 for a malformed id', async () => {
    const { app } = await instance();
    const unknown = await app.inject({
      method: 'POST',
      url: '/orders/00000000-0000-4000-8000-000000000000/rebuild',
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'NOT_FOUND' });
    const malformed = await app.inject({ method: 'POST', url: '/orders/nope/rebuild' });
    expect(malformed.statusCode).toBe(400);
  });
});
