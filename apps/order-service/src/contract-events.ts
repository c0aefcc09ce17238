import { formatMoney, parseMoney } from '@comms/contracts';
import type { EventData } from '@comms/contracts';
import type { Order, OrderEvent } from './domain/order.js';

/**
 * Maps domain events (money in minor units) to the published contract
 * (`order.created.v1` and friends, money as decimal strings) and back. The
 * store keeps the contract form, so what is stored is what is published.
 */
export function toContract(
  event: OrderEvent,
  state: Order,
): { type: string; data: Record<string, unknown> } {
  const userId =
    event.type === 'OrderCreated' ? event.data.userId : state.status === 'NONE' ? '' : state.userId;
  switch (event.type) {
    case 'OrderCreated': {
      const data: EventData<'order.created.v1'> = {
        orderId: event.data.orderId,
        userId: event.data.userId,
        userName: event.data.userName,
        items: event.data.items.map((i) => ({
          productId: i.productId,
          quantity: i.quantity,
          price: formatMoney(i.priceMinor),
        })),
        totalAmount: formatMoney(event.data.totalMinor),
        createdAt: event.data.createdAt,
      };
      return { type: 'order.created.v1', data };
    }
    case 'OrderPaid': {
      const data: EventData<'order.paid.v1'> = {
        orderId: event.data.orderId,
        userId,
        amount: formatMoney(event.data.amountMinor),
        paidAt: event.data.paidAt,
      };
      return { type: 'order.paid.v1', data };
    }
    case 'OrderCancelled': {
      const data: EventData<'order.cancelled.v1'> = {
        orderId: event.data.orderId,
        userId,
        reason: event.data.reason,
        cancelledAt: event.data.cancelledAt,
      };
      return { type: 'order.cancelled.v1', data };
    }
    case 'OrderShipped': {
      const data: EventData<'order.shipped.v1'> = {
        orderId: event.data.orderId,
        userId,
        shippedAt: event.data.shippedAt,
      };
      return { type: 'order.shipped.v1', data };
    }
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** The domain event of a stored contract event. */
export function fromContract(type: string, data: Record<string, unknown>): OrderEvent {
  switch (type) {
    case 'order.created.v1': {
      const d = data as EventData<'order.created.v1'>;
      return {
        type: 'OrderCreated',
        data: {
          orderId: d.orderId,
          userId: d.userId,
          userName: d.userName,
          items: d.items.map((i) => ({
            productId: i.productId,
            quantity: i.quantity,
            priceMinor: parseMoney(i.price),
          })),
          totalMinor: parseMoney(d.totalAmount),
          createdAt: d.createdAt,
        },
      };
    }
    case 'order.paid.v1': {
      const d = data as EventData<'order.paid.v1'>;
      return {
        type: 'OrderPaid',
        data: { orderId: d.orderId, amountMinor: parseMoney(d.amount), paidAt: d.paidAt },
      };
    }
    case 'order.cancelled.v1': {
      const d = data as EventData<'order.cancelled.v1'>;
      return {
        type: 'OrderCancelled',
        data: { orderId: d.orderId, reason: d.reason, cancelledAt: d.cancelledAt },
      };
    }
    case 'order.shipped.v1': {
      const d = data as EventData<'order.shipped.v1'>;
      return { type: 'OrderShipped', data: { orderId: d.orderId, shippedAt: d.shippedAt } };
    }
    default:
      throw new Error(`order stream holds an unknown event type '${type}'`);
  }
}
