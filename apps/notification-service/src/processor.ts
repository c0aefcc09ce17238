import type { AnyEvent } from '@comms/contracts';
import { withTransaction } from '@comms/postgres';
import type { Pool, PoolClient } from '@comms/postgres';
import { RecipientUnknown, upsertContact } from './recipients.js';
import type { Contact, Recipients } from './recipients.js';

/** A stored notification, as the API and the live feed show it. */
export interface Notification {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly userId: string;
  readonly kind: string;
  /** What kind of aggregate the event was about. */
  readonly subjectType: SubjectType;
  /**
   * The event's subject, the aggregate id: the order's id for order events,
   * the user's for user events. Null only for an order confirmation stored
   * before subjects were kept whose order could not be recovered.
   */
  readonly subjectId: string | null;
  /** The order this notification is about; null when it is about a user. */
  readonly orderId: string | null;
  readonly recipientName: string;
  readonly recipientEmail: string;
  readonly subject: string;
  readonly body: string;
  /**
   * Who caused the event (its CloudEvents `actor`: `user:<sub>` or
   * `service:<client id>`); null when the event named nobody.
   */
  readonly actor: string | null;
  readonly createdAt: string;
}

/** The kinds of aggregate that events are about. */
export type SubjectType = 'order' | 'user';

/**
 * The aggregate an event is about. By contract that is the event's
 * `subject`; it is taken from `data`, which the event schema checks is a uuid.
 */
function subjectOf(event: AnyEvent): { type: SubjectType; id: string } {
  return 'orderId' in event.data
    ? { type: 'order', id: event.data.orderId }
    : { type: 'user', id: event.data.userId };
}

export type OrderEvent = Exclude<AnyEvent, { type: 'user.registered.v1' | 'user.deactivated.v1' }>;

/** The Postgres channel on which new notifications are announced (for SSE on every instance). */
export const FEED_CHANNEL = 'notifications_feed';

const short = (id: string) => id.slice(0, 8);

/** What to tell the user about an event, or nothing. */
function compose(
  event: AnyEvent,
  to: Contact,
): { kind: string; subject: string; body: string } | undefined {
  switch (event.type) {
    case 'user.registered.v1':
      return {
        kind: 'welcome',
        subject: `Welcome, ${to.name}!`,
        body: `Hello ${to.name}, your account is ready.`,
      };
    case 'user.deactivated.v1':
      return undefined;
    case 'order.created.v1':
      return {
        kind: 'order-confirmation',
        subject: `Order ${short(event.data.orderId)} confirmed`,
        body: `Thank you, ${to.name}. We received your order of ${event.data.items.length} item(s), total ${event.data.totalAmount}.`,
      };
    case 'order.paid.v1':
      return {
        kind: 'payment-received',
        subject: `Payment received for order ${short(event.data.orderId)}`,
        body: `We received ${event.data.amount} for order ${event.data.orderId}.`,
      };
    case 'order.cancelled.v1':
      return {
        kind: 'order-cancelled',
        subject: `Order ${short(event.data.orderId)} cancelled`,
        body: `Order ${event.data.orderId} was cancelled${event.data.reason === '' ? '' : `: ${event.data.reason}`}.`,
      };
    case 'order.shipped.v1':
      return {
        kind: 'order-shipped',
        subject: `Order ${short(event.data.orderId)} shipped`,
        body: `Order ${event.data.orderId} is on its way.`,
      };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** Result of handling one event. */
export type Outcome = 'notified' | 'replica-updated' | 'duplicate' | 'pending';

/**
 * Handles one valid event. The notification and the event id are stored in
 * one transaction, and a stored event id makes a redelivery a no-op: exactly
 * one notification per event, whatever Kafka redelivers. An order event whose
 * recipient cannot be found is parked in pending_events, to be retried.
 */
export function createProcessor(deps: {
  pool: Pool;
  recipients: Recipients;
  afterCommit?: (event: AnyEvent) => void;
}) {
  const { pool } = deps;

  const store = async (client: PoolClient, event: AnyEvent, to: Contact): Promise<boolean> => {
    const first = await client.query(
      'INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING',
      [event.id],
    );
    if (first.rowCount === 0) return false;
    await client.query('DELETE FROM pending_events WHERE event_id = $1', [event.id]);
    const message = compose(event, to);
    if (message === undefined) return true;
    const about = subjectOf(event);
    const inserted = await client.query<{ id: string; created_at: Date }>(
      `INSERT INTO notifications (event_id, event_type, user_id, kind, subject_type, subject_id, recipient_name, recipient_email, subject, body, actor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id::text, created_at`,
      [
        event.id,
        event.type,
        to.userId,
        message.kind,
        about.type,
        about.id,
        to.name,
        to.email,
        message.subject,
        message.body,
        event.actor ?? null,
      ],
    );
    const row = inserted.rows[0];
    const notification: Notification = {
      id: row?.id ?? '',
      eventId: event.id,
      eventType: event.type,
      userId: to.userId,
      kind: message.kind,
      subjectType: about.type,
      subjectId: about.id,
      orderId: about.type === 'order' ? about.id : null,
      recipientName: to.name,
      recipientEmail: to.email,
      subject: message.subject,
      body: message.body,
      actor: event.actor ?? null,
      createdAt: (row?.created_at ?? new Date()).toISOString(),
    };
    // Delivered to listeners when (and only if) the transaction commits.
    await client.query('SELECT pg_notify($1, $2)', [FEED_CHANNEL, JSON.stringify(notification)]);
    return true;
  };

  /**
   * The order events' write, in one statement whatever their number (so one
   * implicit transaction and one round trip): each event id, its
   * notification and its announcement, or nothing for an event id stored
   * before. The same steps as `store`. Resolves with the positions (in
   * `pairs`) of the events it stored.
   */
  const storeMany = async (
    pairs: ReadonlyArray<{ event: OrderEvent; to: Contact }>,
  ): Promise<Set<number>> => {
    if (pairs.length === 0) return new Set();
    const rows = pairs.map(({ event, to }) => {
      const message = compose(event, to);
      if (message === undefined) throw new Error(`no message for ${event.type}`);
      const about = subjectOf(event);
      const notification: Omit<Notification, 'id' | 'createdAt'> = {
        eventId: event.id,
        eventType: event.type,
        userId: to.userId,
        kind: message.kind,
        subjectType: about.type,
        subjectId: about.id,
        orderId: about.id,
        recipientName: to.name,
        recipientEmail: to.email,
        subject: message.subject,
        body: message.body,
        actor: event.actor ?? null,
      };
      return { ...notification, announcement: JSON.stringify(notification) };
    });
    const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((row) => row[key]);
    const result = await pool.query<{ at: number }>(
      `WITH input AS (
         SELECT i.event_id, i.event_type, i.user_id, i.kind, i.subject_type, i.subject_id,
                i.recipient_name, i.recipient_email, i.subject, i.body, i.actor, i.announcement, i.ord
           FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::uuid[],
                       $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[])
                WITH ORDINALITY AS i (event_id, event_type, user_id, kind, subject_type, subject_id,
                       recipient_name, recipient_email, subject, body, actor, announcement, ord)
       ), first AS (
         INSERT INTO processed_events (event_id)
         SELECT event_id FROM input ORDER BY ord ON CONFLICT DO NOTHING RETURNING event_id
       ), unparked AS (
         DELETE FROM pending_events WHERE event_id IN (SELECT event_id FROM first)
       ), stored AS (
         INSERT INTO notifications (event_id, event_type, user_id, kind, subject_type, subject_id, recipient_name, recipient_email, subject, body, actor)
         SELECT i.event_id, i.event_type, i.user_id, i.kind, i.subject_type, i.subject_id,
                i.recipient_name, i.recipient_email, i.subject, i.body, i.actor
           FROM input i JOIN first f ON f.event_id = i.event_id ORDER BY i.ord
         RETURNING id, event_id, created_at
       )
       -- Ids as stored (the API's form), whatever case the event wrote them in.
       SELECT i.ord::int - 1 AS at,
              pg_notify($13, (i.announcement || jsonb_build_object('id', s.id::text,
                'eventId', s.event_id::text, 'userId', i.user_id::text,
                'createdAt', to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::text)
         FROM stored s JOIN input i ON i.event_id = s.event_id ORDER BY s.id`,
      [
        column('eventId'),
        column('eventType'),
        column('userId'),
        column('kind'),
        column('subjectType'),
        column('subjectId'),
        column('recipientName'),
        column('recipientEmail'),
        column('subject'),
        column('body'),
        column('actor'),
        column('announcement'),
        FEED_CHANNEL,
      ],
    );
    // Matched by position: PostgreSQL writes ids in its own form, not as the event gave them.
    return new Set(result.rows.map((row) => row.at));
  };

  /**
   * Whether each event was handled before, and its recipient if the replica
   * has one, in the order of `events`: one round trip. Compared as uuids in
   * PostgreSQL and answered by position, so the case an id was written in
   * does not matter.
   */
  const known = async (
    events: readonly OrderEvent[],
  ): Promise<Array<{ done: boolean; contact: Contact | undefined }>> => {
    const result = await pool.query<{
      at: number;
      done: boolean;
      name: string | null;
      email: string | null;
    }>(
      `SELECT e.ord::int - 1 AS at,
              EXISTS (SELECT 1 FROM processed_events p WHERE p.event_id = e.event_id) AS done,
              c.name, c.email
         FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS e (event_id, user_id, ord)
         LEFT JOIN user_contacts c ON c.user_id = e.user_id`,
      [events.map((event) => event.id), events.map((event) => event.data.userId)],
    );
    const answers: Array<{ done: boolean; contact: Contact | undefined }> = events.map(() => ({
      done: false,
      contact: undefined,
    }));
    for (const row of result.rows) {
      const event = events[row.at];
      if (event === undefined) continue;
      answers[row.at] = {
        done: row.done,
        contact:
          row.name === null || row.email === null
            ? undefined
            : { userId: event.data.userId, name: row.name, email: row.email },
      };
    }
    return answers;
  };

  const handle = async (event: AnyEvent): Promise<Outcome> => {
    if (event.type === 'user.registered.v1' || event.type === 'user.deactivated.v1') {
      const done = await pool.query('SELECT 1 FROM processed_events WHERE event_id = $1', [
        event.id,
      ]);
      if ((done.rowCount ?? 0) > 0) return 'duplicate';
      const outcome = await withTransaction(pool, async (client) => {
        if (event.type === 'user.registered.v1') {
          const contact = {
            userId: event.data.userId,
            name: event.data.name,
            email: event.data.email,
          };
          await upsertContact(client, { ...contact, status: 'active', asOf: event.time });
          return (await store(client, event, contact)) ? 'notified' : 'duplicate';
        }
        await client.query(
          'UPDATE user_contacts SET status = $2, as_of = $3 WHERE user_id = $1 AND as_of <= $3',
          [event.data.userId, 'inactive', event.time],
        );
        const first = await client.query(
          'INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING',
          [event.id],
        );
        return first.rowCount === 0 ? 'duplicate' : 'replica-updated';
      });
      deps.afterCommit?.(event);
      return outcome;
    }

    // One round trip says whether the event was handled before and who its
    // recipient is in the local replica.
    const [found] = await known([event]);
    if (found?.done === true) return 'duplicate';
    let to: Contact;
    try {
      to = found?.contact ?? (await deps.recipients.remote(event.data.userId));
    } catch (error) {
      if (!(error instanceof RecipientUnknown)) throw error;
      await pool.query(
        `INSERT INTO pending_events (event_id, user_id, event, last_error) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id) DO NOTHING`,
        [event.id, event.data.userId, JSON.stringify(event), error.message],
      );
      return 'pending';
    }
    const stored = await storeMany([{ event, to }]);
    deps.afterCommit?.(event);
    return stored.has(0) ? 'notified' : 'duplicate';
  };

  /**
   * Handles order events of one fetched batch together: one query finds
   * which were handled before and their recipients, one statement stores
   * the rest, so two round trips for the batch. Events whose recipient the
   * replica does not have are left for `handle`, one at a time (they may
   * ask user-service or be parked). Idempotent per event, as `handle`.
   */
  const handleOrderBatch = async (
    events: readonly OrderEvent[],
  ): Promise<{ outcomes: Array<Outcome | undefined>; left: OrderEvent[] }> => {
    // One outcome per event, in order; undefined for those left to `handle`.
    const outcomes: Array<Outcome | undefined> = [];
    const left: OrderEvent[] = [];
    const ready: Array<{ event: OrderEvent; to: Contact; at: number }> = [];
    const taken = new Set<string>();
    const seen = await known(events);
    events.forEach((event, at) => {
      const found = seen[at];
      // Handled before, or earlier in this very batch (a redelivered copy;
      // ids compared in lowercase, as PostgreSQL compares uuids).
      const id = event.id.toLowerCase();
      if (found?.done === true || taken.has(id)) outcomes[at] = 'duplicate';
      else if (found?.contact === undefined) {
        outcomes[at] = undefined;
        left.push(event);
      } else {
        ready.push({ event, to: found.contact, at });
        outcomes[at] = 'notified';
      }
      taken.add(id);
    });
    const stored = await storeMany(ready);
    ready.forEach(({ event, at }, position) => {
      if (!stored.has(position)) outcomes[at] = 'duplicate';
      deps.afterCommit?.(event);
    });
    return { outcomes, left };
  };

  return {
    handle,
    handleOrderBatch,
    /**
     * Retries parked events that are due (or all of one user's, right after
     * that user's event arrived). Backs off per event; resolves with how many
     * were turned into notifications.
     */
    async retryPending(options: { userId?: string; limit?: number } = {}): Promise<number> {
      const due = await pool.query<{ event: AnyEvent; attempts: number }>(
        `SELECT event, attempts FROM pending_events
          WHERE ${options.userId === undefined ? 'next_attempt_at <= now()' : 'user_id = $2'}
          ORDER BY created_at LIMIT $1`,
        options.userId === undefined
          ? [options.limit ?? 100]
          : [options.limit ?? 100, options.userId],
      );
      let resolved = 0;
      for (const { event, attempts } of due.rows) {
        const outcome = await handle(event);
        if (outcome === 'notified' || outcome === 'duplicate') {
          resolved += 1;
        } else {
          const backoffMs = Math.min(300_000, 1_000 * 2 ** Math.min(attempts, 10));
          await pool.query(
            `UPDATE pending_events SET attempts = attempts + 1, next_attempt_at = now() + ($2 || ' milliseconds')::interval
              WHERE event_id = $1`,
            [event.id, String(backoffMs)],
          );
        }
      }
      return resolved;
    },
  };
}

export type Processor = ReturnType<typeof createProcessor>;
