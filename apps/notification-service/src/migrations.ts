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
  {
    version: 2,
    name: 'what each notification is about: subject type and id',
    // Rows stored before this version kept no event, so their subject is
    // recovered from what they did keep: user events are about their user;
    // payment, cancellation and shipping bodies name the whole order id; an
    // order confirmation named only an 8-character prefix, which is resolved
    // when exactly one order of the same user that is already known has it.
    // Confirmations that stay unresolved keep a NULL subject_id: never guessed.
    sql: `ALTER TABLE notifications
      ADD COLUMN subject_type text CHECK (subject_type IN ('order', 'user')),
      ADD COLUMN subject_id uuid;
    UPDATE notifications
       SET subject_type = CASE WHEN event_type LIKE 'order.%' THEN 'order' ELSE 'user' END;
    UPDATE notifications SET subject_id = user_id WHERE subject_type = 'user';
    UPDATE notifications
       SET subject_id = substring(body FROM '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')::uuid
     WHERE event_type IN ('order.paid.v1', 'order.cancelled.v1', 'order.shipped.v1');
    UPDATE notifications AS n
       SET subject_id = resolved.order_id
      FROM (SELECT c.id, min(o.subject_id::text)::uuid AS order_id
              FROM notifications c
              JOIN notifications o
                ON o.user_id = c.user_id
               AND o.subject_type = 'order'
               AND o.subject_id IS NOT NULL
               AND left(o.subject_id::text, 8) = substring(c.subject FROM '^Order ([0-9a-f]{8}) confirmed$')
             WHERE c.event_type = 'order.created.v1' AND c.subject_id IS NULL
             GROUP BY c.id
            HAVING count(DISTINCT o.subject_id) = 1) AS resolved
     WHERE n.id = resolved.id;
    ALTER TABLE notifications ALTER COLUMN subject_type SET NOT NULL;
    CREATE INDEX notifications_by_subject ON notifications (subject_id, id);`,
  },
  {
    version: 3,
    name: "who caused each notification's event: the CloudEvents actor attribute",
    // Null for events without the attribute: published by a producer running
    // without authentication, or before it existed. Never guessed for old rows.
    sql: `ALTER TABLE notifications ADD COLUMN actor text;`,
  },
];
