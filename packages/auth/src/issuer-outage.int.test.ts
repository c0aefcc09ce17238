import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@comms/contracts';
import { RESOURCES, signInAsUser, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { createTokenVerifier } from './verifier.js';

let issuer: RunningTokenIssuer;
beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random' });
}, 30_000);
afterAll(async () => {
  await issuer?.stop();
});

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
    // Cooldown 0: an unknown kid always asks the issuer again (the worst case for an outage).
    const verifier = createTokenVerifier({
      issuer: issuer.url,
      audience: RESOURCES['order-service'],
      keysCooldownMs: 0,
      keysTimeoutMs: 1_000,
    });
    const before = (await signInAsUser({ issuerUrl: issuer.url, userId: 'user-a' })).accessToken;
    await expect(verifier.verify(before)).resolves.toMatchObject({ subject: 'user-a' });

    await issuer.kill('SIGKILL');

    // Cached keys keep working, many times over and concurrently.
    const cached = await Promise.all(
      Array.from({ length: 20 }, () => outcome(verifier.verify(before))),
    );
    expect(new Set(cached)).toEqual(new Set(['verified']));

    // A token with a kid the verifier has not seen needs the issuer: refused, retryably, and said so.
    const newKid = await Promise.all(
      Array.from({ length: 5 }, () => outcome(verifier.verify(withNewKid(before)))),
    );
    for (const result of newKid)
      expect(result).toMatch(
        /^UNAVAILABLE: could not get the token issuer's keys from http:\/\/127\.0\.0\.1:\d+\/jwks .*try again shortly$/,
      );
    // ...and the keys it held still work after those failed fetches.
    await expect(outcome(verifier.verify(before))).resolves.toBe('verified');

    // The issuer comes back with a new signing key: its new tokens verify (the keys are fetched
    // again for the new kid), and the old key, gone from its JWKS, no longer does.
    await issuer.restart();
    const after = (await signInAsUser({ issuerUrl: issuer.url, userId: 'user-b' })).accessToken;
    expect(kidOf(after)).not.toBe(kidOf(before));
    await expect(verifier.verify(after)).resolves.toMatchObject({ subject: 'user-b' });
    await expect(outcome(verifier.verify(before))).resolves.toMatch(
      /^UNAUTHENTICATED: no key of the issuer matches/,
    );
  });
});
