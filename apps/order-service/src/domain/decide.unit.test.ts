import {
  AppError,
  MAX_CANCEL_REASON_LENGTH,
  MAX_ITEM_PRICE_MINOR,
  MAX_ITEM_QUANTITY,
  MAX_ORDER_ITEMS,
  MAX_PRODUCT_ID_LENGTH,
} from '@comms/contracts';
import { describe, expect, it } from 'vitest';
import { checkItems, decide } from './decide.js';
import type { OrderCommand } from './decide.js';
import { replay } from './order.js';
import type { OrderEvent, OrderLine } from './order.js';

const now = new Date('2026-03-01T10:00:00.000Z');
const orderId = '11111111-1111-4111-8111-111111111111';
const userId = '22222222-2222-4222-8222-222222222222';
const items: OrderLine[] = [
  { productId: 'book', quantity: 2, priceMinor: 1999 },
  { productId: 'pen', quantity: 3, priceMinor: 10 },
];

const created: OrderEvent = {
  type: 'OrderCreated',
  data: { orderId, userId, userName: 'Ada', items, totalMinor: 4028, createdAt: now.toISOString() },
};
const paid: OrderEvent = {
  type: 'OrderPaid',
  data: { orderId, amountMinor: 4028, paidAt: now.toISOString() },
};
const cancelled: OrderEvent = {
  type: 'OrderCancelled',
  data: { orderId, reason: 'changed my mind', cancelledAt: now.toISOString() },
};
const shipped: OrderEvent = {
  type: 'OrderShipped',
  data: { orderId, shippedAt: now.toISOString() },
};

const create = (lines: OrderLine[] = items): OrderCommand => ({
  type: 'CreateOrder',
  data: { orderId, userId, userName: 'Ada', items: checkItems(lines), now },
});
const pay: OrderCommand = { type: 'PayOrder', data: { now } };
const cancel: OrderCommand = { type: 'CancelOrder', data: { reason: 'changed my mind', now } };
const ship: OrderCommand = { type: 'ShipOrder', data: { now } };

/** given past events, when a command, then the new events (or an error). */
function given(history: OrderEvent[]) {
  return {
    // A thunk, where making the command is what refuses it (CreateOrder's lines).
    when: (input: OrderCommand | (() => OrderCommand)) => {
      const command = () => (typeof input === 'function' ? input() : input);
      return {
        then: (expected: OrderEvent[]) =>
          expect(decide(command(), replay(history))).toEqual(expected),
        thenFails: (code: string, message: RegExp) => {
          expect(() => decide(command(), replay(history))).toThrow(message);
          try {
            decide(command(), replay(history));
          } catch (error) {
            expect((error as { code: string }).code).toBe(code);
          }
        },
      };
    },
  };
}

describe('CreateOrder', () => {
  it('given no order, when created, then OrderCreated with the exact total', () => {
    given([]).when(create()).then([created]);
  });

  it('given an existing order, when created again, then it already exists', () => {
    given([created])
      .when(create())
      .thenFails('ALREADY_EXISTS', /already exists/);
  });

  it.each<[string, OrderLine[], RegExp]>([
    ['no items', [], /items must have at least one item/],
    ['a zero quantity', [{ productId: 'a', quantity: 0, priceMinor: 1 }], /items\[0\]\.quantity/],
    [
      'a fractional quantity',
      [{ productId: 'a', quantity: 1.5, priceMinor: 1 }],
      /items\[0\]\.quantity/,
    ],
    [
      'a zero price',
      [{ productId: 'a', quantity: 1, priceMinor: 0 }],
      /items\[0\]\.price must be greater than 0/,
    ],
    ['a negative price', [{ productId: 'a', quantity: 1, priceMinor: -5 }], /items\[0\]\.price/],
    [
      'an empty product id',
      [{ productId: ' ', quantity: 1, priceMinor: 1 }],
      /items\[0\]\.productId/,
    ],
  ])('given no order, when created with %s, then it is invalid', (_label, lines, message) => {
    given([])
      .when(() => create(lines))
      .thenFails('INVALID_ARGUMENT', message);
  });
});

describe('CreateOrder at the limits', () => {
  const line = (patch: Partial<OrderLine> = {}): OrderLine => ({
    productId: 'a',
    quantity: 1,
    priceMinor: 1,
    ...patch,
  });

  it('given no order, when created with every limit reached, then OrderCreated', () => {
    const lines = Array.from({ length: MAX_ORDER_ITEMS }, (_, i) =>
      line({
        productId: `${i}`.padEnd(MAX_PRODUCT_ID_LENGTH, 'p'),
        quantity: i === 0 ? MAX_ITEM_QUANTITY : 1,
        priceMinor: i === 0 ? MAX_ITEM_PRICE_MINOR : 1,
      }),
    );
    const totalMinor = MAX_ITEM_QUANTITY * MAX_ITEM_PRICE_MINOR + (MAX_ORDER_ITEMS - 1);
    given([])
      .when(create(lines))
      .then([
        {
          type: 'OrderCreated',
          data: { ...created.data, items: lines, totalMinor },
        },
      ]);
  });

  it.each<[string, OrderLine[], RegExp]>([
    [
      'one line too many',
      Array.from({ length: MAX_ORDER_ITEMS + 1 }, () => line()),
      new RegExp(`items must have at most ${MAX_ORDER_ITEMS} items`),
    ],
    [
      'a quantity over the limit',
      [line({ quantity: MAX_ITEM_QUANTITY + 1 })],
      new RegExp(`items\\[0\\]\\.quantity must be a whole number from 1 to ${MAX_ITEM_QUANTITY}`),
    ],
    [
      'a product id over the limit',
      [line(), line({ productId: 'p'.repeat(MAX_PRODUCT_ID_LENGTH + 1) })],
      new RegExp(`items\\[1\\]\\.productId must be 1-${MAX_PRODUCT_ID_LENGTH} characters`),
    ],
    [
      'a price over the limit',
      [line({ priceMinor: MAX_ITEM_PRICE_MINOR + 1 })],
      /items\[0\]\.price must be greater than 0 and at most 1000000\.00/,
    ],
    [
      'NUL in a product id',
      [line({ productId: 'a\u0000b' })],
      /items\[0\]\.productId must not contain NUL/,
    ],
  ])('given no order, when created with %s, then it is invalid', (_label, lines, message) => {
    given([])
      .when(() => create(lines))
      .thenFails('INVALID_ARGUMENT', message);
  });

  it('given no order, when created with several bad lines, then each is named in the violations', () => {
    let refusal: unknown;
    try {
      decide(create([line({ quantity: 0 }), line({ priceMinor: 0 })]), replay([]));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(AppError);
    expect((refusal as AppError).violations.map((v) => v.field)).toEqual([
      'items[0].quantity',
      'items[1].price',
    ]);
  });
});

describe('PayOrder', () => {
  it('given a created order, when paid, then OrderPaid for the total', () => {
    given([created]).when(pay).then([paid]);
  });
  it('given a cancelled order, when paid, then it is refused', () => {
    given([created, cancelled])
      .when(pay)
      .thenFails('FAILED_PRECONDITION', /cancelled and cannot be paid/);
  });
  it('given a paid order, when paid again, then it is refused', () => {
    given([created, paid])
      .when(pay)
      .thenFails('FAILED_PRECONDITION', /already paid/);
  });
  it('given no order, when paid, then it is not found', () => {
    given([])
      .when(pay)
      .thenFails('NOT_FOUND', /not found/);
  });
});

describe('CancelOrder', () => {
  it('given a created or paid order, when cancelled, then OrderCancelled', () => {
    given([created]).when(cancel).then([cancelled]);
    given([created, paid]).when(cancel).then([cancelled]);
  });
  it('given a shipped order, when cancelled, then it is refused', () => {
    given([created, paid, shipped])
      .when(cancel)
      .thenFails('FAILED_PRECONDITION', /has shipped/);
  });
  it('given a created order, when cancelled with a reason of the longest length, then OrderCancelled', () => {
    const reason = 'r'.repeat(MAX_CANCEL_REASON_LENGTH);
    given([created])
      .when({ type: 'CancelOrder', data: { reason, now } })
      .then([{ type: 'OrderCancelled', data: { ...cancelled.data, reason } }]);
  });
  it('given a created order, when cancelled with a reason one too long, then it is invalid', () => {
    given([created])
      .when({
        type: 'CancelOrder',
        data: { reason: 'r'.repeat(MAX_CANCEL_REASON_LENGTH + 1), now },
      })
      .thenFails(
        'INVALID_ARGUMENT',
        new RegExp(`reason must be at most ${MAX_CANCEL_REASON_LENGTH} characters`),
      );
  });
  it('given a created order, when cancelled with NUL in the reason, then it is invalid', () => {
    given([created])
      .when({ type: 'CancelOrder', data: { reason: 'a\u0000', now } })
      .thenFails('INVALID_ARGUMENT', /reason must not contain NUL/);
  });
  it('given no order, when cancelled, then it is not found', () => {
    given([])
      .when(cancel)
      .thenFails('NOT_FOUND', /not found/);
  });
  it('given a cancelled order, when cancelled again, then it is refused', () => {
    given([created, cancelled])
      .when(cancel)
      .thenFails('FAILED_PRECONDITION', /already cancelled/);
  });
});

describe('ShipOrder', () => {
  it('given a paid order, when shipped, then OrderShipped', () => {
    given([created, paid]).when(ship).then([shipped]);
  });
  it('given an unpaid order, when shipped, then it is refused', () => {
    given([created])
      .when(ship)
      .thenFails('FAILED_PRECONDITION', /not paid/);
  });
  it('given a cancelled order, when shipped, then it is refused', () => {
    given([created, cancelled])
      .when(ship)
      .thenFails('FAILED_PRECONDITION', /cancelled/);
  });
  it('given no order, when shipped, then it is not found', () => {
    given([])
      .when(ship)
      .thenFails('NOT_FOUND', /not found/);
  });
  it('given a shipped order, when shipped again, then it is refused', () => {
    given([created, paid, shipped])
      .when(ship)
      .thenFails('FAILED_PRECONDITION', /already shipped/);
  });
});

describe('evolve', () => {
  it('folds a full life into SHIPPED with the lines and total kept', () => {
    expect(replay([created, paid, shipped])).toMatchObject({
      status: 'SHIPPED',
      totalMinor: 4028,
      items,
    });
  });
});
