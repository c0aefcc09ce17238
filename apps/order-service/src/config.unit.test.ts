import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = {
  DATABASE_URL: 'postgres://order_service:order_service@127.0.0.1:5432/orders',
  KAFKA_BROKERS: '127.0.0.1:9092',
};

describe('order-service auth configuration', () => {
  it('leaves authentication off when AUTH_ISSUER_URL is unset', () => {
    expect(loadConfig(base).auth).toBeUndefined();
  });

  it('turns it on with the issuer, the default audience and operator role', () => {
    expect(loadConfig({ ...base, AUTH_ISSUER_URL: 'http://127.0.0.1:8084' }).auth).toEqual({
      issuer: 'http://127.0.0.1:8084',
      audience: 'urn:comms:order-service',
      operatorRole: 'operator',
      keysCooldownMs: 30_000,
    });
  });

  it('names the variable and its format on a bad issuer URL', () => {
    expect(() => loadConfig({ ...base, AUTH_ISSUER_URL: 'http://127.0.0.1:8084/' })).toThrow(
      /^AUTH_ISSUER_URL .*an http\(s\) URL without a trailing slash.*got 'http:\/\/127\.0\.0\.1:8084\/'$/,
    );
    expect(() => loadConfig({ ...base, AUTH_ISSUER_URL: '127.0.0.1:8084' })).toThrow(
      /^AUTH_ISSUER_URL /,
    );
  });

  it('sends its own token to user-service only with SERVICE_TOKEN_URL, and needs the secret then', () => {
    expect(loadConfig(base).identity).toBeUndefined();
    expect(
      loadConfig({
        ...base,
        SERVICE_TOKEN_URL: 'http://127.0.0.1:8084/token',
        SERVICE_CLIENT_SECRET: 's',
      }).identity,
    ).toEqual({
      tokenUrl: 'http://127.0.0.1:8084/token',
      clientId: 'order-service',
      clientSecret: 's',
      userServiceAudience: 'urn:comms:user-service',
    });
    expect(() => loadConfig({ ...base, SERVICE_TOKEN_URL: 'http://127.0.0.1:8084/token' })).toThrow(
      /^SERVICE_CLIENT_SECRET is required when SERVICE_TOKEN_URL is set/,
    );
  });
});
