/**
 * Errors after which a client's idempotent producer cannot go on: the broker
 * no longer agrees with the producer's id, epoch or sequence numbers (a
 * broker restarted and lost or moved on from that state). kafkajs keeps
 * retrying with the same state and every later send fails the same way, so
 * the relay behind it would stall; a new producer gets a new id.
 */
export const PRODUCER_STATE_ERRORS: ReadonlySet<string> = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** The part of a producer the replacement needs. */
export interface ReplaceableProducer<Send> {
  connect(): Promise<void>;
  send(message: Send): Promise<unknown>;
  disconnect(): Promise<void>;
}

/** The kafkajs error type of `error` (or of its causes), if any. */
function errorType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    if ('type' in current && typeof current.type === 'string') return current.type;
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

/**
 * A producer that replaces itself after a {@link PRODUCER_STATE_ERRORS}
 * error: the failed send still fails (the caller, the outbox relay, retries
 * it and the row is sent again: at least once, and consumers drop copies by
 * event id), and the next send goes through a fresh producer.
 */
export function replacingProducer<Send>(
  make: () => ReplaceableProducer<Send>,
  onReplace: (reason: string) => void = () => undefined,
) {
  let current = make();
  let connected = false;
  return {
    async connect(): Promise<void> {
      await current.connect();
      connected = true;
    },
    async send(message: Send): Promise<void> {
      try {
        await current.send(message);
      } catch (error) {
        const type = errorType(error);
        if (connected && type !== undefined && PRODUCER_STATE_ERRORS.has(type)) {
          const stale = current;
          current = make();
          await stale.disconnect().catch(() => undefined);
          await current.connect();
          onReplace(type);
        }
        throw error;
      }
    },
    async close(): Promise<void> {
      connected = false;
      await current.disconnect();
    },
  };
}
