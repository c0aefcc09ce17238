/**
 * The limits of an order, each defined once. The REST schema, the checks
 * that gRPC requests go through (the decider's), the decider and the event
 * schema all read them from here, so they cannot disagree.
 */

/** The most lines one order may have. */
export const MAX_ORDER_ITEMS = 100;

/** The largest quantity of one order line. */
export const MAX_ITEM_QUANTITY = 10_000;

/** The longest product id a new order may name, in UTF-16 code units. */
export const MAX_PRODUCT_ID_LENGTH = 100;

/**
 * The longest product id an `order.created.v1` event may carry. It is
 * looser than {@link MAX_PRODUCT_ID_LENGTH} on purpose: events were once
 * published under this limit, and consumers accept every event that was
 * ever published. New orders obey {@link MAX_PRODUCT_ID_LENGTH}.
 */
export const MAX_PUBLISHED_PRODUCT_ID_LENGTH = 200;

/** The longest reason a cancellation may give, in UTF-16 code units. */
export const MAX_CANCEL_REASON_LENGTH = 500;

/** The most one order line's unit price may be, in minor units (1,000,000.00). */
export const MAX_ITEM_PRICE_MINOR = 100_000_000;
