import { OUTBOX_MIGRATION } from '@comms/outbox';
import type { Migration } from '@comms/postgres';

/** user-service's schema, in order. Never edit a published migration: add one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users',
    sql: `CREATE TABLE users (
      id uuid PRIMARY KEY,
      seq bigserial NOT NULL UNIQUE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_email_unique ON users (lower(email));`,
  },
  OUTBOX_MIGRATION,
  {
    version: 2,
    name: 'user directory for the shared-database style',
    // order-service may read this one view (never the table) through the
    // read-only role users_reader, when that role exists on the server.
    sql: `CREATE VIEW user_directory AS SELECT id, name, status FROM users;
    DO $$
    BEGIN
      IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'users_reader') THEN
        GRANT SELECT ON user_directory TO users_reader;
      END IF;
    END
    $$;`,
  },
];
