import { describe, expect, it } from 'vitest';
import { toContract } from './contract-events.js';
import { evolve, initialState, replay } from './domain/order.js';
import type { Order, OrderEvent } from './domain/order.js';
import type { StoredEvent } from './event-store.js';
import { evolveRow, foldRow } from './projection.js';
import type { OrderRow } from './projection.js';

const orderId = '11111111-1111-4111-8111-111111111111';
const userId = '22222222-2222-4222-8222-222222222222';
const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 10, minute));

const created: OrderEvent = {
  type: 'OrderCreated',
  data: {
    orderId,
    userId,
    userName: 'Ada',
    items: [
      { productId: 'book', quantity: 2, priceMinor: 1999 },
      { productId: 'pen', quantity: 3, priceMinor: 10 },
    ],
    totalMinor: 4028,
    createdAt: at(0).toISOString(),
  },
};
const paid: OrderEvent = {
  type: 'OrderPaid',
  data: { orderId, amountMinor: 4028, paidAt: at(1).toISOString() },
};
const shipped: OrderEvent = {
  type: 'OrderShipped',
  data: { orderId, shippedAt: at(2).toISOString() },
};
const cancelled: OrderEvent = {
  type: 'OrderCancelled',
  data: { orderId, reason: 'changed my mind', cancelledAt: at(1).toISOString() },
};

/** The events as the store keeps them: contract form, versions from 1, one minute apart. */
function stored(events: readonly OrderEvent[]): StoredEvent[] {
  let state: Order = initialState;
  return events.map((event, i) => {
    const contract = toContract(event, state);
    state = evolve(state, event);
    return {
      streamId: orderId,
      version: i + 1,
      eventId: `e${i + 1}`,
      type: contract.type,
      data: contract.data,
      occurredAt: at(i),
    };
  });
}

describe('the read model projection', () => {
  it.each<[string, OrderEvent[]]>([
    ['created, paid, shipped', [created, paid, shipped]],
    ['created, cancelled', [created, cancelled]],
    ['created, paid, cancelled', [created, paid, cancelled]],
  ])('given %s, its state after every event is the state evolve folds', (_label, events) => {
    const stream = stored(events);
    let row: OrderRow | undefined;
    stream.forEach((event, i) => {
      row = evolveRow(row, event);
      expect(row?.state).toEqual(replay(events.slice(0, i + 1)));
    });
  });

  it('given a whole stream, the row keeps the version, the first event as created and the last as updated', () => {
    const row = foldRow(stored([created, paid, shipped]));
    expect(row).toEqual({
      state: replay([created, paid, shipped]),
      version: 3,
      createdAt: at(0),
      updatedAt: at(2),
    });
  });

  it('given a stream split in two, folding on from the first part ends where one fold does', () => {
    const stream = stored([created, paid, shipped]);
    expect(foldRow(stream.slice(1), foldRow(stream.slice(0, 1)))).toEqual(foldRow(stream));
  });
});
