import { createRequire } from 'node:module';
import { generateKeyPairSync, sign } from 'node:crypto';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInAsUser, startTokenIssuer, tokenForClient } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { OrderServiceClient, OrderStatus } from '@comms/contracts/grpc';
import type { CreateOrderResponse } from '@comms/contracts/grpc';
import type { HttpApp } from '@comms/service-kit';
import { createTestDatabase, startUserServiceProcess } from '@comms/testing';
import type { TestDatabase, TestUserService } from '@comms/testing';
import type { startOrderService } from './main.js';
import { startTestOrderService } from './test-support.js';

// order-service with AUTH_ISSUER_URL set, against the real issuer, PostgreSQL, Kafka and user-service.

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');

let issuer: RunningTokenIssuer;
let ordersDb: TestDatabase;
let userService: TestUserService;
let service: Awaited<ReturnType<typeof startOrderService>>;
let app: HttpApp;
let userA: string;
let userB: string;
const tokens: Record<'a' | 'b' | 'operator' | 'console' | 'toUsers', string> = {
  a: '',
  b: '',
  operator: '',
  console: '',
  toUsers: '',
};

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random' });
  ordersDb = await createTestDatabase('auth_orders');
  userService = await startUserServiceProcess({ entry: USER_SERVICE, database: 'auth_users' });
  service = await startTestOrderService({
    databaseUrl: ordersDb.url,
    userService,
    env: { AUTH_ISSUER_URL: issuer.url },
  });
  app = service.app;
  userA = (await userService.register('Ada')).id;
  userB = (await userService.register('Brian')).id;
  tokens.a = (await signInAsUser({ issuerUrl: issuer.url, userId: userA })).accessToken;
  tokens.b = (await signInAsUser({ issuerUrl: issuer.url, userId: userB })).accessToken;
  tokens.operator = (await signInAsUser({ issuerUrl: issuer.url, userId: 'operator' })).accessToken;
  const clientToken = async (clientId: string, api: 'order-service' | 'user-service') =>
    (await tokenForClient({ issuerUrl: issuer.url, clientId, api })).accessToken;
  tokens.console = await clientToken('console', 'order-service');
  tokens.toUsers = await clientToken('order-service', 'user-service');
}, 90_000);

afterAll(async () => {
  await service?.stop();
  await userService?.stop();
  await issuer?.stop();
  await ordersDb?.drop();
});

const items = [{ productId: 'book', quantity: 1, price: '19.99' }];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function streamCount(): Promise<number> {
  const client = new pg.Client({ connectionString: ordersDb.url });
  await client.connect();
  try {
    return (
      (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM streams')).rows[0]?.n ?? 0
    );
  } finally {
    await client.end();
  }
}

async function placeOrder(token: string, userId: string): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: bearer(token),
    payload: { userId, items },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ orderId: string }>().orderId;
}

/** Forged from user A's real token, the way an attacker would. */
const forged = {
  algNone: () => {
    const [header = '', payload = ''] = tokens.a.split('.');
    const h = JSON.parse(Buffer.from(header, 'base64url').toString()) as object;
    return `${Buffer.from(JSON.stringify({ ...h, alg: 'none' })).toString('base64url')}.${payload}.`;
  },
  tampered: () => {
    const [header, payload = '', signature] = tokens.a.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as object;
    const changed = Buffer.from(JSON.stringify({ ...claims, sub: userB })).toString('base64url');
    return `${header}.${changed}.${signature}`;
  },
  unknownKid: () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const header = Buffer.from(
      JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'attacker' }),
    ).toString('base64url');
    const input = `${header}.${tokens.a.split('.')[1] ?? ''}`;
    return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  },
};

describe('order-service REST with end-user authentication (AUTH_ISSUER_URL set)', () => {
  it('places, reads, lists and pays a user’s own order with their token; the operator ships and reads it', async () => {
    const orderId = await placeOrder(tokens.a, userA);
    const read = await app.inject({ url: `/orders/${orderId}`, headers: bearer(tokens.a) });
    expect(read.json()).toMatchObject({ orderId, userId: userA, status: 'CREATED' });
    const list = await app.inject({ url: `/orders?userId=${userA}`, headers: bearer(tokens.a) });
    expect(list.json<{ items: unknown[] }>().items).toHaveLength(1);
    const paid = await app.inject({
      method: 'POST',
      url: `/orders/${orderId}/pay`,
      headers: bearer(tokens.a),
    });
    expect(paid.json()).toMatchObject({ status: 'PAID' });
    const shipped = await app.inject({
      method: 'POST',
      url: `/orders/${orderId}/ship`,
      headers: bearer(tokens.operator),
    });
    expect(shipped.json()).toMatchObject({ status: 'SHIPPED' });
    const events = await app.inject({
      url: `/orders/${orderId}/events`,
      headers: bearer(tokens.operator),
    });
    expect(events.json<{ events: { type: string }[] }>().events.map((e) => e.type)).toEqual([
      'order.created.v1',
      'order.paid.v1',
      'order.shipped.v1',
    ]);
  });

  it('leaves the health and docs routes open', async () => {
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/docs/json' })).statusCode).toBe(200);
  });

  it('says so in its OpenAPI document: every /orders operation needs the bearer token, with 401 and 403', async () => {
    const document = (await app.inject({ url: '/docs/json' })).json<{
      components: { securitySchemes: Record<string, Record<string, string>> };
      paths: Record<
        string,
        Record<string, { security?: unknown; responses: Record<string, unknown> }>
      >;
    }>();
    expect(document.components.securitySchemes['bearerAuth']).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        at: `${method} ${path}`,
        operation,
      })),
    );
    // All eight: placing, listing, reading, its events, rebuild, pay, cancel, ship.
    expect(operations.map((o) => o.at).filter((at) => at.includes(' /orders'))).toHaveLength(8);
    for (const { at, operation } of operations) {
      // On, the token is required: no empty alternative beside the scheme.
      expect(operation.security, at).toEqual([{ bearerAuth: [] }]);
      expect(Object.keys(operation.responses), at).toEqual(expect.arrayContaining(['401', '403']));
    }
  });

  interface Refused {
    readonly name: string;
    readonly method?: 'GET' | 'POST';
    /** The path, given user A's order and user B's order. */
    readonly url: (own: string, other: string) => string;
    readonly token: () => string | undefined;
    readonly body?: () => unknown;
    readonly status: 401 | 403;
    readonly challenge: RegExp;
    readonly detail: RegExp;
  }

  /** What user A hears for an order that is not theirs: the same as for an id that names none. */
  const notTheirs = (permission: string, who: string) =>
    new RegExp(
      `^permission '${permission}' is for ${who}; user '[^']+' has no order '[0-9a-f-]{36}'$`,
    );
  const OWNER_OR_OPERATOR = "the order's owner or the role 'operator'";

  const refusals: readonly Refused[] = [
    {
      name: 'no token',
      method: 'POST',
      url: () => '/orders',
      token: () => undefined,
      body: () => ({ userId: userA, items }),
      status: 401,
      challenge: /^Bearer realm="order-service"$/,
      detail: /needs a bearer access token/,
    },
    {
      name: 'a token for another audience',
      method: 'POST',
      url: () => '/orders',
      token: () => tokens.toUsers,
      body: () => ({ userId: userA, items }),
      status: 401,
      challenge: /error="invalid_token", error_description="the access token is for/,
      detail: /expected "urn:comms:order-service"/,
    },
    {
      name: 'alg none',
      method: 'POST',
      url: () => '/orders',
      token: forged.algNone,
      body: () => ({ userId: userA, items }),
      status: 401,
      challenge: /error="invalid_token"/,
      detail: /signed with "none"/,
    },
    {
      name: 'a tampered payload (sub changed to user B)',
      method: 'POST',
      url: () => '/orders',
      token: forged.tampered,
      body: () => ({ userId: userB, items }),
      status: 401,
      challenge: /error="invalid_token"/,
      detail: /signature does not verify/,
    },
    {
      name: 'an unknown kid',
      url: (own) => `/orders/${own}`,
      token: forged.unknownKid,
      status: 401,
      challenge: /error="invalid_token"/,
      detail: /kid "attacker"/,
    },
    {
      name: 'a service token used as a user’s',
      method: 'POST',
      url: () => '/orders',
      token: () => tokens.console,
      body: () => ({ userId: userA, items }),
      status: 403,
      challenge: /error="insufficient_scope"/,
      detail: /permission 'orders:create' needs an end user's token; client 'console'/,
    },
    {
      name: 'user A placing an order in user B’s name',
      method: 'POST',
      url: () => '/orders',
      token: () => tokens.a,
      body: () => ({ userId: userB, items }),
      status: 403,
      challenge: /error="insufficient_scope"/,
      detail: /permission 'orders:create' is for one's own orders/,
    },
    {
      name: 'user A reading user B’s order',
      url: (_own, other) => `/orders/${other}`,
      token: () => tokens.a,
      status: 403,
      challenge: /error="insufficient_scope"/,
      detail: notTheirs('orders:read', OWNER_OR_OPERATOR),
    },
    {
      name: 'user A reading user B’s events',
      url: (_own, other) => `/orders/${other}/events`,
      token: () => tokens.a,
      status: 403,
      challenge: /error="insufficient_scope"/,
      detail: notTheirs('orders:read', OWNER_OR_OPERATOR),
    },
    {
      name: 'user A listing user B’s orders',
      url: () => `/orders?userId=${userB}`,
      token: () => tokens.a,
      status: 403,
      challenge: /insufficient_scope/,
      detail: /permission 'orders:read' is for the orders' owner or the role 'operator'/,
    },
    {
      name: 'user A paying user B’s order',
      method: 'POST',
      url: (_own, other) => `/orders/${other}/pay`,
      token: () => tokens.a,
      status: 403,
      challenge: /error="insufficient_scope"/,
      detail: notTheirs('orders:pay', "the order's owner"),
    },
    {
      name: 'user A cancelling user B’s order',
      method: 'POST',
      url: (_own, other) => `/orders/${other}/cancel`,
      token: () => tokens.a,
      status: 403,
      challenge: /error="insufficient_scope"/,
      detail: notTheirs('orders:cancel', "the order's owner"),
    },
    {
      name: 'the operator paying someone’s order',
      method: 'POST',
      url: (own) => `/orders/${own}/pay`,
      token: () => tokens.operator,
      status: 403,
      challenge: /insufficient_scope/,
      detail: /permission 'orders:pay' is for the order's owner/,
    },
    {
      name: 'a user shipping their own order',
      method: 'POST',
      url: (own) => `/orders/${own}/ship`,
      token: () => tokens.a,
      status: 403,
      challenge: /insufficient_scope/,
      detail: /permission 'orders:ship' needs the role 'operator'/,
    },
    {
      name: 'a user rebuilding a read-model row',
      method: 'POST',
      url: (own) => `/orders/${own}/rebuild`,
      token: () => tokens.a,
      status: 403,
      challenge: /insufficient_scope/,
      detail: /permission 'orders:rebuild' needs the role 'operator'/,
    },
  ];

  describe('refusals, which leave no trace in the data', () => {
    let own: string;
    let other: string;
    beforeAll(async () => {
      own = await placeOrder(tokens.a, userA);
      other = await placeOrder(tokens.b, userB);
    });

    it.each(refusals)('$name: $status', async (refusal) => {
      const streams = await streamCount();
      const versions = await Promise.all(
        [own, other].map(
          async (id) =>
            (await app.inject({ url: `/orders/${id}`, headers: bearer(tokens.operator) })).json<{
              version: number;
            }>().version,
        ),
      );
      const token = refusal.token();
      const response = await app.inject({
        method: refusal.method ?? 'GET',
        url: refusal.url(own, other),
        headers: token === undefined ? {} : bearer(token),
        ...(refusal.body === undefined ? {} : { payload: refusal.body() as object }),
      });
      expect(response.statusCode, response.body).toBe(refusal.status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['www-authenticate']).toMatch(refusal.challenge);
      expect(response.json<{ detail: string }>().detail).toMatch(refusal.detail);
      expect(await streamCount()).toBe(streams);
      const after = await Promise.all(
        [own, other].map(
          async (id) =>
            (await app.inject({ url: `/orders/${id}`, headers: bearer(tokens.operator) })).json<{
              version: number;
            }>().version,
        ),
      );
      expect(after).toEqual(versions);
    });
  });

  // Review finding: a non-owner got 403 for an order that exists and 404 for
  // one that does not, so trying ids told them which orders exist. Whatever
  // the caller may not touch must answer exactly as an unknown id does: 403,
  // in the same words.
  describe('a caller who may not touch an order learns nothing of whether it exists', () => {
    let other: string;
    beforeAll(async () => {
      other = await placeOrder(tokens.b, userB);
    });

    const answer = async (
      method: 'GET' | 'POST',
      path: string,
      token: string,
      orderId: string,
    ): Promise<unknown> => {
      const response = await app.inject({
        method,
        url: path.replace(':id', orderId),
        headers: bearer(token),
      });
      // Everything the caller sees, with the id they sent put back as ':id'.
      return JSON.parse(
        JSON.stringify({
          status: response.statusCode,
          contentType: response.headers['content-type'],
          challenge: response.headers['www-authenticate'] ?? null,
          body: response.json<unknown>(),
        }).replaceAll(orderId, ':id'),
      ) as unknown;
    };

    it.each([
      { who: 'user A', token: () => tokens.a, method: 'GET', path: '/orders/:id', status: 403 },
      {
        who: 'user A',
        token: () => tokens.a,
        method: 'GET',
        path: '/orders/:id/events',
        status: 403,
      },
      {
        who: 'user A',
        token: () => tokens.a,
        method: 'POST',
        path: '/orders/:id/pay',
        status: 403,
      },
      {
        who: 'user A',
        token: () => tokens.a,
        method: 'POST',
        path: '/orders/:id/cancel',
        status: 403,
      },
      {
        who: 'user A',
        token: () => tokens.a,
        method: 'POST',
        path: '/orders/:id/ship',
        status: 403,
      },
      {
        who: 'a service',
        token: () => tokens.console,
        method: 'GET',
        path: '/orders/:id',
        status: 403,
      },
      {
        who: 'a service',
        token: () => tokens.console,
        method: 'POST',
        path: '/orders/:id/pay',
        status: 403,
      },
    ] as const)(
      '$who: $method $path answers $status for user B’s order and for an unknown id alike',
      async ({ token, method, path, status: expected }) => {
        const unknown = crypto.randomUUID();
        const existing = await answer(method, path, token(), other);
        expect(existing).toMatchObject({ status: expected });
        expect(existing).toEqual(await answer(method, path, token(), unknown));
      },
    );

    it('while the owner and the operator still see the order', async () => {
      expect(await answer('GET', '/orders/:id', tokens.b, other)).toMatchObject({ status: 200 });
      expect(await answer('GET', '/orders/:id/events', tokens.operator, other)).toMatchObject({
        status: 200,
      });
    });

    it.each([
      ['GET', '/orders/:id'],
      ['GET', '/orders/:id/events'],
      ['POST', '/orders/:id/pay'],
      ['POST', '/orders/:id/ship'],
    ] as const)(
      'and only the operator is told %s %s names no order (404)',
      async (method, path) => {
        expect(await answer(method, path, tokens.operator, crypto.randomUUID())).toMatchObject({
          status: 404,
          body: { detail: 'order :id not found' },
        });
      },
    );
  });
});

describe('order-service gRPC with end-user authentication (AUTH_ISSUER_URL set)', () => {
  let client: OrderServiceClient;
  beforeAll(() => {
    client = new OrderServiceClient(service.grpc?.address ?? '', credentials.createInsecure());
  });
  afterAll(() => client?.close());

  const metadata = (token: string | undefined) => {
    const m = new Metadata();
    if (token !== undefined) m.set('authorization', `Bearer ${token}`);
    return m;
  };
  const create = (token: string | undefined, userId: string) =>
    new Promise<CreateOrderResponse>((resolve, reject) =>
      client.createOrder(
        { userId, items, idempotencyKey: '' },
        metadata(token),
        (e: ServiceError | null, r) => (e ? reject(e) : resolve(r)),
      ),
    );
  const get = (token: string | undefined, orderId: string) =>
    new Promise<unknown>((resolve, reject) =>
      client.getOrder({ orderId }, metadata(token), (e: ServiceError | null, r) =>
        e ? reject(e) : resolve(r),
      ),
    );

  it('creates and gets a user’s own order with their token', async () => {
    const created = await create(tokens.a, userA);
    expect(created.status).toBe(OrderStatus.ORDER_STATUS_CREATED);
    await expect(get(tokens.a, created.orderId)).resolves.toMatchObject({
      order: { orderId: created.orderId, userId: userA },
    });
    await expect(get(tokens.operator, created.orderId)).resolves.toMatchObject({
      order: { userId: userA },
    });
  });

  it.each([
    {
      name: 'no token',
      token: () => undefined,
      code: status.UNAUTHENTICATED,
      detail: /needs a bearer/,
    },
    {
      name: 'another audience',
      token: () => tokens.toUsers,
      code: status.UNAUTHENTICATED,
      detail: /expected "urn:comms:order-service"/,
    },
    {
      name: 'alg none',
      token: forged.algNone,
      code: status.UNAUTHENTICATED,
      detail: /signed with "none"/,
    },
    {
      name: 'tampered payload',
      token: forged.tampered,
      code: status.UNAUTHENTICATED,
      detail: /signature does not verify/,
    },
    {
      name: 'a service token',
      token: () => tokens.console,
      code: status.PERMISSION_DENIED,
      detail: /needs an end user's token/,
    },
    {
      name: 'user A ordering as user B',
      token: () => tokens.a,
      code: status.PERMISSION_DENIED,
      detail: /'orders:create' is for one's own orders/,
    },
  ])('CreateOrder refuses $name and stores nothing', async ({ token, code, detail }) => {
    const streams = await streamCount();
    await expect(create(token(), userB)).rejects.toMatchObject({
      code,
      details: expect.stringMatching(detail) as unknown,
    });
    expect(await streamCount()).toBe(streams);
  });

  it('CreateOrder checks who calls, then the request, then the permission: an empty request is INVALID_ARGUMENT, as over REST', async () => {
    const empty = () =>
      new Promise<CreateOrderResponse>((resolve, reject) =>
        client.createOrder(
          { userId: '', items: [], idempotencyKey: '' },
          metadata(tokens.a),
          (e: ServiceError | null, r) => (e ? reject(e) : resolve(r)),
        ),
      );
    await expect(empty()).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringMatching(/userId must be a UUID/) as unknown,
    });
    await expect(create(undefined, '')).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it('GetOrder refuses user A on user B’s order PERMISSION_DENIED, and a call without a token', async () => {
    const other = await create(tokens.b, userB);
    await expect(get(tokens.a, other.orderId)).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: `permission 'orders:read' is for the order's owner or the role 'operator'; user '${userA}' has no order '${other.orderId}'`,
    });
    await expect(get(undefined, other.orderId)).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
    });
  });
  it('GetOrder answers user A the same for user B’s order and for an unknown id', async () => {
    const other = await create(tokens.b, userB);
    const unknown = crypto.randomUUID();
    const refusal = async (orderId: string) => {
      const error = (await get(tokens.a, orderId).then(
        () => undefined,
        (e: unknown) => e,
      )) as ServiceError | undefined;
      return { code: error?.code, details: error?.details.replaceAll(orderId, ':id') };
    };
    const existing = await refusal(other.orderId);
    expect(existing).toEqual({
      code: status.PERMISSION_DENIED,
      details: `permission 'orders:read' is for the order's owner or the role 'operator'; user '${userA}' has no order ':id'`,
    });
    expect(existing).toEqual(await refusal(unknown));
  });
});
