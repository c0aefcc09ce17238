import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { AppError } from '@comms/contracts';
import { createTokenVerifier, MIN_KEYS_COOLDOWN_MS } from './verifier.js';
import type { TokenVerifierOptions } from './verifier.js';

// The verifier's rules, with tokens signed by a key of the test's own and its public half served
// as a JWKS on loopback: what a real issuer (the local oidc-provider, Amazon Cognito, which is not
// reachable from here) would serve. verifier.int.test.ts does the same against the real local issuer.

const KID = 'test-key-1';
let privateKey: CryptoKey;
let jwksUrl: string;
let closeJwks: () => Promise<void>;
let jwksRequests = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  const server = createServer((_req, res) => {
    jwksRequests += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/jwks`;
  closeJwks = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
});
afterAll(async () => {
  await closeJwks();
});

const LOCAL_ISSUER = 'http://127.0.0.1:8084';
const ORDERS = 'urn:comms:order-service';
const COGNITO_ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1';
const ORDERS_SCOPE = `${ORDERS}/orders`;

async function sign(
  claims: Record<string, unknown>,
  header: { typ?: string; kid?: string } = { typ: 'at+jwt' },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({
      alg: 'RS256',
      kid: header.kid ?? KID,
      ...(header.typ === undefined ? {} : { typ: header.typ }),
    })
    .sign(privateKey);
}

async function refusalOf(pending: Promise<unknown>): Promise<AppError> {
  const error = await pending.then(
    () => new Error('expected a refusal, but it verified'),
    (caught: unknown) => caught,
  );
  if (!(error instanceof AppError)) throw error;
  return error;
}

const rfc9068 = (overrides: Partial<TokenVerifierOptions> = {}) =>
  createTokenVerifier({ issuer: LOCAL_ISSUER, audience: ORDERS, jwksUrl, ...overrides });

const cognito = (overrides: Partial<TokenVerifierOptions> = {}) =>
  createTokenVerifier({
    profile: 'cognito',
    issuer: COGNITO_ISSUER,
    audience: ORDERS,
    requiredScope: ORDERS_SCOPE,
    jwksUrl,
    ...overrides,
  });

/** What a Cognito user pool puts in an end user's access token (no aud, no typ). */
const cognitoUser = (extra: Record<string, unknown> = {}) =>
  sign(
    {
      iss: COGNITO_ISSUER,
      sub: '5f1c2d9e-user-uuid',
      client_id: 'comms-users-app',
      token_use: 'access',
      scope: `openid ${ORDERS_SCOPE}`,
      username: 'ada',
      'cognito:groups': ['operator'],
      ...extra,
    },
    {},
  );

/** What Cognito puts in a client-credentials access token: sub is the app client id, no username. */
const cognitoService = (extra: Record<string, unknown> = {}) =>
  sign(
    {
      iss: COGNITO_ISSUER,
      sub: 'order-service-app-client',
      client_id: 'order-service-app-client',
      token_use: 'access',
      scope: 'urn:comms:user-service/users',
      ...extra,
    },
    {},
  );

describe('rfc9068 profile: who is a service', () => {
  it('takes a token as a service’s own only with the issuer’s marker gty: client_credentials', async () => {
    const service = await sign({
      iss: LOCAL_ISSUER,
      aud: ORDERS,
      sub: 'console',
      client_id: 'console',
      gty: 'client_credentials',
      scope: 'orders',
    });
    await expect(rfc9068().verify(service)).resolves.toMatchObject({
      subject: 'console',
      kind: 'service',
      roles: [],
      clientId: 'console',
    });
  });

  it('keeps a user a user when their sub happens to equal the client id (a sign-in under a client’s name)', async () => {
    const user = await sign({
      iss: LOCAL_ISSUER,
      aud: ORDERS,
      sub: 'comms-cli',
      client_id: 'comms-cli',
      roles: ['operator'],
      scope: 'orders',
    });
    await expect(rfc9068().verify(user)).resolves.toMatchObject({
      subject: 'comms-cli',
      kind: 'user',
      roles: ['operator'],
    });
    const otherGrant = await sign({
      iss: LOCAL_ISSUER,
      aud: ORDERS,
      sub: 'user-a',
      client_id: 'comms-cli',
      gty: 'authorization_code',
    });
    await expect(rfc9068().verify(otherGrant)).resolves.toMatchObject({ kind: 'user' });
  });

  it('still requires the audience and typ at+jwt (a Cognito-shaped token is refused)', async () => {
    const noAud = await sign({ iss: LOCAL_ISSUER, sub: 'user-a', client_id: 'comms-cli' });
    expect((await refusalOf(rfc9068().verify(noAud))).message).toMatch(
      /expected "urn:comms:order-service"/,
    );
    const noTyp = await sign(
      { iss: LOCAL_ISSUER, aud: ORDERS, sub: 'user-a', client_id: 'comms-cli' },
      {},
    );
    expect((await refusalOf(rfc9068().verify(noTyp))).message).toMatch(
      /expected an access token \("at\+jwt"\)/,
    );
  });
});

describe('the issuer’s keys cannot be fetched', () => {
  it('answers UNAVAILABLE without naming the JWKS URL to the caller, and tells the log where and why', async () => {
    const told: { jwksUrl: string; reason: string }[] = [];
    // A port nobody listens on: the keys cannot come.
    const down = 'http://127.0.0.1:9/jwks';
    const verifier = rfc9068({ jwksUrl: down, onKeysUnavailable: (event) => told.push(event) });
    const token = await sign({
      iss: LOCAL_ISSUER,
      aud: ORDERS,
      sub: 'user-a',
      client_id: 'comms-cli',
    });
    const error = await refusalOf(verifier.verify(token));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toBe(
      "the token issuer's keys cannot be fetched just now, so the access token cannot be checked; try again shortly",
    );
    expect(error.message).not.toMatch(/127\.0\.0\.1|jwks|http/);
    expect(String((error.cause as Error).message)).toMatch(
      /^could not get the token issuer's keys from http:\/\/127\.0\.0\.1:9\/jwks: /,
    );
    expect(told).toEqual([{ jwksUrl: down, reason: expect.any(String) as unknown }]);
  });
});

describe('keys cooldown', () => {
  it(`refuses a cooldown under ${String(MIN_KEYS_COOLDOWN_MS)} ms, so forged kids cannot turn each request into a key fetch`, async () => {
    expect(() => rfc9068({ keysCooldownMs: 0 })).toThrow(
      /^keysCooldownMs must be at least 1000 .*got 0$/,
    );
    expect(() => rfc9068({ keysCooldownMs: 999 })).toThrow(/got 999$/);
    // At the minimum: a stream of unknown kids fetches the keys once, not once per token.
    const verifier = rfc9068({ keysCooldownMs: MIN_KEYS_COOLDOWN_MS });
    await verifier.verify(
      await sign({ iss: LOCAL_ISSUER, aud: ORDERS, sub: 'user-a', client_id: 'comms-cli' }),
    );
    const before = jwksRequests;
    for (let i = 0; i < 10; i += 1) {
      const forged = await sign(
        { iss: LOCAL_ISSUER, aud: ORDERS, sub: 'user-a', client_id: 'comms-cli' },
        { typ: 'at+jwt', kid: `forged-${String(i)}` },
      );
      expect((await refusalOf(verifier.verify(forged))).code).toBe('UNAUTHENTICATED');
    }
    expect(jwksRequests - before).toBeLessThanOrEqual(1);
  });
});

describe('cognito profile', () => {
  it('verifies a Cognito user access token by issuer, signature, token_use and scope (no aud, no typ)', async () => {
    await expect(cognito().verify(await cognitoUser())).resolves.toEqual({
      subject: '5f1c2d9e-user-uuid',
      kind: 'user',
      roles: ['operator'],
      clientId: 'comms-users-app',
      scopes: ['openid', ORDERS_SCOPE],
      expiresAt: expect.any(Number) as unknown,
    });
  });

  it('takes a client-credentials token (sub = client_id, no username) as a service’s, with no roles', async () => {
    const verifier = cognito({
      audience: 'urn:comms:user-service',
      requiredScope: 'urn:comms:user-service/users',
    });
    await expect(verifier.verify(await cognitoService())).resolves.toMatchObject({
      subject: 'order-service-app-client',
      kind: 'service',
      roles: [],
    });
    // A user whose sub equals the client id is still a user: they have a username.
    await expect(
      verifier.verify(
        await cognitoService({
          username: 'order-service-app-client',
          'cognito:groups': ['operator'],
        }),
      ),
    ).resolves.toMatchObject({ kind: 'user', roles: ['operator'] });
  });

  const refusals: readonly {
    name: string;
    token: () => Promise<string>;
    options?: Partial<TokenVerifierOptions>;
    message: RegExp;
  }[] = [
    {
      name: 'an ID token (token_use id)',
      token: () => cognitoUser({ token_use: 'id' }),
      message: /token_use is "id"; expected an access token \("access"\)/,
    },
    {
      name: 'no token_use',
      token: () => cognitoUser({ token_use: undefined }),
      message: /token_use is null; expected/,
    },
    {
      name: 'another API’s scope only',
      token: () => cognitoUser({ scope: 'urn:comms:user-service/users' }),
      message:
        /scope "urn:comms:user-service\/users" does not include "urn:comms:order-service\/orders"/,
    },
    {
      name: 'the bare scope name without the resource server',
      token: () => cognitoUser({ scope: 'orders' }),
      message: /does not include "urn:comms:order-service\/orders"/,
    },
    {
      name: 'another user pool',
      token: () =>
        cognitoUser({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other' }),
      message: /issuer is ".*eu-west-1_Other"; expected ".*eu-west-1_TestPool1"/,
    },
    {
      name: 'expired',
      token: () => cognitoUser(),
      options: { now: () => Date.now() + 3600_000 },
      message: /expired at/,
    },
    {
      name: 'an algorithm outside the allow-list',
      token: () => cognitoUser(),
      options: { algorithms: ['ES256'] },
      message: /signed with "RS256"; allowed: ES256/,
    },
    {
      name: 'alg none',
      token: async () => {
        const [, payload] = (await cognitoUser()).split('.');
        return `${Buffer.from(JSON.stringify({ alg: 'none', kid: KID })).toString('base64url')}.${payload ?? ''}.`;
      },
      message: /signed with "none"/,
    },
  ];

  for (const refusal of refusals)
    it(`refuses ${refusal.name} with 401`, async () => {
      const error = await refusalOf(cognito(refusal.options).verify(await refusal.token()));
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).toMatch(refusal.message);
    });

  it('needs the required scope configured: there is no audience to check instead', () => {
    expect(() => cognito({ requiredScope: undefined })).toThrow(
      /cognito profile needs requiredScope/,
    );
    expect(() => rfc9068({ profile: 'okta' as never })).toThrow(
      /profile must be one of rfc9068, cognito, got 'okta'/,
    );
  });
});
