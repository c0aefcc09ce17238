import { createRequire } from 'node:module';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserServiceClient } from '@comms/contracts/grpc';
import { RESOURCES, SERVICE_CLIENTS, signInAsUser, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { createTestDatabase, startUserServiceProcess } from '@comms/testing';
import type { TestDatabase, TestUserService } from '@comms/testing';
import type { startOrderService } from './main.js';
import { startTestOrderService } from './test-support.js';
import type { ValidationMode } from './user-validation.js';

// Service identity: user-service (AUTH_ISSUER_URL set, only order-service allowed) and
// order-service calling it with its own client-credentials token, over gRPC and REST.

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');
const USERS = RESOURCES['user-service'];
const secretOf = (clientId: string) =>
  SERVICE_CLIENTS.find((c) => c.clientId === clientId)?.clientSecret ?? '';

let issuer: RunningTokenIssuer;
let ordersDb: TestDatabase;
let userService: TestUserService;
let userHttp: string;
let userGrpc: string;
const instances: Awaited<ReturnType<typeof startOrderService>>[] = [];

async function clientToken(clientId: string, secret = secretOf(clientId)): Promise<string> {
  const response = await fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: USERS }).toString(),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random' });
  ordersDb = await createTestDatabase('identity_orders');
  userService = await startUserServiceProcess({
    entry: USER_SERVICE,
    database: 'identity_users',
    env: { AUTH_ISSUER_URL: issuer.url, AUTH_CALLERS: 'order-service' },
  });
  userHttp = userService.httpUrl;
  userGrpc = userService.grpcAddress;
}, 90_000);

afterAll(async () => {
  await Promise.all(instances.map((one) => one.stop()));
  await userService?.stop();
  await issuer?.stop();
  await ordersDb?.drop();
});

async function newUser(): Promise<string> {
  return (await userService.register('Ada', { token: await clientToken('order-service') })).id;
}

async function orderService(mode: ValidationMode, identity: Record<string, string>) {
  const started = await startTestOrderService({
    databaseUrl: ordersDb.url,
    userService,
    env: { USER_VALIDATION: mode, ...identity },
  });
  instances.push(started);
  return started.app;
}

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

const items = [{ productId: 'book', quantity: 1, price: '19.99' }];

describe('user-service accepts only the services it knows', () => {
  it('refuses REST calls without a token (401), and from another service (403)', async () => {
    const id = await newUser();
    const none = await fetch(`${userHttp}/users/${id}`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="user-service"');
    const other = await fetch(`${userHttp}/users/${id}`, {
      headers: { authorization: `Bearer ${await clientToken('notification-service')}` },
    });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { detail: string }).detail).toMatch(
      /permission 'users:read' is for the services order-service; got the service token of client 'notification-service'/,
    );
    const user = await signInAsUser({ issuerUrl: issuer.url, userId: id });
    const userToken = await fetch(`${userHttp}/users/${id}`, {
      headers: { authorization: `Bearer ${user.accessToken}` },
    });
    expect(userToken.status).toBe(401); // its audience is order-service
    const allowed = await fetch(`${userHttp}/users/${id}`, {
      headers: { authorization: `Bearer ${await clientToken('order-service')}` },
    });
    expect(allowed.status).toBe(200);
  });

  it('refuses gRPC calls without a token (UNAUTHENTICATED), and from another service', async () => {
    const id = await newUser();
    const client = new UserServiceClient(userGrpc, credentials.createInsecure());
    const validate = (token: string | undefined) => {
      const metadata = new Metadata();
      if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
      return new Promise<unknown>((resolve, reject) =>
        client.validateUser({ userId: id }, metadata, (e: ServiceError | null, r) =>
          e ? reject(e) : resolve(r),
        ),
      );
    };
    try {
      await expect(validate(undefined)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      await expect(validate(await clientToken('notification-service'))).rejects.toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringMatching(/permission 'users:read'/) as unknown,
      });
      await expect(validate(await clientToken('order-service'))).resolves.toMatchObject({
        valid: true,
      });
    } finally {
      client.close();
    }
  });
});

describe('order-service calls user-service with its own token', () => {
  it.each<ValidationMode>(['grpc', 'rest'])('places an order, validating over %s', async (mode) => {
    const app = await orderService(mode, {
      SERVICE_TOKEN_URL: `${issuer.url}/token`,
      SERVICE_CLIENT_SECRET: secretOf('order-service'),
    });
    const response = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: { userId: await newUser(), items },
    });
    expect(response.statusCode, response.body).toBe(201);
  });

  it('without a credential, or with a wrong secret, answers 503 naming why, and stores nothing', async () => {
    const userId = await newUser();
    const before = await streamCount();
    const anonymous = await orderService('grpc', {});
    const refused = await anonymous.inject({
      method: 'POST',
      url: '/orders',
      payload: { userId, items },
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.json<{ detail: string }>().detail).toMatch(/UNAUTHENTICATED/);
    const wrongSecret = await orderService('rest', {
      SERVICE_TOKEN_URL: `${issuer.url}/token`,
      SERVICE_CLIENT_SECRET: 'not-the-secret',
    });
    const failed = await wrongSecret.inject({
      method: 'POST',
      url: '/orders',
      payload: { userId, items },
    });
    expect(failed.statusCode).toBe(503);
    expect(failed.json<{ detail: string }>().detail).toMatch(/HTTP 401 invalid_client/);
    expect(await streamCount()).toBe(before);
  });
});
