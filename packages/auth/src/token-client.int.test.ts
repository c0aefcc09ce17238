import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@comms/contracts';
import { RESOURCES, SERVICE_CLIENTS, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { createTokenClient } from './token-client.js';
import { createTokenVerifier } from './verifier.js';

/** The AppError a refused call fails with (fails the test when it succeeds or throws something else). */
async function refusalOf(pending: Promise<unknown>): Promise<AppError> {
  const error = await pending.then(
    () => new Error('expected a refusal, but it succeeded'),
    (caught: unknown) => caught,
  );
  if (!(error instanceof AppError)) throw error;
  return error;
}

let issuer: RunningTokenIssuer;
beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random', accessTokenTtlSeconds: 300 });
}, 30_000);
afterAll(async () => {
  await issuer?.stop();
});

const USERS = RESOURCES['user-service'];
const secretOf = (clientId: string) =>
  SERVICE_CLIENTS.find((client) => client.clientId === clientId)?.clientSecret ?? '';
const jti = (jwt: string) =>
  (JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { jti: string }).jti;

describe('client credentials token client', () => {
  it('gets a token the callee accepts, reuses it until shortly before it expires, then gets a new one', async () => {
    let clock = Date.now();
    const client = createTokenClient({
      tokenUrl: `${issuer.url}/token`,
      clientId: 'order-service',
      clientSecret: secretOf('order-service'),
      refreshBeforeSeconds: 30,
      now: () => clock,
    });
    const first = await client.getToken(USERS);
    const principal = await createTokenVerifier({ issuer: issuer.url, audience: USERS }).verify(
      first,
    );
    expect(principal).toMatchObject({ kind: 'service', clientId: 'order-service' });

    const concurrent = await Promise.all([1, 2, 3].map(() => client.getToken(USERS)));
    expect(concurrent).toEqual([first, first, first]);
    clock += 269_000; // 300 s token, 30 s margin: still cached
    expect(await client.getToken(USERS)).toBe(first);
    clock += 2_000; // inside the margin: a new token
    const renewed = await client.getToken(USERS);
    expect(jti(renewed)).not.toBe(jti(first));
    client.invalidate(USERS);
    expect(jti(await client.getToken(USERS))).not.toBe(jti(renewed));
  });

  it('says UNAVAILABLE with the issuer’s error when refused, and when the issuer is down', async () => {
    const wrong = createTokenClient({
      tokenUrl: `${issuer.url}/token`,
      clientId: 'order-service',
      clientSecret: 'not-the-secret',
    });
    const refused = await refusalOf(wrong.getToken(USERS));
    expect(refused).toBeInstanceOf(AppError);
    expect(refused.code).toBe('UNAVAILABLE');
    expect(refused.message).toMatch(/as order-service: HTTP 401 invalid_client/);

    const otherApi = createTokenClient({
      tokenUrl: `${issuer.url}/token`,
      clientId: 'order-service',
      clientSecret: secretOf('order-service'),
    });
    await expect(otherApi.getToken(RESOURCES['order-service'])).rejects.toThrow(
      /HTTP 400 invalid_target/,
    );

    const down = createTokenClient({
      tokenUrl: 'http://127.0.0.1:1/token',
      clientId: 'order-service',
      clientSecret: secretOf('order-service'),
    });
    const unreachable = await refusalOf(down.getToken(USERS));
    expect(unreachable.code).toBe('UNAVAILABLE');
    expect(unreachable.message).toMatch(/from http:\/\/127\.0\.0\.1:1\/token as order-service/);
  });
});
