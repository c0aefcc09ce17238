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
 * driver.ts): one message (or one batch of what was read ahead) at a time
 * per partition, up to `concurrency` partitions at once, each offset
 * committed after its handler resolved.
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
  /** What the handlers are given: one message (run) or up to `batchSize` of a partition (runBatches). */
  let deliver: (messages: readonly DriverMessage[]) => Promise<void> = () => Promise.resolve();
  let batchSize = 1;
  let concurrency = 1;

  const owned = (message: Received) =>
    (consumer.assignments ?? []).some(
      (a) => a.topic === message.topic && a.partitions.includes(message.partition),
    );

  const toDriver = (message: Received): DriverMessage => {
    const headers: Record<string, string> = {};
    for (const [name, value] of message.headerEntries)
      if (name !== undefined) headers[name] = value ?? '';
    return {
      topic: message.topic,
      partition: message.partition,
      offset: String(message.offset),
      key: message.key ?? null,
      value: message.value ?? null,
      headers,
      timestamp: String(message.timestamp),
    };
  };

  /** Hands over messages of one partition, in offset order, then commits the last. */
  const handle = async (messages: readonly Received[]) => {
    const last = messages.at(-1) as Received;
    const delivered = messages.map(toDriver);
    // A rejection is handed over again, as kafkajs does, until it resolves,
    // the consumer stops or the partition moves to another member (which
    // then reads it from the last commit).
    await retry(
      async () => {
        if (!owned(last)) return;
        await deliver(delivered);
        // commit() is offset + 1, this message's partition only: it covers
        // every message before it.
        await Promise.resolve(last.commit()).catch((error: unknown) =>
          warn(
            `commit of ${last.topic}/${String(last.partition)}@${String(last.offset)} failed`,
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
      const taken = slot.queue.splice(0, batchSize);
      waiting -= taken.length;
      active++;
      slot.busy = handle(taken)
        .catch((error: unknown) => warn('message handler loop failed', error))
        .finally(() => {
          active--;
          slot.busy = undefined;
          if (waiting < READ_AHEAD / 2 && stream?.isPaused() === true) stream.resume();
          pump();
        });
    }
  };

  const dropReadAhead = () => {
    for (const slot of partitions.values()) slot.queue.length = 0;
    waiting = 0;
  };

  const receive = (message: Received) => {
    const key = `${message.topic}/${String(message.partition)}`;
    let slot = partitions.get(key);
    if (slot === undefined) partitions.set(key, (slot = { queue: [], busy: undefined }));
    slot.queue.push(message);
    waiting++;
    if (waiting >= READ_AHEAD) stream?.pause();
    pump();
  };

  let closing = false;
  let rejoining: Promise<void> | undefined;

  const openStream = async () => {
    const opened = await consumer.consume({
      topics: [...topics],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: fromBeginning
        ? MessagesStreamFallbackModes.EARLIEST
        : MessagesStreamFallbackModes.LATEST,
      autocommit: false,
    });
    if (closing) {
      await opened.close();
      return;
    }
    stream = opened;
    opened.on('error', (error: unknown) => {
      warn('consumer stream failed; leaving the group to join it again', error);
      left();
      rejoin();
    });
    opened.on('data', receive);
  };

  /**
   * The library ends a stream for good on an error it does not retry itself
   * (a fetch that failed past its retries, a commit the group refused), while
   * the member stays in the group and keeps its partitions. kafkajs restarts
   * its consumer in that case; this does the same: leave, so the partitions
   * move, then join again with backoff until it works or the consumer closes.
   */
  const rejoin = () => {
    if (closing || rejoining !== undefined) return;
    rejoining = retry(
      async () => {
        // What the failed stream read ahead is not committed: the next
        // stream reads it again from the last commit.
        dropReadAhead();
        // The callback form: the typings list the void overload first.
        await new Promise<void>((resolve, reject) => {
          consumer.leaveGroup(true, (error) => {
            if (error === null) resolve();
            else reject(error);
          });
        });
        await openStream();
      },
      {
        attempts: Infinity,
        baseDelayMs: 200,
        maxDelayMs: 10_000,
        signal: stopping.signal,
        onRetry: (error, attempt, delayMs) =>
          warn(
            `joining the group again failed (try ${String(attempt)}; next in ${String(Math.round(delayMs))} ms)`,
            error,
          ),
      },
    )
      .catch((error: unknown) => {
        if (!stopping.signal.aborted) warn('gave up joining the group again', error);
      })
      .finally(() => {
        rejoining = undefined;
        // A stream that failed while this round was still settling.
        if (stream?.destroyed === true) rejoin();
      });
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
      deliver = (messages) => handler(messages[0] as DriverMessage, () => Promise.resolve());
      concurrency = Math.max(1, partitionsConcurrently);
      await openStream();
    },
    async runBatches(handler, partitionsConcurrently, maxBatch) {
      deliver = (messages) => handler(messages, () => Promise.resolve());
      batchSize = Math.max(1, maxBatch);
      concurrency = Math.max(1, partitionsConcurrently);
      await openStream();
    },
    async close() {
      // Stop fetching (and rejoining), drop what was read ahead (it is not
      // committed), let the messages in hand finish, then leave the group.
      closing = true;
      await stream?.close().catch((error: unknown) => warn('closing the stream failed', error));
      dropReadAhead();
      const inHand = [...partitions.values()].flatMap((slot) => slot.busy ?? []);
      stopping.abort(new Error('consumer closing'));
      await Promise.all([...inHand, rejoining]);
      await consumer.close();
    },
  };
}
