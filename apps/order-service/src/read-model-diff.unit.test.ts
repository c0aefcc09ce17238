import { describe, expect, it } from 'vitest';
import type { OrderView } from './orders.js';
import { diffOrders } from './read-model-diff.js';

const order: OrderView = {
  orderId: '11111111-1111-4111-8111-111111111111',
  userId: '22222222-2222-4222-8222-222222222222',
  userName: 'Ada',
  status: 'PAID',
  items: [{ productId: 'book', quantity: 2, price: '19.99' }],
  totalAmount: '39.98',
  version: 2,
  createdAt: new Date('2026-03-01T10:00:00.000Z'),
  updatedAt: new Date('2026-03-01T10:01:00.000Z'),
};

describe('diffOrders', () => {
  it('given the same order read back from jsonb (keys reordered, new Date objects), finds no difference', () => {
    const readBack: OrderView = {
      ...order,
      items: [{ price: '19.99', quantity: 2, productId: 'book' }],
      createdAt: new Date(order.createdAt.getTime()),
      updatedAt: new Date(order.updatedAt.getTime()),
    };
    expect(diffOrders(readBack, order)).toEqual([]);
  });

  it('given a row that drifted, names each field that differs with both values', () => {
    const drifted: OrderView = {
      ...order,
      status: 'CREATED',
      version: 1,
      items: [{ productId: 'book', quantity: 3, price: '19.99' }],
    };
    expect(diffOrders(drifted, order)).toEqual([
      { field: 'status', before: 'CREATED', after: 'PAID' },
      {
        field: 'items',
        before: [{ price: '19.99', productId: 'book', quantity: 3 }],
        after: [{ price: '19.99', productId: 'book', quantity: 2 }],
      },
      { field: 'version', before: 1, after: 2 },
    ]);
  });

  it('given no row at all, shows every field as null before, times as ISO strings after', () => {
    const differences = diffOrders(undefined, order);
    expect(differences).toHaveLength(8);
    expect(differences.every((d) => d.before === null)).toBe(true);
    expect(differences.find((d) => d.field === 'createdAt')?.after).toBe(
      '2026-03-01T10:00:00.000Z',
    );
  });
});
