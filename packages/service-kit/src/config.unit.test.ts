import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import {
  bearerAuthEnv,
  bearerAuthOf,
  parseEnv,
  serviceIdentityEnv,
  serviceIdentityOf,
} from './config.js';

// The shared env fragments of identity: what a service's config gets from AUTH_PROFILE, and that
// the default (rfc9068) reads exactly as before. The options are @comms/auth's (createTokenVerifier,
// createTokenClient), which the services hand them to as they are.

const Env = Type.Object({
  ...bearerAuthEnv({ service: 'order-service', audience: 'urn:comms:order-service', whenSet: 'x' }),
  ...serviceIdentityEnv('order-service'),
});
const read = (env: Record<string, string>) => {
  const parsed = parseEnv(Env, env);
  return { auth: bearerAuthOf(parsed), identity: serviceIdentityOf(parsed) };
};

const COGNITO = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123';

describe('AUTH_PROFILE', () => {
  it('defaults to rfc9068, which adds nothing to the verifier’s or the token client’s options', () => {
    expect(
      read({
        AUTH_ISSUER_URL: 'http://127.0.0.1:8084',
        SERVICE_TOKEN_URL: 'http://127.0.0.1:8084/token',
        SERVICE_CLIENT_SECRET: 's',
      }),
    ).toEqual({
      auth: {
        issuer: 'http://127.0.0.1:8084',
        audience: 'urn:comms:order-service',
        keysCooldownMs: 30_000,
      },
      identity: {
        tokenUrl: 'http://127.0.0.1:8084/token',
        clientId: 'order-service',
        clientSecret: 's',
        userServiceAudience: 'urn:comms:user-service',
      },
    });
  });

  it('cognito: the API requires its scope, and the caller asks for user-service’s scope', () => {
    expect(
      read({
        AUTH_ISSUER_URL: COGNITO,
        AUTH_PROFILE: 'cognito',
        AUTH_JWKS_URL: `${COGNITO}/.well-known/jwks.json`,
        AUTH_REQUIRED_SCOPE: 'urn:comms:order-service/orders',
        SERVICE_TOKEN_URL: 'https://comms-test.auth.eu-west-1.amazoncognito.com/oauth2/token',
        SERVICE_CLIENT_ID: '1a2b3c4d5e6f7g8h9i0j1k2l3m',
        SERVICE_CLIENT_SECRET: 's',
      }),
    ).toEqual({
      auth: {
        issuer: COGNITO,
        audience: 'urn:comms:order-service',
        jwksUrl: `${COGNITO}/.well-known/jwks.json`,
        keysCooldownMs: 30_000,
        profile: 'cognito',
        requiredScope: 'urn:comms:order-service/orders',
      },
      identity: {
        tokenUrl: 'https://comms-test.auth.eu-west-1.amazoncognito.com/oauth2/token',
        clientId: '1a2b3c4d5e6f7g8h9i0j1k2l3m',
        clientSecret: 's',
        userServiceAudience: 'urn:comms:user-service',
        profile: 'cognito',
        scopes: { 'urn:comms:user-service': 'urn:comms:user-service/users' },
      },
    });
  });

  it('refuses cognito without the required scope, and profiles it does not know', () => {
    expect(() => read({ AUTH_ISSUER_URL: COGNITO, AUTH_PROFILE: 'cognito' })).toThrow(
      /^AUTH_REQUIRED_SCOPE is required when AUTH_PROFILE=cognito/,
    );
    expect(() => read({ AUTH_PROFILE: 'okta' })).toThrow(/^AUTH_PROFILE /);
    expect(() =>
      read({ AUTH_ISSUER_URL: COGNITO, AUTH_PROFILE: 'cognito', AUTH_REQUIRED_SCOPE: 'orders' }),
    ).toThrow(/^AUTH_REQUIRED_SCOPE /);
  });

  it('keeps AUTH_KEYS_COOLDOWN_MS at 1000 or more', () => {
    expect(() => read({ AUTH_KEYS_COOLDOWN_MS: '0' })).toThrow(/^AUTH_KEYS_COOLDOWN_MS /);
    expect(
      read({ AUTH_ISSUER_URL: COGNITO, AUTH_KEYS_COOLDOWN_MS: '1000' }).auth?.keysCooldownMs,
    ).toBe(1000);
  });
});
