import type { Pool, PoolClient } from '@comms/postgres';
import { withTransaction } from '@comms/postgres';
import { readAll } from './event-store.js';
import type { Checkpoint, StoredEvent } from './event-store.js';

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
 * projection is sound). With `replace`, the live model is then swapped for
 * the rebuilt one in one transaction.
 */
export async function rebuildReadModel(
  pool: Pool,
  options: { replace?: boolean } = {},
): Promise<{ orders: number; events: number; differences: number }> {
  return withTransaction(pool, async (client) => {
    await client.query('DROP TABLE IF EXISTS orders_view_rebuilt');
    await client.query('CREATE TABLE orders_view_rebuilt (LIKE orders_view INCLUDING ALL)');
    let checkpoint: Checkpoint | undefined;
    let events = 0;
    for (;;) {
      const batch = await readAll(client, checkpoint, 1000);
      if (batch.events.length === 0) break;
      events += batch.events.length;
      await project(client, batch.events, 'orders_view_rebuilt');
      checkpoint = batch.checkpoint;
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
    return { orders: orders.rows[0]?.n ?? 0, events, differences: diff.rows[0]?.n ?? 0 };
  });
}
