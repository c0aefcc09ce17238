import type { EventType } from '@comms/contracts';

/** What notification-service does with an event of a known type and version. */
export type Handling = 'handle' | 'ignore';

/**
 * notification-service's side of the topics' contract: every event type and
 * version it consumes, and whether it handles it or ignores it on purpose
 * (an ignored event is committed and dropped, not dead-lettered). The
 * consumer dispatches by this table, so it is the declaration that runs.
 * Consumers accept every version ever published: a version leaves this
 * table only when it leaves the baseline, never before
 * (handled-events.unit.test.ts checks both, contract.int.test.ts replays
 * one example of each through the service).
 */
export const EVENT_HANDLING = {
  // Contact replica, and a welcome.
  'user.registered.v1': 'handle',
  // Contact replica: the user becomes inactive.
  'user.deactivated.v1': 'handle',
  'order.created.v1': 'handle',
  'order.paid.v1': 'handle',
  'order.cancelled.v1': 'handle',
  'order.shipped.v1': 'handle',
} as const satisfies Record<EventType, Handling>;

/** How an event type is handled; undefined when the table does not name it. */
export function handlingOf(type: string): Handling | undefined {
  return Object.hasOwn(EVENT_HANDLING, type)
    ? (EVENT_HANDLING as Readonly<Record<string, Handling>>)[type]
    : undefined;
}
