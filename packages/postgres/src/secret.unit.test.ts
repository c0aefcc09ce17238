import { describe, expect, it } from 'vitest';
import { databaseUrlFromSecret, databaseUrlOf } from './secret.js';

const secret = {
  username: 'order_service',
  password: 'p@ss:w/rd',
  host: 'db.cluster.internal',
  port: 5432,
  dbname: 'orders',
  engine: 'postgres',
};

describe('database configuration from an RDS/Aurora secret', () => {
  it('builds a URL that keeps odd passwords intact', () => {
    const url = new URL(databaseUrlFromSecret(JSON.stringify(secret)));
    expect(url.hostname).toBe('db.cluster.internal');
    expect(url.pathname).toBe('/orders');
    expect(decodeURIComponent(url.password)).toBe('p@ss:w/rd');
  });

  it('names the missing field and never prints the secret', () => {
    const { host: _host, ...noHost } = secret;
    expect(() => databaseUrlFromSecret(JSON.stringify(noHost))).toThrow(
      /DATABASE_SECRET must be JSON like .*'host' is missing/,
    );
    expect(() => databaseUrlFromSecret('{oops')).toThrow(/it is not JSON/);
    expect(() => databaseUrlFromSecret(JSON.stringify(noHost))).not.toThrow(/p@ss/);
  });

  it('takes exactly one of DATABASE_URL and DATABASE_SECRET', () => {
    expect(databaseUrlOf({ DATABASE_URL: 'postgres://a:b@h:5432/d' })).toBe(
      'postgres://a:b@h:5432/d',
    );
    expect(databaseUrlOf({ DATABASE_SECRET: JSON.stringify(secret) })).toMatch(
      /^postgres:\/\/order_service:/,
    );
    expect(() => databaseUrlOf({})).toThrow(/DATABASE_URL is required/);
    expect(() =>
      databaseUrlOf({ DATABASE_URL: 'postgres://a:b@h/d', DATABASE_SECRET: '{}' }),
    ).toThrow(/not both/);
  });
});
