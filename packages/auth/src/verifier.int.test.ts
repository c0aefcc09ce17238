import { createHmac, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@comms/contracts';
import { RESOURCES, SERVICE_CLIENTS, signInAsUser, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { bearerChallenge } from './challenge.js';
import { assertRole, assertUser } from './principal.js';
import { createTokenClient } from './token-client.js';
import { createTokenVerifier } from './verifier.js';
import type { TokenVerifier, TokenVerifierOptions } from './verifier.js';

/** The AppError a refused call fails with (fails the test when it succeeds or throws something else). */
async function refusalOf(pending: Promise<unknown>): Promise<AppError> {
  const error = await pending.then(
    () => new Error('expected a refusal, but it succeeded'),
    (caught: unknown) => caught,
  );
  if (!(error instanceof AppError)) throw error;
  return error;
}

// The real issuer (oidc-provider in its own process) issues every genuine token here. The
// attacker's tokens are built by hand below, the way an attacker would: that is attacking, not minting.

let issuer: RunningTokenIssuer;
let userA: string;
let operator: string;
let consoleToOrders: string;
let orderServiceToUsers: string;

const ORDERS = RESOURCES['order-service'];

function clientFor(clientId: string) {
  const client = SERVICE_CLIENTS.find((c) => c.clientId === clientId);
  if (client === undefined) throw new Error(`no client ${clientId}`);
  return createTokenClient({
    tokenUrl: `${issuer.url}/token`,
    clientId,
    clientSecret: client.clientSecret,
  });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (jwt: string) => {
  const [header = '', payload = '', signature = ''] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
    signature,
  };
};

/** An RS256 JWT signed with a key the issuer never had. */
function signWithOwnKey(payload: Record<string, unknown>, kid: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid })}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

const verifierFor = (overrides: Partial<TokenVerifierOptions> = {}): TokenVerifier =>
  createTokenVerifier({ issuer: issuer.url, audience: ORDERS, ...overrides });

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random', operators: ['ops-1'] });
  userA = (await signInAsUser({ issuerUrl: issuer.url, userId: 'user-a' })).accessToken;
  operator = (await signInAsUser({ issuerUrl: issuer.url, userId: 'ops-1' })).accessToken;
  consoleToOrders = await clientFor('console').getToken(ORDERS);
  orderServiceToUsers = await clientFor('order-service').getToken(RESOURCES['user-service']);
}, 30_000);
afterAll(async () => {
  await issuer?.stop();
});

describe('verifying the real issuer’s tokens', () => {
  it('turns a user token into a user principal, with the operator role for operators', async () => {
    const verifier = verifierFor();
    await expect(verifier.authenticate(`Bearer ${userA}`)).resolves.toMatchObject({
      subject: 'user-a',
      kind: 'user',
      roles: [],
      clientId: 'comms-cli',
      scopes: ['orders'],
    });
    const ops = await verifier.verify(operator);
    expect(ops.roles).toEqual(['operator']);
    expect(() => assertRole(ops, 'operator', 'orders:ship')).not.toThrow();
  });

  it('turns a service token into a service principal with no roles', async () => {
    await expect(verifierFor().verify(consoleToOrders)).resolves.toMatchObject({
      subject: 'console',
      kind: 'service',
      roles: [],
      clientId: 'console',
    });
  });

  it('tells them apart by the issuer’s marker (gty), not by sub: a user signed in as "comms-cli" stays a user', async () => {
    expect(parts(consoleToOrders).payload).toMatchObject({
      gty: 'client_credentials',
      sub: 'console',
    });
    // The user client's own name as a user id: sub === client_id, yet an end user's token.
    const lookalike = (await signInAsUser({ issuerUrl: issuer.url, userId: 'comms-cli' }))
      .accessToken;
    expect(parts(lookalike).payload).toMatchObject({ sub: 'comms-cli', client_id: 'comms-cli' });
    expect(parts(lookalike).payload['gty']).toBeUndefined();
    await expect(verifierFor().verify(lookalike)).resolves.toMatchObject({
      subject: 'comms-cli',
      kind: 'user',
    });
  });
});

interface Refusal {
  readonly name: string;
  readonly token: () => Promise<string> | string;
  readonly verifier?: () => TokenVerifier;
  /** Checks after verification (authorization), when verification itself passes. */
  readonly then?: (verifier: TokenVerifier, token: string) => Promise<void>;
  readonly code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED';
  readonly message: RegExp;
}

const refusals: readonly Refusal[] = [
  {
    name: 'expired',
    token: () => userA,
    verifier: () => verifierFor({ now: () => Date.now() + 2 * 3600_000 }),
    code: 'UNAUTHENTICATED',
    message: /^the access token expired at \d{4}-/,
  },
  {
    name: 'not yet valid',
    token: () => userA,
    verifier: () => verifierFor({ now: () => Date.now() - 3600_000 }),
    code: 'UNAUTHENTICATED',
    message: /not valid yet \(its "iat" is in the future\)/,
  },
  {
    name: 'wrong issuer',
    token: () => userA,
    verifier: () => verifierFor({ issuer: 'http://issuer.example', jwksUrl: `${issuer.url}/jwks` }),
    code: 'UNAUTHENTICATED',
    message: /issuer is "http:\/\/127\.0\.0\.1:\d+"; expected "http:\/\/issuer\.example"/,
  },
  {
    name: 'wrong audience',
    token: () => orderServiceToUsers,
    code: 'UNAUTHENTICATED',
    message: /is for "urn:comms:user-service"; expected "urn:comms:order-service"/,
  },
  {
    name: 'an algorithm outside the allow-list',
    token: () => userA,
    verifier: () => verifierFor({ algorithms: ['ES256'] }),
    code: 'UNAUTHENTICATED',
    message: /signed with "RS256"; allowed: ES256/,
  },
  {
    name: 'alg none',
    token: () => {
      const { header, payload } = parts(userA);
      return `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`;
    },
    code: 'UNAUTHENTICATED',
    message: /signed with "none"; allowed: RS256, ES256/,
  },
  {
    name: 'HS256 signed with the public key',
    token: async () => {
      const { header, payload } = parts(userA);
      const jwks = (await (await fetch(`${issuer.url}/jwks`)).json()) as { keys: JsonWebKey[] };
      const pem = createPublicKey({ key: jwks.keys[0] ?? {}, format: 'jwk' }).export({
        type: 'spki',
        format: 'pem',
      });
      const input = `${b64({ ...header, alg: 'HS256' })}.${b64(payload)}`;
      return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    },
    code: 'UNAUTHENTICATED',
    message: /signed with "HS256"; allowed: RS256, ES256/,
  },
  {
    name: 'tampered payload',
    token: () => {
      const [header, , signature] = userA.split('.');
      return `${header}.${b64({ ...parts(userA).payload, sub: 'user-b' })}.${signature}`;
    },
    code: 'UNAUTHENTICATED',
    message: /signature does not verify/,
  },
  {
    name: 'unknown kid',
    token: () => signWithOwnKey(parts(userA).payload, 'attacker-kid'),
    code: 'UNAUTHENTICATED',
    message: /no key of the issuer matches the access token's kid "attacker-kid"/,
  },
  {
    name: 'a service token used as a user’s',
    token: () => consoleToOrders,
    then: async (verifier, token) => assertUser(await verifier.verify(token), 'orders:create'),
    code: 'PERMISSION_DENIED',
    message: /permission 'orders:create' needs an end user's token; client 'console'/,
  },
  {
    name: 'a user without the operator role acting as one',
    token: () => userA,
    then: async (verifier, token) =>
      assertRole(await verifier.verify(token), 'operator', 'orders:ship'),
    code: 'PERMISSION_DENIED',
    message: /permission 'orders:ship' needs the role 'operator'; user 'user-a'/,
  },
  {
    name: 'an ID token or other JWT that is not an access token',
    token: () => {
      const { header, payload } = parts(userA);
      const input = `${b64({ ...header, typ: 'JWT' })}.${b64(payload)}`;
      return `${input}.${parts(userA).signature}`;
    },
    code: 'UNAUTHENTICATED',
    // The header is signed too: changing typ breaks the signature or the typ check, either refuses.
    message: /signature does not verify|type is "JWT"/,
  },
];

describe('refused tokens', () => {
  it.each(refusals)('$name: $code', async (refusal) => {
    const verifier = refusal.verifier?.() ?? verifierFor();
    const token = await refusal.token();
    const attempt = refusal.then?.(verifier, token) ?? verifier.verify(token);
    const error = await attempt.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(refusal.code);
    expect((error as AppError).message).toMatch(refusal.message);
  });

  it('refuses a missing or malformed Authorization header, with the RFC 6750 challenge', async () => {
    const verifier = verifierFor();
    const missing = await refusalOf(verifier.authenticate(undefined));
    expect(missing.code).toBe('UNAUTHENTICATED');
    expect(bearerChallenge(missing, 'order-service')).toBe('Bearer realm="order-service"');
    const basic = await refusalOf(verifier.authenticate('Basic dXNlcjpwdw=='));
    expect(basic.message).toMatch(/must be "Bearer <access token>"/);
    expect(bearerChallenge(basic, 'order-service')).toBe(
      'Bearer realm="order-service", error="invalid_token", error_description="the Authorization header must be ?Bearer <access token>?"',
    );
    const denied = new AppError('PERMISSION_DENIED', "permission 'orders:ship' needs the role");
    expect(bearerChallenge(denied)).toBe(
      `Bearer error="insufficient_scope", error_description="permission 'orders:ship' needs the role"`,
    );
  });
});
