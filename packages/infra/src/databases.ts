import pg from 'pg';
import { withDatabase } from '@comms/postgres';

/** Each service's own database and role (ARCHITECTURE.md: one per service). */
export const SERVICE_DATABASES = [
  { service: 'user-service', database: 'users', role: 'user_service' },
  { service: 'order-service', database: 'orders', role: 'order_service' },
  { service: 'notification-service', database: 'notifications', role: 'notification_service' },
] as const;

// Another process (a parallel test package, a second `npm start`) may create
// the same role or database between our check and our CREATE on a shared
// server; what it created is what we wanted.
const ALREADY_THERE = new Set(['42710', '23505', '42P04']);
async function createUnlessThere(client: pg.Client, sql: string): Promise<void> {
  try {
    await client.query(sql);
  } catch (error) {
    if (!ALREADY_THERE.has((error as { code?: string }).code ?? '')) throw error;
  }
}

/**
 * Creates the per-service roles and databases on a server reached with a
 * superuser URL, if missing, and returns each service's DATABASE_URL. Local
 * development only: each role's password is its name.
 */
export async function provisionServiceDatabases(adminUrl: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const urls: Record<string, string> = {};
  try {
    for (const { service, database, role } of SERVICE_DATABASES) {
      const roleExists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (roleExists.rowCount === 0) {
        await createUnlessThere(
          client,
          `CREATE ROLE ${client.escapeIdentifier(role)} LOGIN PASSWORD ${client.escapeLiteral(role)}`,
        );
      }
      const dbExists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        database,
      ]);
      if (dbExists.rowCount === 0) {
        await createUnlessThere(
          client,
          `CREATE DATABASE ${client.escapeIdentifier(database)} OWNER ${client.escapeIdentifier(role)}`,
        );
      }
      const url = new URL(withDatabase(adminUrl, database));
      if (service === 'user-service') {
        // The shared-database style: order-service reads one view of users through this role.
        const reader = await client.query("SELECT 1 FROM pg_roles WHERE rolname = 'users_reader'");
        if (reader.rowCount === 0)
          await createUnlessThere(client, "CREATE ROLE users_reader LOGIN PASSWORD 'users_reader'");
        const readerUrl = new URL(url);
        readerUrl.username = 'users_reader';
        readerUrl.password = 'users_reader';
        urls['shared-db reader'] = readerUrl.toString();
      }
      url.username = role;
      url.password = role;
      urls[service] = url.toString();
    }
  } finally {
    await client.end();
  }
  return urls;
}
