export { enqueue, enqueuePart, OUTBOX_MIGRATION, startOutboxRelay } from './outbox.js';
export type { OutboxMessage, OutboxRelay, OutboxRelayOptions } from './outbox.js';
