import { createHash, randomUUID } from 'node:crypto';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  createEvent,
  formatMoney,
  parseMoney,
  TOPICS,
} from '@comms/contracts';
import type { EventType } from '@comms/contracts';
import { enqueuePart } from '@comms/outbox';
import { createStatement, withTransaction } from '@comms/postgres';
import type { Pool, PoolClient, Statement } from '@comms/postgres';
import { AppError } from '@comms/service-kit';
import { toContract } from './contract-events.js';
import { checkItems, decide } from './domain/decide.js';
import type { CheckedLines, OrderCommand } from './domain/decide.js';
import { evolve, initialState } from './domain/order.js';
import type { Order, OrderLine, OrderStatus } from './domain/order.js';
import { appendPart, readStream, runAppend } from './event-store.js';
import type { NewEvent, StoredEvent } from './event-store.js';
import { foldRow, projectPart, replaceRow } from './projection.js';
import type { OrderRow } from './projection.js';
import { diffOrders } from './read-model-diff.js';
import type { FieldDifference } from './read-model-diff.js';
import type { UserValidator } from './user-validation.js';

/** An order as the read model shows it. */
export interface OrderView {
  readonly orderId: string;
  readonly userId: string;
  readonly userName: string;
  readonly status: OrderStatus;
  readonly items: readonly { productId: string; quantity: number; price: string }[];
  readonly totalAmount: string;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What creating an order answers. */
export interface Created {
  readonly orderId: string;
  readonly status: 'CREATED';
  readonly userName: string;
  readonly totalAmount: string;
  readonly version: number;
}

/** The order was not placed because of the user: a business answer, not a fault. */
export class OrderRejected extends AppError {
  constructor(reason: string) {
    super('FAILED_PRECONDITION', reason);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
function requireUuid(value: string, field: string): void {
  if (!UUID.test(value)) {
    throw new AppError('INVALID_ARGUMENT', `${field} must be a UUID, got '${value.slice(0, 60)}'`, [
      { field, message: 'must be a UUID' },
    ]);
  }
}

/**
 * The checks of a new order that need nothing but the request: a UUID
 * userId, decimal prices, positive quantities and a non-empty list.
 * `create` runs them first; gRPC runs them before the permission check too,
 * so a malformed request is INVALID_ARGUMENT over gRPC as it is 400 over
 * REST (whose schema comes first), never PERMISSION_DENIED.
 */
export function checkNewOrder(input: {
  readonly userId: string;
  readonly items: readonly { productId: string; quantity: number; price: string }[];
}): CheckedLines {
  requireUuid(input.userId, 'userId');
  const items: OrderLine[] = input.items.map((item, i) => {
    let priceMinor: number;
    try {
      priceMinor = parseMoney(item.price);
    } catch {
      throw new AppError(
        'INVALID_ARGUMENT',
        `items[${i}].price must be a decimal string with at most two fraction digits, like "19.99"`,
        [{ field: `items[${i}].price`, message: 'must be a decimal string like "19.99"' }],
      );
    }
    return { productId: item.productId, quantity: item.quantity, priceMinor };
  });
  return checkItems(items);
}

const SOURCE = '/order-service';

/** What an unknown order id is answered (access.ts turns it into a refusal for users who are not operators). */
export function orderNotFound(orderId: string): AppError {
  return new AppError('NOT_FOUND', `order ${orderId} not found`);
}

/** The order as the caller sees it, from a row of the read model as projected. */
const rowView = (row: OrderRow): OrderView => ({
  orderId: row.state.orderId,
  userId: row.state.userId,
  userName: row.state.userName,
  status: row.state.status,
  items: row.state.items.map((item) => ({
    productId: item.productId,
    quantity: item.quantity,
    price: formatMoney(item.priceMinor),
  })),
  totalAmount: formatMoney(row.state.totalMinor),
  version: row.version,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

interface ViewRow {
  order_id: string;
  user_id: string;
  user_name: string;
  status: OrderStatus;
  items: OrderView['items'];
  total_amount: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}
const toView = (r: ViewRow): OrderView => ({
  orderId: r.order_id,
  userId: r.user_id,
  userName: r.user_name,
  status: r.status,
  items: r.items,
  totalAmount: r.total_amount,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * The application service of orders: it loads a stream, asks the decider,
 * and in one transaction appends the events, updates the read model and
 * writes the events to the outbox. The clock and id source are parameters.
 */
export function createOrders(deps: {
  pool: Pool;
  validator: UserValidator;
  now?: () => Date;
  newId?: () => string;
  /** Called after a transaction that wrote to the outbox commits (the relay's wake). */
  outboxWritten?: () => void;
}) {
  const { pool, validator } = deps;
  const outboxWritten = deps.outboxWritten ?? (() => undefined);
  const now = deps.now ?? (() => new Date());
  const newId = deps.newId ?? randomUUID;

  /**
   * Decides a command once, on the state folded from the stream, and in one
   * statement (so one transaction and one round trip) appends the events at
   * the version it read, projects them and enqueues them; `also` adds parts
   * that must commit with them. Answers the order's row after them. The
   * append's version check is the only lock: a writer that got there first
   * makes this fail with ABORTED and nothing written. `actor` (who caused
   * the command, `user:<sub>`) is stored with each event and set on the
   * CloudEvent the outbox publishes; undefined leaves both without one.
   */
  const commit = async (
    db: Pool | PoolClient,
    orderId: string,
    before: OrderRow | undefined,
    command: OrderCommand,
    actor: string | undefined,
    also?: (statement: Statement, guard: string, after: OrderRow) => void,
  ): Promise<OrderRow> => {
    const state: Order = before?.state ?? initialState;
    const decided = decide(command, state);
    let running = state;
    const newEvents: NewEvent[] = decided.map((event) => {
      const contract = toContract(event, running);
      running = evolve(running, event);
      return {
        eventId: newId(),
        type: contract.type,
        data: contract.data,
        occurredAt: command.data.now,
        ...(actor === undefined ? {} : { actor }),
      };
    });
    const expectedVersion = before?.version ?? 0;
    const statement = createStatement();
    const append = appendPart(statement, orderId, expectedVersion, newEvents);
    const after = projectPart(statement, before, append.stored, append.guard);
    if (after === undefined) throw new Error(`order ${orderId} has no state after ${command.type}`);
    enqueuePart(
      statement,
      append.stored.map((event) => {
        const cloudEvent = createEvent(event.type as EventType, {
          id: event.eventId,
          source: SOURCE,
          subject: orderId,
          time: event.occurredAt,
          data: event.data as never,
          ...(event.actor === undefined ? {} : { actor: event.actor }),
        });
        return {
          topic: TOPICS.orders,
          key: orderId,
          payload: JSON.stringify(cloudEvent),
          headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
        };
      }),
      append.guard,
    );
    also?.(statement, append.guard, after);
    await runAppend(db, statement, append, expectedVersion);
    return after;
  };

  const view = async (db: Pool | PoolClient, orderId: string): Promise<OrderView> => {
    const result = await db.query<ViewRow>('SELECT * FROM orders_view WHERE order_id = $1', [
      orderId,
    ]);
    const row = result.rows[0];
    if (row === undefined) throw orderNotFound(orderId);
    return toView(row);
  };

  return {
    async create(input: {
      userId: string;
      items: readonly { productId: string; quantity: number; price: string }[];
      idempotencyKey?: string;
      /** Who places it (`user:<sub>`); undefined when authentication is off. */
      actor?: string;
    }): Promise<Created> {
      // Cheap checks first: a malformed order never costs a call to user-service.
      const lines = checkNewOrder(input);
      const key = input.idempotencyKey;
      const requestHash = createHash('sha256')
        .update(JSON.stringify({ userId: input.userId, items: input.items }))
        .digest('hex');
      const replayed = async (db: Pool | PoolClient): Promise<Created | undefined> => {
        if (key === undefined) return undefined;
        const found = await db.query<{ request_hash: string; response: Created }>(
          'SELECT request_hash, response FROM idempotency_keys WHERE key = $1',
          [key],
        );
        const row = found.rows[0];
        if (row === undefined) return undefined;
        if (row.request_hash !== requestHash) {
          throw new AppError(
            'FAILED_PRECONDITION',
            'Idempotency-Key was already used for a different request',
          );
        }
        return row.response;
      };

      const earlier = await replayed(pool);
      if (earlier !== undefined) return earlier;

      const check = await validator.validate(input.userId);
      if (!check.valid) throw new OrderRejected(check.errorMessage);

      const orderId = newId();
      const at = now();
      const created = (order: OrderView): Created => ({
        orderId: order.orderId,
        status: 'CREATED',
        userName: order.userName,
        totalAmount: order.totalAmount,
        version: order.version,
      });
      try {
        const order = await commit(
          pool,
          orderId,
          undefined,
          {
            type: 'CreateOrder',
            data: {
              orderId,
              userId: input.userId,
              userName: check.userName,
              items: lines,
              now: at,
            },
          },
          input.actor,
          (statement, guard, after) => {
            if (key === undefined) return;
            // The key is stored with the order, in the same statement. Its
            // unique index makes a concurrent duplicate wait for us, then
            // fail (23505, nothing written) and replay our answer.
            statement.with(
              'remembered',
              `INSERT INTO idempotency_keys (key, request_hash, response)
               SELECT ${statement.param(key, 'text')}, ${statement.param(requestHash, 'text')},
                      ${statement.param(JSON.stringify(created(rowView(after))), 'jsonb')} FROM ${guard}`,
            );
          },
        );
        outboxWritten();
        return created(rowView(order));
      } catch (error) {
        if ((error as { code?: string }).code === '23505' && key !== undefined) {
          const winner = await replayed(pool);
          if (winner !== undefined) return winner;
        }
        throw error;
      }
    },

    async get(orderId: string): Promise<OrderView> {
      requireUuid(orderId, 'orderId');
      return view(pool, orderId);
    },

    async history(orderId: string): Promise<StoredEvent[]> {
      requireUuid(orderId, 'orderId');
      const events = await readStream(pool, orderId);
      if (events.length === 0) throw orderNotFound(orderId);
      return events;
    },

    async listByUser(userId: string, limit = 50): Promise<OrderView[]> {
      requireUuid(userId, 'userId');
      const result = await pool.query<ViewRow>(
        'SELECT * FROM orders_view WHERE user_id = $1 ORDER BY created_at, order_id LIMIT $2',
        [userId, limit],
      );
      return result.rows.map(toView);
    },

    /**
     * Rebuilds one order's read-model row from its event stream: replays the
     * stream with the projection's own fold, compares the result with the row
     * the read model holds, and, when they differ, writes the replayed row.
     * The stream is locked meanwhile, so no command can append between the
     * replay and the write. No events are written: the stream is the truth.
     */
    async rebuild(orderId: string): Promise<{
      before: OrderView | undefined;
      after: OrderView;
      differences: FieldDifference[];
    }> {
      requireUuid(orderId, 'orderId');
      return withTransaction(pool, async (client) => {
        const locked = await client.query(
          'SELECT version FROM streams WHERE stream_id = $1 FOR UPDATE',
          [orderId],
        );
        if (locked.rowCount === 0) throw orderNotFound(orderId);
        const replayed = foldRow(await readStream(client, orderId));
        if (replayed === undefined)
          throw new Error(`order ${orderId} has a stream but no state after replaying it`);
        const found = await client.query<ViewRow>(
          'SELECT * FROM orders_view WHERE order_id = $1 FOR UPDATE',
          [orderId],
        );
        const row = found.rows[0];
        const before = row === undefined ? undefined : toView(row);
        const after = rowView(replayed);
        const differences = diffOrders(before, after);
        if (differences.length > 0) await replaceRow(client, replayed);
        return { before, after, differences };
      });
    },

    /**
     * Runs pay, cancel or ship. With `expectedVersion` the order must still be
     * at that version (optimistic concurrency: a conflict is ABORTED, never a
     * lost update). Without it, a conflict is retried on the fresh state.
     */
    async handle(
      orderId: string,
      action: 'pay' | 'cancel' | 'ship',
      options: {
        expectedVersion?: number;
        reason?: string;
        /** Who runs it (`user:<sub>`); undefined when authentication is off. */
        actor?: string;
      } = {},
    ): Promise<OrderView> {
      requireUuid(orderId, 'orderId');
      // No transaction: the stream is read, and the append checks that it is
      // still at the version read (see commit).
      const once = async (): Promise<OrderView> => {
        const stream = await readStream(pool, orderId);
        if (stream.length === 0) throw orderNotFound(orderId);
        const version = stream.length;
        if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
          throw new AppError(
            'ABORTED',
            `order ${orderId} is at version ${version}, not ${options.expectedVersion}: it changed meanwhile; read it again and retry`,
          );
        }
        const at = now();
        const command: OrderCommand =
          action === 'pay'
            ? { type: 'PayOrder', data: { now: at } }
            : action === 'ship'
              ? { type: 'ShipOrder', data: { now: at } }
              : { type: 'CancelOrder', data: { reason: options.reason ?? '', now: at } };
        return rowView(await commit(pool, orderId, foldRow(stream), command, options.actor));
      };
      for (let attempt = 1; ; attempt++) {
        try {
          const changed = await once();
          outboxWritten();
          return changed;
        } catch (error) {
          const conflict = error instanceof AppError && error.code === 'ABORTED';
          if (!conflict || options.expectedVersion !== undefined || attempt >= 3) throw error;
        }
      }
    },
  };
}

export type Orders = ReturnType<typeof createOrders>;
