/**
 * The Order aggregate: its events, its state, and `evolve`, which folds
 * events into state. Pure: no I/O, no clock, no randomness.
 */

/** One line of an order; money in integer minor units. */
export interface OrderLine {
  readonly productId: string;
  readonly quantity: number;
  readonly priceMinor: number;
}

export type OrderCreated = {
  readonly type: 'OrderCreated';
  readonly data: {
    readonly orderId: string;
    readonly userId: string;
    readonly userName: string;
    readonly items: readonly OrderLine[];
    readonly totalMinor: number;
    readonly createdAt: string;
  };
};
export type OrderPaid = {
  readonly type: 'OrderPaid';
  readonly data: {
    readonly orderId: string;
    readonly amountMinor: number;
    readonly paidAt: string;
  };
};
export type OrderCancelled = {
  readonly type: 'OrderCancelled';
  readonly data: {
    readonly orderId: string;
    readonly reason: string;
    readonly cancelledAt: string;
  };
};
export type OrderShipped = {
  readonly type: 'OrderShipped';
  readonly data: { readonly orderId: string; readonly shippedAt: string };
};

/** Everything that can happen to an order, in past tense. */
export type OrderEvent = OrderCreated | OrderPaid | OrderCancelled | OrderShipped;

/** Where an order is in its life. */
export type OrderStatus = 'CREATED' | 'PAID' | 'SHIPPED' | 'CANCELLED';

/** The state `decide` needs: nothing before the first event. */
export type Order =
  | { readonly status: 'NONE' }
  | {
      readonly status: OrderStatus;
      readonly orderId: string;
      readonly userId: string;
      readonly userName: string;
      readonly items: readonly OrderLine[];
      readonly totalMinor: number;
    };

/** An order once it exists: every state but the one before the first event. */
export type PlacedOrder = Exclude<Order, { readonly status: 'NONE' }>;

export const initialState: Order = { status: 'NONE' };

/** Applies one event to the state. */
export function evolve(state: Order, event: OrderEvent): Order {
  switch (event.type) {
    case 'OrderCreated':
      return {
        status: 'CREATED',
        orderId: event.data.orderId,
        userId: event.data.userId,
        userName: event.data.userName,
        items: event.data.items,
        totalMinor: event.data.totalMinor,
      };
    case 'OrderPaid':
      return state.status === 'NONE' ? state : { ...state, status: 'PAID' };
    case 'OrderCancelled':
      return state.status === 'NONE' ? state : { ...state, status: 'CANCELLED' };
    case 'OrderShipped':
      return state.status === 'NONE' ? state : { ...state, status: 'SHIPPED' };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** Folds a whole stream. */
export function replay(events: readonly OrderEvent[]): Order {
  return events.reduce(evolve, initialState);
}
