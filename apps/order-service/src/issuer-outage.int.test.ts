import { createRequire } from 'node:module';
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInAsUser, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import type { HttpApp } from '@comms/service-kit';
import { createTestDatabase, startUserServiceProcess, waitFor } from '@comms/testing';
import type { TestDatabase, TestUserService } from '@comms/testing';
import type { startOrderService } from './main.js';
import { startTestOrderService } from './test-support.js';

// The token issuer stops while order-service (AUTH_ISSUER_URL set) serves users.

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');

let issuer: RunningTokenIssuer;
let ordersDb: TestDatabase;
let userService: TestUserService;
let service: Awaited<ReturnType<typeof startOrderService>>;
let app: HttpApp;
let userId: string;

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random' });
  ordersDb = await createTestDatabase('outage_orders');
  userService = await startUserServiceProcess({ entry: USER_SERVICE, database: 'outage_users' });
  service = await startTestOrderService({
    databaseUrl: ordersDb.url,
    userService,
    env: {
      AUTH_ISSUER_URL: issuer.url,
      // The least the verifier allows (default 30 s): within it an unknown kid is 401
      // without asking the issuer, after it the issuer is asked, so the outage shows in a second.
      AUTH_KEYS_COOLDOWN_MS: '1000',
    },
  });
  app = service.app;
  userId = (await userService.register('Ada')).id;
}, 90_000);

afterAll(async () => {
  await service?.stop();
  await userService?.stop();
  await issuer?.stop();
  await ordersDb?.drop();
});

const items = [{ productId: 'book', quantity: 1, price: '19.99' }];
const place = (token: string) =>
  app.inject({
    method: 'POST',
    url: '/orders',
    headers: { authorization: `Bearer ${token}` },
    payload: { userId, items },
  });

/** The user's claims under a kid the issuer never served (what a rotated key looks like). */
function withNewKid(jwt: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const header = Buffer.from(
    JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'rotated-while-down' }),
  ).toString('base64url');
  const input = `${header}.${jwt.split('.')[1] ?? ''}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

describe('the token issuer stops while order-service runs', () => {
  it('keeps serving tokens it holds keys for, answers 503 for a new kid, and recovers with the issuer', async () => {
    const before = (await signInAsUser({ issuerUrl: issuer.url, userId })).accessToken;
    expect((await place(before)).statusCode).toBe(201);

    await issuer.kill('SIGKILL');

    const meanwhile = await place(before);
    expect(meanwhile.statusCode, meanwhile.body).toBe(201);
    const orderId = meanwhile.json<{ orderId: string }>().orderId;
    const read = await app.inject({
      url: `/orders/${orderId}`,
      headers: { authorization: `Bearer ${before}` },
    });
    expect(read.statusCode).toBe(200);

    // A new kid is 401 until the cooldown since the last key fetch is over, then
    // the keys are fetched again, and with the issuer away that is a 503.
    const newKid = withNewKid(before);
    const rotated = await waitFor(
      async () => {
        const response = await place(newKid);
        if (response.statusCode === 401) return undefined;
        return response;
      },
      { timeoutMs: 10_000, message: 'a new kid never got past the keys cooldown' },
    );
    expect(rotated.statusCode, rotated.body).toBe(503);
    expect(rotated.headers['retry-after']).toBe('1');
    expect(rotated.json<{ code: string; detail: string }>()).toMatchObject({
      code: 'UNAVAILABLE',
      // The caller is not told where the keys live; the service log is.
      detail: expect.stringMatching(
        /the token issuer's keys cannot be fetched just now/,
      ) as unknown,
    });
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);

    await issuer.restart();
    const after = (await signInAsUser({ issuerUrl: issuer.url, userId })).accessToken;
    // Its kid may be new to the service: accepted once the cooldown lets the keys be fetched.
    await waitFor(async () => ((await place(after)).statusCode === 201 ? true : undefined), {
      timeoutMs: 10_000,
      message: 'a token from the restarted issuer was never accepted',
    });
  });
});
