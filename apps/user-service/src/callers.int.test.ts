import { credentials, Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserServiceClient } from '@comms/contracts/grpc';
import { startTokenIssuer, tokenForClient } from '@comms/infra';
import type { ResourceName } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { createPool } from '@comms/postgres';
import type { Pool } from '@comms/postgres';
import type { HttpApp } from '@comms/service-kit';
import { createTestDatabase, testInfra, uniqueName } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { loadConfig } from './config.js';
import { startUserService } from './main.js';

// Service identity with permissions: user-service with AUTH_ISSUER_URL set and the default
// AUTH_CALLERS (order-service and notification-service read; the console and the tools read and write),
// against the real issuer, PostgreSQL and Kafka.

let issuer: RunningTokenIssuer;
let db: TestDatabase;
let pool: Pool;
let service: Awaited<ReturnType<typeof startUserService>>;
let app: HttpApp;
let grpc: UserServiceClient;
const tokens: Record<'console' | 'orders' | 'notifications' | 'otherAudience', string> = {
  console: '',
  orders: '',
  notifications: '',
  otherAudience: '',
};

beforeAll(async () => {
  const { kafkaBrokers, kafkaClient } = testInfra();
  issuer = await startTokenIssuer({ port: 'random' });
  db = await createTestDatabase('user_callers');
  pool = createPool({ url: db.url, max: 2 });
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_CLIENT: kafkaClient,
    LOG_LEVEL: 'silent',
    AUTH_ISSUER_URL: issuer.url,
  });
  service = await startUserService({ ...config, PORT: 0, GRPC_PORT: 0 });
  app = service.app;
  grpc = new UserServiceClient(service.grpc?.address ?? '', credentials.createInsecure());
  const clientToken = async (clientId: string, api: ResourceName = 'user-service') =>
    (await tokenForClient({ issuerUrl: issuer.url, clientId, api })).accessToken;
  tokens.console = await clientToken('console');
  tokens.orders = await clientToken('order-service');
  tokens.notifications = await clientToken('notification-service');
  tokens.otherAudience = await clientToken('console', 'order-service');
}, 90_000);

afterAll(async () => {
  grpc?.close();
  await service?.stop();
  await issuer?.stop();
  await pool?.end();
  await db?.drop();
});

const bearer = (token: string | undefined) =>
  token === undefined ? {} : { authorization: `Bearer ${token}` };

/** What a refused write must leave alone: the users and their outbox rows. */
async function stored(): Promise<{ users: number; active: number; outbox: number }> {
  const { rows } = await pool.query<{ users: number; active: number; outbox: number }>(
    `SELECT (SELECT count(*)::int FROM users) AS users,
            (SELECT count(*)::int FROM users WHERE status = 'active') AS active,
            (SELECT count(*)::int FROM outbox) AS outbox`,
  );
  return rows[0] ?? { users: -1, active: -1, outbox: -1 };
}

async function createAsConsole(): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/users',
    headers: bearer(tokens.console),
    payload: { name: 'Ada', email: `${uniqueName('ada')}@example.com` },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string }>().id;
}

describe('user-service REST: each caller does what AUTH_CALLERS lets it', () => {
  it('lets the console create and deactivate a user, and order-service and notification-service read it', async () => {
    const id = await createAsConsole();
    for (const token of [tokens.orders, tokens.notifications]) {
      const read = await app.inject({ url: `/users/${id}`, headers: bearer(token) });
      expect(read.json()).toMatchObject({ id, status: 'active' });
      const list = await app.inject({ url: '/users?limit=1', headers: bearer(token) });
      expect(list.statusCode).toBe(200);
    }
    const deactivated = await app.inject({
      method: 'POST',
      url: `/users/${id}/deactivate`,
      headers: bearer(tokens.console),
    });
    expect(deactivated.json()).toMatchObject({ id, status: 'inactive' });
  });

  it('leaves the health and docs routes open', async () => {
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/docs/json' })).statusCode).toBe(200);
  });

  const refusals = [
    {
      name: 'order-service (read-only) registering a user',
      method: 'POST' as const,
      url: () => '/users',
      token: () => tokens.orders,
      status: 403,
      challenge: /^Bearer realm="user-service", error="insufficient_scope"/,
      detail:
        /permission 'users:write' is for console, tools \(AUTH_CALLERS\); client 'order-service' may only users:read/,
    },
    {
      name: 'notification-service (read-only) deactivating a user',
      method: 'POST' as const,
      url: (id: string) => `/users/${id}/deactivate`,
      token: () => tokens.notifications,
      status: 403,
      challenge: /error="insufficient_scope"/,
      detail: /permission 'users:write' .*client 'notification-service' may only users:read/,
    },
    {
      name: 'no token',
      method: 'POST' as const,
      url: () => '/users',
      token: () => undefined,
      status: 401,
      challenge: /^Bearer realm="user-service"$/,
      detail: /needs a bearer access token/,
    },
    {
      name: 'the console’s token for another audience',
      method: 'POST' as const,
      url: () => '/users',
      token: () => tokens.otherAudience,
      status: 401,
      challenge: /error="invalid_token"/,
      detail: /expected "urn:comms:user-service"/,
    },
  ];

  it.each(refusals)('refuses $name with $status, storing nothing', async (refusal) => {
    const id = await createAsConsole();
    const before = await stored();
    const response = await app.inject({
      method: refusal.method,
      url: refusal.url(id),
      headers: bearer(refusal.token()),
      payload: { name: 'Mallory', email: `${uniqueName('mallory')}@example.com` },
    });
    expect(response.statusCode, response.body).toBe(refusal.status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['www-authenticate']).toMatch(refusal.challenge);
    expect(response.json<{ detail: string }>().detail).toMatch(refusal.detail);
    expect(await stored()).toEqual(before);
  });
});

describe('user-service gRPC: the same permissions', () => {
  const metadata = (token: string | undefined) => {
    const m = new Metadata();
    if (token !== undefined) m.set('authorization', `Bearer ${token}`);
    return m;
  };
  const call = <Res>(
    method: 'createUser' | 'deactivateUser' | 'validateUser',
    request: object,
    token: string | undefined,
  ) =>
    new Promise<Res>((resolve, reject) => {
      const invoke = grpc[method].bind(grpc) as unknown as (
        req: object,
        md: Metadata,
        cb: (e: ServiceError | null, r: Res) => void,
      ) => void;
      invoke(request, metadata(token), (e, r) => (e ? reject(e) : resolve(r)));
    });

  it('lets order-service validate a user and the console create one', async () => {
    const created = await call<{ user?: { id: string } }>(
      'createUser',
      { name: 'Grace', email: `${uniqueName('grace')}@example.com` },
      tokens.console,
    );
    const id = created.user?.id ?? '';
    await expect(call('validateUser', { userId: id }, tokens.orders)).resolves.toMatchObject({
      valid: true,
      userName: 'Grace',
    });
  });

  it.each([
    {
      name: 'CreateUser by order-service (read-only)',
      method: 'createUser' as const,
      request: () => ({ name: 'Mallory', email: `${uniqueName('mallory')}@example.com` }),
      token: () => tokens.orders,
      code: status.PERMISSION_DENIED,
      detail: /permission 'users:write' .*client 'order-service' may only users:read/,
    },
    {
      name: 'DeactivateUser by notification-service (read-only)',
      method: 'deactivateUser' as const,
      request: (id: string) => ({ userId: id }),
      token: () => tokens.notifications,
      code: status.PERMISSION_DENIED,
      detail: /permission 'users:write' .*client 'notification-service' may only users:read/,
    },
    {
      name: 'CreateUser without a token',
      method: 'createUser' as const,
      request: () => ({ name: 'Mallory', email: `${uniqueName('mallory')}@example.com` }),
      token: () => undefined,
      code: status.UNAUTHENTICATED,
      detail: /needs a bearer access token/,
    },
  ])('refuses $name, storing nothing', async (refusal) => {
    const id = await createAsConsole();
    const before = await stored();
    await expect(call(refusal.method, refusal.request(id), refusal.token())).rejects.toMatchObject({
      code: refusal.code,
      details: expect.stringMatching(refusal.detail) as unknown,
    });
    expect(await stored()).toEqual(before);
  });
});
