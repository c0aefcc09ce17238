import { MessagesStreamFallbackModes, MessagesStreamModes } from '@platformatic/kafka';
import type { Consumer, Message, MessagesStream } from '@platformatic/kafka';
import { retry } from '@comms/resilience';
import type { DriverConsumer, DriverMessage } from '../driver.js';

/** A consumed record; the library gives `undefined` for a null key, value or header. */
type Received = Message<
  string | undefined,
  Buffer | undefined,
  string | undefined,
  string | undefined
>;

/** Messages read ahead of the handlers before the stream is paused. */
const READ_AHEAD = 1_000;

/**
 * Turns @platformatic/kafka's message stream into the driver's loop (see
 * driver.ts): one message at a time per partition, up to `concurrency`
 * partitions at once, each offset committed after its handler resolved.
 */
export function streamConsumer(
  consumer: Consumer<string, Buffer, string, string>,
  topics: readonly string[],
  fromBeginning: boolean,
  warn: (message: string, error: unknown) => void,
): DriverConsumer {
  let stream: MessagesStream<string, Buffer, string, string> | undefined;
  const stopping = new AbortController();
  const leaveListeners: Array<() => void> = [];
  const left = () => {
    for (const listener of leaveListeners) listener();
  };
  consumer.on('consumer:group:leave', left);
  consumer.on('client:close', left);
  /** Per partition: the messages waiting and whether one is in hand. */
  const partitions = new Map<string, { queue: Received[]; busy: Promise<void> | undefined }>();
  let waiting = 0;
  let active = 0;
  let each: Parameters<DriverConsumer['run']>[0] = () => Promise.resolve();
  let concurrency = 1;

  const owned = (message: Received) =>
    (consumer.assignments ?? []).some(
      (a) => a.topic === message.topic && a.partitions.includes(message.partition),
    );

  const handle = async (message: Received) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of message.headerEntries)
      if (name !== undefined) headers[name] = value ?? '';
    const delivered: DriverMessage = {
      topic: message.topic,
      partition: message.partition,
      offset: String(message.offset),
      key: message.key ?? null,
      value: message.value ?? null,
      headers,
      timestamp: String(message.timestamp),
    };
    // A rejection is handed over again, as kafkajs does, until it resolves,
    // the consumer stops or the partition moves to another member (which
    // then reads it from the last commit).
    await retry(
      async () => {
        if (!owned(message)) return;
        await each(delivered, () => Promise.resolve());
        // commit() is offset + 1, this message's partition only.
        await Promise.resolve(message.commit()).catch((error: unknown) =>
          warn(
            `commit of ${message.topic}/${String(message.partition)}@${String(message.offset)} failed`,
            error,
          ),
        );
      },
      { attempts: Infinity, baseDelayMs: 100, maxDelayMs: 5_000, signal: stopping.signal },
    ).catch((error: unknown) => {
      if (!stopping.signal.aborted) throw error;
    });
  };

  const pump = () => {
    for (const [, slot] of partitions) {
      if (active >= concurrency) break;
      if (slot.busy !== undefined || slot.queue.length === 0 || stopping.signal.aborted) continue;
      const message = slot.queue.shift() as Received;
      waiting--;
      active++;
      slot.busy = handle(message)
        .catch((error: unknown) => warn('message handler loop failed', error))
        .finally(() => {
          active--;
          slot.busy = undefined;
          if (waiting < READ_AHEAD / 2 && stream?.isPaused() === true) stream.resume();
          pump();
        });
    }
  };

  return {
    onJoin(listener) {
      consumer.on('consumer:group:join', ({ assignments }) => {
        const assignment: Record<string, number[]> = {};
        for (const a of assignments ?? []) assignment[a.topic] = [...a.partitions];
        listener(assignment);
      });
    },
    onLeave(listener) {
      leaveListeners.push(listener);
    },
    async run(handler, partitionsConcurrently) {
      each = handler;
      concurrency = Math.max(1, partitionsConcurrently);
      stream = await consumer.consume({
        topics: [...topics],
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: fromBeginning
          ? MessagesStreamFallbackModes.EARLIEST
          : MessagesStreamFallbackModes.LATEST,
        autocommit: false,
      });
      stream.on('error', (error: unknown) => {
        warn('consumer stream failed', error);
        left();
      });
      stream.on('data', (message: Received) => {
        const key = `${message.topic}/${String(message.partition)}`;
        let slot = partitions.get(key);
        if (slot === undefined) partitions.set(key, (slot = { queue: [], busy: undefined }));
        slot.queue.push(message);
        waiting++;
        if (waiting >= READ_AHEAD) stream?.pause();
        pump();
      });
    },
    async close() {
      // Stop fetching, drop what was read ahead (it is not committed), let
      // the messages in hand finish, then leave the group.
      await stream?.close().catch((error: unknown) => warn('closing the stream failed', error));
      for (const slot of partitions.values()) slot.queue.length = 0;
      waiting = 0;
      const inHand = [...partitions.values()].flatMap((slot) => slot.busy ?? []);
      stopping.abort(new Error('consumer closing'));
      await Promise.all(inHand);
      await consumer.close();
    },
  };
}
