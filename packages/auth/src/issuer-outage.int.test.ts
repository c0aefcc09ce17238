import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '@comms/contracts';
import { RESOURCES, signInAsUser, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { createTokenVerifier, MIN_KEYS_COOLDOWN_MS } from './verifier.js';

let issuer: RunningTokenIssuer;
beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random' });
}, 30_000);
afterAll(async () => {
  await issuer?.stop();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Moves the wall clock (only Date: timers and fetches run as ever) past the keys' cooldown. */
const pastCooldown = () => vi.setSystemTime(Date.now() + MIN_KEYS_COOLDOWN_MS + 100);

const kidOf = (jwt: string) =>
  (JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid;

/** The same claims under a kid the (stopped) issuer never served. */
function withNewKid(jwt: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const header = Buffer.from(
    JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'rotated-while-down' }),
  ).toString('base64url');
  const input = `${header}.${jwt.split('.')[1] ?? ''}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

const outcome = (pending: Promise<unknown>) =>
  pending.then(
    () => 'verified',
    (error: unknown) =>
      error instanceof AppError ? `${error.code}: ${error.message}` : `crash: ${String(error)}`,
  );

describe('the issuer stops while services verify tokens', () => {
  it('keeps accepting tokens whose keys it holds, refuses a new kid with a clear 503, and recovers with the issuer', async () => {
    // The shortest cooldown there is, and the clock moved past it: an unknown kid asks the issuer.
    vi.useFakeTimers({ toFake: ['Date'] });
    const logged: string[] = [];
    const verifier = createTokenVerifier({
      issuer: issuer.url,
      audience: RESOURCES['order-service'],
      keysCooldownMs: MIN_KEYS_COOLDOWN_MS,
      keysTimeoutMs: 1_000,
      onKeysUnavailable: ({ jwksUrl, reason }) => logged.push(`${jwksUrl}: ${reason}`),
    });
    const before = (await signInAsUser({ issuerUrl: issuer.url, userId: 'user-a' })).accessToken;
    await expect(verifier.verify(before)).resolves.toMatchObject({ subject: 'user-a' });

    await issuer.kill('SIGKILL');

    // Cached keys keep working, many times over and concurrently.
    const cached = await Promise.all(
      Array.from({ length: 20 }, () => outcome(verifier.verify(before))),
    );
    expect(new Set(cached)).toEqual(new Set(['verified']));

    // Within the cooldown a kid the verifier has not seen is simply unknown...
    await expect(outcome(verifier.verify(withNewKid(before)))).resolves.toMatch(
      /^UNAUTHENTICATED: no key of the issuer matches/,
    );
    // ...after it, it needs the issuer: refused, retryably, and said so, without the URL.
    pastCooldown();
    const newKid = await Promise.all(
      Array.from({ length: 5 }, () => outcome(verifier.verify(withNewKid(before)))),
    );
    for (const result of newKid)
      expect(result).toMatch(
        /^UNAVAILABLE: the token issuer's keys cannot be fetched just now, so the access token cannot be checked; try again shortly$/,
      );
    // The log hears where and why.
    expect(logged[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/jwks: /);
    // ...and the keys it held still work after those failed fetches.
    await expect(outcome(verifier.verify(before))).resolves.toBe('verified');

    // The issuer comes back with a new signing key: its new tokens verify (the keys are fetched
    // again for the new kid), and the old key, gone from its JWKS, no longer does.
    await issuer.restart();
    pastCooldown();
    const after = (await signInAsUser({ issuerUrl: issuer.url, userId: 'user-b' })).accessToken;
    expect(kidOf(after)).not.toBe(kidOf(before));
    await expect(verifier.verify(after)).resolves.toMatchObject({ subject: 'user-b' });
    await expect(outcome(verifier.verify(before))).resolves.toMatch(
      /^UNAUTHENTICATED: no key of the issuer matches/,
    );
  });
});
