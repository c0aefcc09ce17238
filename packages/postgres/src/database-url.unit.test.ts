import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactDatabaseUrl, withDatabase } from './database-url.js';

describe('parseDatabaseUrl', () => {
  it('reads host, port, database and user', () => {
    expect(parseDatabaseUrl('postgres://app:secret@db.internal:6543/orders')).toMatchObject({
      host: 'db.internal',
      port: 6543,
      database: 'orders',
      user: 'app',
    });
  });

  it('defaults the port to 5432 and accepts the postgresql scheme', () => {
    expect(parseDatabaseUrl('postgresql://app@localhost/users').port).toBe(5432);
  });

  it.each([
    ['', 'it is empty'],
    ['localhost:5432', 'scheme'],
    ['mysql://u:p@h/db', 'scheme'],
    ['postgres://u:p@h:99999/db', 'not a URL'],
    ['postgres://u:p@h:5432/', 'database name is missing'],
    ['postgres://h:5432/db', 'user is missing'],
  ])('rejects %j naming the variable and the expected format', (value, why) => {
    expect(() => parseDatabaseUrl(value, 'DATABASE_URL')).toThrow(
      new RegExp(`DATABASE_URL must be a PostgreSQL URL like postgres://.*${why}`),
    );
  });

  it('never prints the password of a rejected URL', () => {
    expect(() => parseDatabaseUrl('mysql://app:hunter2@h/db')).toThrow(/app:\*\*\*@/);
    expect(() => parseDatabaseUrl('mysql://app:hunter2@h/db')).not.toThrow(/hunter2/);
  });
});

describe('redactDatabaseUrl and withDatabase', () => {
  it('hides the password and swaps the database', () => {
    expect(redactDatabaseUrl('postgres://a:b@h:1/d')).toBe('postgres://a:***@h:1/d');
    expect(withDatabase('postgres://a:b@h:1/d?sslmode=disable', 'x')).toBe(
      'postgres://a:b@h:1/x?sslmode=disable',
    );
  });
});
