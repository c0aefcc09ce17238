import { formatMoney } from '@comms/contracts';
import { createStatement } from '@comms/postgres';
import type { Pool, PoolClient, Statement } from '@comms/postgres';
import { fromContract } from './contract-events.js';
import { evolve, initialState } from './domain/order.js';
import type { PlacedOrder } from './domain/order.js';
import type { StoredEvent } from './event-store.js';

/**
 * The read model `orders_view`, one row per order. A row is the aggregate's
 * own state, folded by the domain's `evolve` (there is no second fold that
 * could drift from it), plus what the stream adds: its version and when it
 * began and last changed. The live model is written in the same transaction
 * as the append; a rebuild replays every stream into a fresh table and must
 * come out identical.
 */

/** One order of the read model before it is written. */
export interface OrderRow {
  readonly state: PlacedOrder;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * Applies one stored event to a row (undefined: the order has no event
 * yet). The state comes from `evolve`; an event type the aggregate does not
 * know fails here as it does there.
 */
export function evolveRow(row: OrderRow | undefined, event: StoredEvent): OrderRow | undefined {
  const state = evolve(row?.state ?? initialState, fromContract(event.type, event.data));
  if (state.status === 'NONE') return row;
  return {
    state,
    version: event.version,
    createdAt: row?.createdAt ?? event.occurredAt,
    updatedAt: event.occurredAt,
  };
}

/** Folds a stream's events (in version order) onto a row. */
export function foldRow(
  events: readonly StoredEvent[],
  row: OrderRow | undefined = undefined,
): OrderRow | undefined {
  return events.reduce(evolveRow, row);
}

/**
 * Adds to `statement` the write of a row: inserted when the order is new,
 * else replaced but for its creation time; with `guard`, only when that
 * part yields a row (the append it belongs to went through).
 */
function upsertPart(
  statement: Statement,
  row: OrderRow,
  table: string,
  guard: string | undefined,
): void {
  const { state } = row;
  const values = [
    statement.param(state.orderId, 'uuid'),
    statement.param(state.userId, 'uuid'),
    statement.param(state.userName, 'text'),
    statement.param(state.status, 'text'),
    statement.param(
      JSON.stringify(
        state.items.map((item) => ({
          productId: item.productId,
          quantity: item.quantity,
          price: formatMoney(item.priceMinor),
        })),
      ),
      'jsonb',
    ),
    statement.param(formatMoney(state.totalMinor), 'text'),
    statement.param(row.version, 'int'),
    statement.param(row.createdAt, 'timestamptz'),
    statement.param(row.updatedAt, 'timestamptz'),
  ].join(', ');
  statement.with(
    'projected',
    `INSERT INTO ${table} (order_id, user_id, user_name, status, items, total_amount, version, created_at, updated_at)
     SELECT ${values}${guard === undefined ? '' : ` FROM ${guard}`}
     ON CONFLICT (order_id) DO UPDATE SET user_id = EXCLUDED.user_id, user_name = EXCLUDED.user_name,
       status = EXCLUDED.status, items = EXCLUDED.items, total_amount = EXCLUDED.total_amount,
       version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
  );
}

/** Writes a row: inserted when the order is new, else replaced but for its creation time. */
async function writeRow(client: PoolClient, row: OrderRow, table: string): Promise<void> {
  const statement = createStatement();
  upsertPart(statement, row, table, undefined);
  await statement.run(client, 'SELECT 1');
}

/**
 * Replaces an order's row with `row` outright, its creation time included:
 * what a rebuild writes when the row it found was wrong or missing.
 */
export async function replaceRow(client: PoolClient, row: OrderRow): Promise<void> {
  await client.query('DELETE FROM orders_view WHERE order_id = $1', [row.state.orderId]);
  await writeRow(client, row, 'orders_view');
}

/**
 * Adds to `statement` the projection of newly stored events of one stream
 * onto its row as it was before them (undefined for a new order), written
 * only when `guard` (the append) yields a row. Returns the row after them.
 */
export function projectPart(
  statement: Statement,
  before: OrderRow | undefined,
  events: readonly StoredEvent[],
  guard: string,
): OrderRow | undefined {
  const after = foldRow(events, before);
  if (after !== undefined && after !== before) upsertPart(statement, after, 'orders_view', guard);
  return after;
}

/**
 * Rebuilds the read model from the event streams into `orders_view_rebuilt`
 * and reports how many rows differ from the live model (0 when the
 * projection is sound). It replays every stream in version order inside one
 * REPEATABLE READ transaction, so the replay and the comparison see the same
 * snapshot even while orders keep coming in. With `replace`, the live model
 * is then swapped for the rebuilt one in that transaction.
 */
export async function rebuildReadModel(
  pool: Pool,
  options: { replace?: boolean; batchSize?: number } = {},
): Promise<{ orders: number; events: number; differences: number }> {
  const batchSize = options.batchSize ?? 1000;
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await client.query('DROP TABLE IF EXISTS orders_view_rebuilt');
    await client.query('CREATE TABLE orders_view_rebuilt (LIKE orders_view INCLUDING ALL)');
    let after = { streamId: '00000000-0000-0000-0000-000000000000', version: 0 };
    let events = 0;
    // A stream may go on in the next page, so its row is written when the next stream begins.
    let pending: { streamId: string; row: OrderRow | undefined } | undefined;
    for (;;) {
      // Keyset pages over a unique key: every event exactly once.
      const page = await client.query<{
        stream_id: string;
        version: number;
        event_id: string;
        type: string;
        data: Record<string, unknown>;
        occurred_at: Date;
      }>(
        `SELECT stream_id, version, event_id, type, data, occurred_at FROM events
          WHERE (stream_id, version) > ($1::uuid, $2::int)
          ORDER BY stream_id, version LIMIT $3`,
        [after.streamId, after.version, batchSize],
      );
      if (page.rows.length === 0) break;
      events += page.rows.length;
      for (const r of page.rows) {
        if (pending !== undefined && pending.streamId !== r.stream_id) {
          if (pending.row !== undefined) await writeRow(client, pending.row, 'orders_view_rebuilt');
          pending = undefined;
        }
        pending ??= { streamId: r.stream_id, row: undefined };
        pending.row = evolveRow(pending.row, {
          streamId: r.stream_id,
          version: r.version,
          eventId: r.event_id,
          type: r.type,
          data: r.data,
          occurredAt: r.occurred_at,
        });
      }
      const last = page.rows.at(-1);
      if (last !== undefined) after = { streamId: last.stream_id, version: last.version };
    }
    if (pending?.row !== undefined) await writeRow(client, pending.row, 'orders_view_rebuilt');
    const diff = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         (SELECT * FROM orders_view EXCEPT SELECT * FROM orders_view_rebuilt)
         UNION ALL
         (SELECT * FROM orders_view_rebuilt EXCEPT SELECT * FROM orders_view)) d`,
    );
    const orders = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders_view_rebuilt',
    );
    if (options.replace === true) {
      await client.query('LOCK TABLE orders_view IN ACCESS EXCLUSIVE MODE');
      await client.query('DELETE FROM orders_view');
      await client.query('INSERT INTO orders_view SELECT * FROM orders_view_rebuilt');
    }
    await client.query('DROP TABLE orders_view_rebuilt');
    await client.query('COMMIT');
    return { orders: orders.rows[0]?.n ?? 0, events, differences: diff.rows[0]?.n ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
