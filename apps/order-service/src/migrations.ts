import { OUTBOX_MIGRATION } from '@comms/outbox';
import type { Migration } from '@comms/postgres';

/** order-service's schema, in order. Never edit a published migration: add one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'event store',
    sql: `CREATE TABLE streams (
      stream_id uuid PRIMARY KEY,
      version integer NOT NULL CHECK (version > 0)
    );
    CREATE TABLE events (
      global_position bigserial PRIMARY KEY,
      -- The writing transaction: readers use it to read in a safe commit order.
      tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
      stream_id uuid NOT NULL REFERENCES streams (stream_id),
      version integer NOT NULL,
      event_id uuid NOT NULL UNIQUE,
      type text NOT NULL,
      data jsonb NOT NULL,
      occurred_at timestamptz NOT NULL,
      UNIQUE (stream_id, version)
    );
    CREATE INDEX events_commit_order ON events (tx_id, global_position);`,
  },
  {
    version: 2,
    name: 'orders read model and idempotency keys',
    sql: `CREATE TABLE orders_view (
      order_id uuid PRIMARY KEY,
      user_id uuid NOT NULL,
      user_name text NOT NULL,
      status text NOT NULL,
      items jsonb NOT NULL,
      total_amount text NOT NULL,
      version integer NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE INDEX orders_view_by_user ON orders_view (user_id, created_at, order_id);
    CREATE TABLE idempotency_keys (
      key text PRIMARY KEY,
      request_hash text NOT NULL,
      response jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );`,
  },
  OUTBOX_MIGRATION,
  {
    version: 3,
    name: 'events record who caused them',
    // Nullable: events stored before it, and every event while authentication
    // is off, have no actor. Adding a nullable column rewrites no row.
    sql: `ALTER TABLE events ADD COLUMN actor text;`,
  },
];
