import {
  AppError,
  formatMoney,
  MAX_CANCEL_REASON_LENGTH,
  MAX_ITEM_PRICE_MINOR,
  MAX_ITEM_QUANTITY,
  MAX_ORDER_ITEMS,
  MAX_PRODUCT_ID_LENGTH,
  unstorableReason,
} from '@comms/contracts';
import type { FieldViolation } from '@comms/contracts';
import type { Order, OrderEvent, OrderLine } from './order.js';

/**
 * Commands, in the imperative, and `decide`: given the current state, which
 * events does a command cause? Every invariant lives here. Pure: the time
 * and the ids arrive in the command.
 */

export type CreateOrder = {
  readonly type: 'CreateOrder';
  readonly data: {
    readonly orderId: string;
    readonly userId: string;
    readonly userName: string;
    readonly items: CheckedLines;
    readonly now: Date;
  };
};
export type PayOrder = { readonly type: 'PayOrder'; readonly data: { readonly now: Date } };
export type CancelOrder = {
  readonly type: 'CancelOrder';
  readonly data: { readonly reason: string; readonly now: Date };
};
export type ShipOrder = { readonly type: 'ShipOrder'; readonly data: { readonly now: Date } };

export type OrderCommand = CreateOrder | PayOrder | CancelOrder | ShipOrder;

declare const checked: unique symbol;
/**
 * Order lines that `checkItems` has accepted. A CreateOrder can only be made
 * from these, so the lines are checked exactly once, before the handler asks
 * user-service about the user (a gRPC request has no schema in front of it,
 * and a malformed order should never cost that call), and `decide` need not
 * check them again.
 */
export type CheckedLines = readonly OrderLine[] & { readonly [checked]: true };

/** Accepts the lines of a new order, or throws INVALID_ARGUMENT naming every bad line. */
export function checkItems(items: readonly OrderLine[]): CheckedLines {
  const violations: FieldViolation[] = [];
  if (items.length === 0)
    violations.push({ field: 'items', message: 'must have at least one item' });
  if (items.length > MAX_ORDER_ITEMS)
    violations.push({ field: 'items', message: `must have at most ${MAX_ORDER_ITEMS} items` });
  items.forEach((item, i) => {
    const unstorable = unstorableReason(item.productId);
    if (unstorable !== undefined) {
      violations.push({ field: `items[${i}].productId`, message: unstorable });
    } else if (item.productId.trim() === '' || item.productId.length > MAX_PRODUCT_ID_LENGTH) {
      violations.push({
        field: `items[${i}].productId`,
        message: `must be 1-${MAX_PRODUCT_ID_LENGTH} characters`,
      });
    }
    if (
      !Number.isInteger(item.quantity) ||
      item.quantity < 1 ||
      item.quantity > MAX_ITEM_QUANTITY
    ) {
      violations.push({
        field: `items[${i}].quantity`,
        message: `must be a whole number from 1 to ${MAX_ITEM_QUANTITY}`,
      });
    }
    if (
      !Number.isSafeInteger(item.priceMinor) ||
      item.priceMinor < 1 ||
      item.priceMinor > MAX_ITEM_PRICE_MINOR
    ) {
      violations.push({
        field: `items[${i}].price`,
        message: `must be greater than 0 and at most ${formatMoney(MAX_ITEM_PRICE_MINOR)}`,
      });
    }
  });
  if (violations.length > 0) {
    throw new AppError(
      'INVALID_ARGUMENT',
      violations.map((v) => `${v.field} ${v.message}`).join('; '),
      violations,
    );
  }
  return items as CheckedLines;
}

function notAllowed(message: string): never {
  throw new AppError('FAILED_PRECONDITION', message);
}

/** The events a command causes in the given state; throws when it breaks a rule. */
export function decide(command: OrderCommand, state: Order): OrderEvent[] {
  switch (command.type) {
    case 'CreateOrder': {
      if (state.status !== 'NONE')
        throw new AppError('ALREADY_EXISTS', `order ${command.data.orderId} already exists`);
      const totalMinor = command.data.items.reduce(
        (sum, item) => sum + item.quantity * item.priceMinor,
        0,
      );
      return [
        {
          type: 'OrderCreated',
          data: {
            orderId: command.data.orderId,
            userId: command.data.userId,
            userName: command.data.userName,
            items: command.data.items,
            totalMinor,
            createdAt: command.data.now.toISOString(),
          },
        },
      ];
    }
    case 'PayOrder': {
      if (state.status === 'NONE') throw new AppError('NOT_FOUND', 'order not found');
      if (state.status === 'CANCELLED')
        notAllowed(`order ${state.orderId} is cancelled and cannot be paid`);
      if (state.status !== 'CREATED') notAllowed(`order ${state.orderId} is already paid`);
      return [
        {
          type: 'OrderPaid',
          data: {
            orderId: state.orderId,
            amountMinor: state.totalMinor,
            paidAt: command.data.now.toISOString(),
          },
        },
      ];
    }
    case 'CancelOrder': {
      if (state.status === 'NONE') throw new AppError('NOT_FOUND', 'order not found');
      if (state.status === 'CANCELLED') notAllowed(`order ${state.orderId} is already cancelled`);
      if (state.status === 'SHIPPED')
        notAllowed(`order ${state.orderId} has shipped and cannot be cancelled`);
      const unstorable = unstorableReason(command.data.reason);
      if (unstorable !== undefined) {
        throw new AppError('INVALID_ARGUMENT', `reason ${unstorable}`, [
          { field: 'reason', message: unstorable },
        ]);
      }
      if (command.data.reason.length > MAX_CANCEL_REASON_LENGTH) {
        const message = `must be at most ${MAX_CANCEL_REASON_LENGTH} characters`;
        throw new AppError('INVALID_ARGUMENT', `reason ${message}`, [{ field: 'reason', message }]);
      }
      return [
        {
          type: 'OrderCancelled',
          data: {
            orderId: state.orderId,
            reason: command.data.reason,
            cancelledAt: command.data.now.toISOString(),
          },
        },
      ];
    }
    case 'ShipOrder': {
      if (state.status === 'NONE') throw new AppError('NOT_FOUND', 'order not found');
      if (state.status === 'CREATED')
        notAllowed(`order ${state.orderId} is not paid and cannot ship`);
      if (state.status === 'CANCELLED')
        notAllowed(`order ${state.orderId} is cancelled and cannot ship`);
      if (state.status === 'SHIPPED') notAllowed(`order ${state.orderId} has already shipped`);
      return [
        {
          type: 'OrderShipped',
          data: { orderId: state.orderId, shippedAt: command.data.now.toISOString() },
        },
      ];
    }
    default: {
      const unknown: never = command;
      throw new AppError('INVALID_ARGUMENT', `unknown command ${JSON.stringify(unknown)}`);
    }
  }
}
