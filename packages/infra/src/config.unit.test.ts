import { describe, expect, it } from 'vitest';
import { infraEnv, tokenIssuerEnv } from './config.js';

describe('infra environment', () => {
  it('takes Java from JAVA_HOME, else PATH', () => {
    expect(infraEnv({ JAVA_HOME: '/opt/jdk-17/' }).java).toBe('/opt/jdk-17/bin/java');
    expect(infraEnv({}).java).toBe('java');
  });

  it('refuses an idle time that is not a whole number, naming the variable', () => {
    expect(infraEnv({ COMMS_INFRA_IDLE_MS: '500' }).idleMs).toBe(500);
    expect(infraEnv({}).idleMs).toBe(30_000);
    expect(() => infraEnv({ COMMS_INFRA_IDLE_MS: '30s' })).toThrow(
      /COMMS_INFRA_IDLE_MS must be a whole number of milliseconds, got '30s'/,
    );
  });
});

describe('token issuer environment', () => {
  it('listens on loopback unless TOKEN_ISSUER_HOST says otherwise (compose: 0.0.0.0 in its container)', () => {
    expect(tokenIssuerEnv({})).toMatchObject({
      host: '127.0.0.1',
      port: 8084,
      issuerUrl: undefined,
    });
    expect(
      tokenIssuerEnv({
        TOKEN_ISSUER_HOST: '0.0.0.0',
        TOKEN_ISSUER_URL: 'http://token-issuer:8084',
      }),
    ).toMatchObject({ host: '0.0.0.0', issuerUrl: 'http://token-issuer:8084' });
    expect(() => tokenIssuerEnv({ TOKEN_ISSUER_HOST: 'http://0.0.0.0' })).toThrow(
      /TOKEN_ISSUER_HOST must be an address to listen on, got 'http:\/\/0\.0\.0\.0'/,
    );
  });
});
