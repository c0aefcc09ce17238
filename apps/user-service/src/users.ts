import { randomUUID } from 'node:crypto';
import { CLOUDEVENTS_CONTENT_TYPE, createEvent, TOPICS, unstorableReason } from '@comms/contracts';
import type { AnyEvent } from '@comms/contracts';
import { enqueue } from '@comms/outbox';
import { withTransaction } from '@comms/postgres';
import type { Pool, PoolClient } from '@comms/postgres';
import { AppError } from '@comms/service-kit';
import type { FieldViolation } from '@comms/service-kit';

/** A user as the service shows it. */
export interface User {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly status: 'active' | 'inactive';
  readonly createdAt: Date;
}

/** One page of users and the cursor of the next, if any. */
export interface UserPage {
  readonly items: readonly User[];
  readonly nextCursor: string | null;
}

/** The answer to "may this user place orders?". */
export interface Validation {
  readonly valid: boolean;
  readonly userName: string;
  readonly errorMessage: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/**
 * What an email address must look like, besides its format: deliberately
 * plain, one @, no spaces, a dot in the domain. Delivery proves the rest.
 */
export const EMAIL_PATTERN = '^[^\\s@]{1,64}@[^\\s@]+\\.[^\\s@]{2,}$';
const EMAIL = new RegExp(EMAIL_PATTERN);
const SOURCE = '/user-service';
export const MAX_PAGE = 100;

/** Throws INVALID_ARGUMENT unless `id` is a UUID. */
export function requireUuid(id: string, field: string): void {
  if (!UUID.test(id)) {
    throw new AppError('INVALID_ARGUMENT', `${field} must be a UUID, got '${id.slice(0, 60)}'`, [
      { field, message: 'must be a UUID' },
    ]);
  }
}

function checkNewUser(input: { name: string; email: string }): { name: string; email: string } {
  const name = input.name.trim();
  const email = input.email.trim();
  const violations: FieldViolation[] = [];
  // PostgreSQL cannot store NUL or unpaired surrogates: see @comms/contracts' text rule.
  for (const [field, text] of [
    ['name', name],
    ['email', email],
  ] as const) {
    const reason = unstorableReason(text);
    if (reason !== undefined) violations.push({ field, message: reason });
  }
  if (name.length < 1 || name.length > 100)
    violations.push({ field: 'name', message: 'must be 1-100 characters' });
  if (email.length > 254 || !EMAIL.test(email))
    violations.push({ field: 'email', message: 'must be an email address' });
  if (violations.length > 0) {
    throw new AppError(
      'INVALID_ARGUMENT',
      violations.map((v) => `${v.field} ${v.message}`).join('; '),
      violations,
    );
  }
  return { name, email };
}

interface Row {
  id: string;
  seq: string;
  name: string;
  email: string;
  status: 'active' | 'inactive';
  created_at: Date;
}

const toUser = (row: Row): User => ({
  id: row.id,
  name: row.name,
  email: row.email,
  status: row.status,
  createdAt: row.created_at,
});

function outboxMessage(event: AnyEvent) {
  return {
    topic: TOPICS.users,
    key: event.subject,
    payload: JSON.stringify(event),
    headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
  };
}

// Base64url (unpadded) of "u:" and 1-18 digits. Each character carries six
// bits, so three bytes are four characters: "u:" and the first digit are
// "dTo" and one of [w-z0-5]; each further three digits, 0011aaaa 0011bbbb
// 0011cccc, are four characters whose first two depend on one digit
// together; one or two digits left over are two or three characters.
const DIGIT_PAIR = '(?:[MN][DTjz]|O[DT])';
const MIDDLE = '[AEIMQUYcgk]';
const LAST = '[w-z0-5]';
/**
 * The JSON Schema `pattern` of exactly the cursors {@link encodeCursor}
 * makes, or empty (the first page): a document can state what the server
 * accepts without making the cursor less opaque.
 */
export const CURSOR_PATTERN = `^(?:dTo${LAST}(?:${DIGIT_PAIR}${MIDDLE}${LAST}){0,5}(?:${DIGIT_PAIR}${MIDDLE}|(?:[MN][AQgw]|O[AQ]))?)?$`;

/** The cursor of the page after the user with this sequence number. */
export function encodeCursor(seq: string): string {
  return Buffer.from(`u:${seq}`).toString('base64url');
}

/** The sequence number in a cursor; INVALID_ARGUMENT when it is not one this service made. */
export function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^u:(\d{1,18})$/.exec(text);
  if (match?.[1] === undefined) {
    throw new AppError('INVALID_ARGUMENT', 'cursor is not one this service returned', [
      { field: 'cursor', message: 'is invalid' },
    ]);
  }
  return match[1];
}

/**
 * The users of the system. Every change and its event are written in one
 * transaction (the event goes to the outbox), so there is never a user
 * without its event or an event without its user.
 */
export function createUsers(deps: {
  pool: Pool;
  now?: () => Date;
  /** Called after a transaction that wrote to the outbox commits (the relay's wake). */
  outboxWritten?: () => void;
}) {
  const now = deps.now ?? (() => new Date());
  const outboxWritten = deps.outboxWritten ?? (() => undefined);
  const { pool } = deps;

  const find = async (
    client: Pool | PoolClient,
    id: string,
    lock = false,
  ): Promise<Row | undefined> => {
    const result = await client.query<Row>(
      `SELECT id, seq::text, name, email, status, created_at FROM users WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return result.rows[0];
  };

  return {
    /** `actor`: who registers the user (`service:<client id>`), recorded on its event; none when off. */
    async create(input: {
      name: string;
      email: string;
      actor?: string | undefined;
    }): Promise<User> {
      const { name, email } = checkNewUser(input);
      const id = randomUUID();
      const at = now();
      try {
        const user = await withTransaction(pool, async (client) => {
          const inserted = await client.query<Row>(
            `INSERT INTO users (id, name, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
             RETURNING id, seq::text, name, email, status, created_at`,
            [id, name, email, at],
          );
          const user = toUser(inserted.rows[0] as Row);
          const event = createEvent('user.registered.v1', {
            source: SOURCE,
            subject: id,
            time: at,
            data: { userId: id, name, email, registeredAt: at.toISOString() },
            ...(input.actor === undefined ? {} : { actor: input.actor }),
          });
          await enqueue(client, [outboxMessage(event)]);
          return user;
        });
        outboxWritten();
        return user;
      } catch (error) {
        if ((error as { code?: string }).code === '23505') {
          throw new AppError('ALREADY_EXISTS', `a user with email ${email} already exists`, [
            { field: 'email', message: 'is already registered' },
          ]);
        }
        throw error;
      }
    },

    async get(id: string): Promise<User> {
      requireUuid(id, 'id');
      const row = await find(pool, id);
      if (row === undefined) throw new AppError('NOT_FOUND', `user ${id} not found`);
      return toUser(row);
    },

    async list(options: { limit?: number; cursor?: string }): Promise<UserPage> {
      const limit = options.limit ?? 20;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
        throw new AppError('INVALID_ARGUMENT', `limit must be 1-${MAX_PAGE}, got ${limit}`, [
          { field: 'limit', message: `must be 1-${MAX_PAGE}` },
        ]);
      }
      const after =
        options.cursor === undefined || options.cursor === '' ? '0' : decodeCursor(options.cursor);
      const result = await pool.query<Row>(
        `SELECT id, seq::text, name, email, status, created_at FROM users
          WHERE seq > $1 ORDER BY seq LIMIT $2`,
        [after, limit + 1],
      );
      const rows = result.rows.slice(0, limit);
      const last = rows.at(-1);
      return {
        items: rows.map(toUser),
        nextCursor:
          result.rows.length > limit && last !== undefined ? encodeCursor(last.seq) : null,
      };
    },

    /**
     * Idempotent: deactivating an inactive user changes nothing and emits
     * nothing. `actor`, as for {@link create}, goes on the event.
     */
    async deactivate(id: string, options: { actor?: string | undefined } = {}): Promise<User> {
      requireUuid(id, 'id');
      const user = await withTransaction(pool, async (client) => {
        const row = await find(client, id, true);
        if (row === undefined) throw new AppError('NOT_FOUND', `user ${id} not found`);
        if (row.status === 'inactive') return toUser(row);
        const at = now();
        await client.query("UPDATE users SET status = 'inactive', updated_at = $2 WHERE id = $1", [
          id,
          at,
        ]);
        const event = createEvent('user.deactivated.v1', {
          source: SOURCE,
          subject: id,
          time: at,
          data: { userId: id, deactivatedAt: at.toISOString() },
          ...(options.actor === undefined ? {} : { actor: options.actor }),
        });
        await enqueue(client, [outboxMessage(event)]);
        return toUser({ ...row, status: 'inactive' });
      });
      outboxWritten();
      return user;
    },

    async validate(id: string): Promise<Validation> {
      requireUuid(id, 'user_id');
      const row = await find(pool, id);
      if (row === undefined)
        return { valid: false, userName: '', errorMessage: `user ${id} not found` };
      if (row.status !== 'active')
        return { valid: false, userName: '', errorMessage: `user ${id} is inactive` };
      return { valid: true, userName: row.name, errorMessage: '' };
    },
  };
}

/** The users module's interface, as the transports see it. */
export type Users = ReturnType<typeof createUsers>;
