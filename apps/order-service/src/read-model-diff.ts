import type { OrderView } from './orders.js';

/** One field on which the read model's row and the replayed stream disagree. */
export interface FieldDifference {
  readonly field: string;
  /** The read model's value; null when it has no row for the order. */
  readonly before: unknown;
  /** The value replayed from the event stream; null when the stream yields no order. */
  readonly after: unknown;
}

/** The fields compared, in the order a reader expects them (the id is the key, never compared). */
const FIELDS = [
  'userId',
  'userName',
  'status',
  'items',
  'totalAmount',
  'version',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof OrderView)[];

/**
 * A value in a form two equal values share: dates as ISO strings, object keys
 * sorted (PostgreSQL's jsonb hands keys back in its own order, not the writer's).
 */
function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/**
 * Compares an order as the read model holds it with the same order replayed
 * from its events, field by field. Empty: the read model agreed with the
 * events. A missing side shows every field as null on that side.
 */
export function diffOrders(
  before: OrderView | undefined,
  after: OrderView | undefined,
): FieldDifference[] {
  const differences: FieldDifference[] = [];
  for (const field of FIELDS) {
    const was = before === undefined ? null : canonical(before[field]);
    const is = after === undefined ? null : canonical(after[field]);
    if (JSON.stringify(was) !== JSON.stringify(is))
      differences.push({ field, before: was, after: is });
  }
  return differences;
}
