import type { Migration } from '@comms/postgres';

/** notification-service's schema, in order. Never edit a published migration: add one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'notifications, processed events, user replica, pending events',
    sql: `CREATE TABLE notifications (
      id bigserial PRIMARY KEY,
      event_id uuid NOT NULL UNIQUE,
      event_type text NOT NULL,
      user_id uuid NOT NULL,
      kind text NOT NULL,
      recipient_name text NOT NULL,
      recipient_email text NOT NULL,
      subject text NOT NULL,
      body text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX notifications_by_user ON notifications (user_id, id);
    -- Every event handled, with or without a notification: redelivery is a no-op.
    CREATE TABLE processed_events (
      event_id uuid PRIMARY KEY,
      processed_at timestamptz NOT NULL DEFAULT now()
    );
    -- Event-carried state transfer: contact details replicated from user events.
    CREATE TABLE user_contacts (
      user_id uuid PRIMARY KEY,
      name text NOT NULL,
      email text NOT NULL,
      status text NOT NULL,
      as_of timestamptz NOT NULL
    );
    -- Events whose recipient is not known yet; retried, never dropped.
    CREATE TABLE pending_events (
      event_id uuid PRIMARY KEY,
      user_id uuid NOT NULL,
      event jsonb NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      last_error text,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX pending_events_due ON pending_events (next_attempt_at);`,
  },
];
