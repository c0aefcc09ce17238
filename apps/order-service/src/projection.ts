import type { Pool, PoolClient } from '@comms/postgres';
import type { StoredEvent } from './event-store.js';

/**
 * The read model `orders_view`, one row per order, kept by applying each
 * stored event. The live model is updated in the same transaction as the
 * append; a rebuild replays every stream into a fresh table and must come
 * out identical.
 */
const STATUS: Record<string, string> = {
  'order.created.v1': 'CREATED',
  'order.paid.v1': 'PAID',
  'order.cancelled.v1': 'CANCELLED',
  'order.shipped.v1': 'SHIPPED',
};

export async function project(
  client: PoolClient,
  events: readonly StoredEvent[],
  table = 'orders_view',
): Promise<void> {
  for (const event of events) {
    const status = STATUS[event.type];
    if (status === undefined) continue;
    if (event.type === 'order.created.v1') {
      const data = event.data as {
        userId: string;
        userName: string;
        items: unknown;
        totalAmount: string;
      };
      await client.query(
        `INSERT INTO ${table} (order_id, user_id, user_name, status, items, total_amount, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
        [
          event.streamId,
          data.userId,
          data.userName,
          status,
          JSON.stringify(data.items),
          data.totalAmount,
          event.version,
          event.occurredAt,
        ],
      );
    } else {
      await client.query(
        `UPDATE ${table} SET status = $2, version = $3, updated_at = $4 WHERE order_id = $1`,
        [event.streamId, status, event.version, event.occurredAt],
      );
    }
  }
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
      await project(
        client,
        page.rows.map((r) => ({
          streamId: r.stream_id,
          version: r.version,
          eventId: r.event_id,
          type: r.type,
          data: r.data,
          occurredAt: r.occurred_at,
        })),
        'orders_view_rebuilt',
      );
      const last = page.rows.at(-1);
      if (last !== undefined) after = { streamId: last.stream_id, version: last.version };
    }
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
