import { parseDatabaseUrl } from './database-url.js';

/**
 * Builds a PostgreSQL URL from the JSON that AWS Secrets Manager keeps for
 * an RDS/Aurora database (`{"username","password","host","port","dbname"}`),
 * as Copilot and CDK hand it to a container. Throws naming the variable and
 * the missing field, never echoing the secret.
 */
export function databaseUrlFromSecret(json: string, variable = 'DATABASE_SECRET'): string {
  const expected = `${variable} must be JSON like {"username":"app","password":"...","host":"db.internal","port":5432,"dbname":"orders"}`;
  let secret: Record<string, unknown>;
  try {
    secret = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new Error(`${expected}; it is not JSON`);
  }
  if (typeof secret !== 'object' || secret === null)
    throw new Error(`${expected}; it is not an object`);
  const field = (name: string, ...aliases: string[]): string => {
    for (const key of [name, ...aliases]) {
      const value = secret[key];
      if (typeof value === 'string' && value !== '') return value;
      if (typeof value === 'number') return String(value);
    }
    throw new Error(`${expected}; '${name}' is missing`);
  };
  const url = new URL('postgres://placeholder');
  url.username = encodeURIComponent(field('username'));
  url.password = encodeURIComponent(field('password'));
  url.hostname = field('host');
  url.port = field('port');
  url.pathname = `/${encodeURIComponent(field('dbname', 'database'))}`;
  const text = url.toString();
  parseDatabaseUrl(text, variable);
  return text;
}

/**
 * The database URL of a service: `DATABASE_URL` as given, or built from
 * `DATABASE_SECRET` (the secret JSON of RDS/Aurora). Exactly one must be set.
 */
export function databaseUrlOf(env: {
  DATABASE_URL?: string | undefined;
  DATABASE_SECRET?: string | undefined;
}): string {
  if (env.DATABASE_URL !== undefined && env.DATABASE_SECRET !== undefined) {
    throw new Error('set either DATABASE_URL or DATABASE_SECRET, not both');
  }
  if (env.DATABASE_SECRET !== undefined) return databaseUrlFromSecret(env.DATABASE_SECRET);
  if (env.DATABASE_URL === undefined) {
    throw new Error(
      'DATABASE_URL is required (postgres://user:password@host:5432/database), or DATABASE_SECRET (the JSON secret of an RDS/Aurora database)',
    );
  }
  return parseDatabaseUrl(env.DATABASE_URL).url;
}
