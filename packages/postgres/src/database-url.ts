/** The parts of a PostgreSQL connection URL that the project relies on. */
export interface DatabaseUrl {
  /** The URL exactly as given. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

const EXPECTED = 'postgres://user:password@host:5432/database';

/**
 * Parses and validates a PostgreSQL connection URL, such as the value of
 * `DATABASE_URL`. Throws an error that names the variable, the expected
 * format and the value (with any password hidden) when it is malformed.
 */
export function parseDatabaseUrl(
  value: string | undefined,
  variable = 'DATABASE_URL',
): DatabaseUrl {
  const fail = (why: string): never => {
    throw new Error(
      `${variable} must be a PostgreSQL URL like ${EXPECTED}, got '${redactDatabaseUrl(value ?? '')}': ${why}`,
    );
  };
  if (value === undefined || value.trim() === '') fail('it is empty');
  const text = (value ?? '').trim();
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return fail('it is not a URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    fail(`the scheme must be postgres:// or postgresql://, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') fail('the host is missing');
  const port = parsed.port === '' ? 5432 : Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail('the port is not 1-65535');
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) fail('the database name is missing');
  const user = decodeURIComponent(parsed.username);
  if (user === '') fail('the user is missing');
  return { url: text, host: parsed.hostname, port, database, user };
}

/** Returns the URL with its password replaced by `***`, for logs and errors. */
export function redactDatabaseUrl(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return value.replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@');
  }
}

/** Returns the same server URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}
