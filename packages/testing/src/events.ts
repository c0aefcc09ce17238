import { parseKafkaEvent } from '@comms/contracts';
import type { AnyEvent } from '@comms/contracts';
import { createKafka } from '@comms/kafka';
import { testInfra, uniqueName, waitFor } from './infra.js';

/** One event as it reached a topic: the record's value as text, and the event parsed from it. */
export interface PublishedEvent {
  readonly value: string;
  readonly event: AnyEvent;
}

/** What {@link watchEvents} hands a test. */
export interface WatchedEvents {
  /** Every event read so far, in the order read. */
  readonly published: readonly PublishedEvent[];
  /**
   * The events whose `subject` is `subject`, once at least `count` have
   * arrived; fails naming the subject when they do not within `timeoutMs`
   * (default 30 s).
   */
  ofSubject(subject: string, count: number, timeoutMs?: number): Promise<PublishedEvent[]>;
  /** Stops reading. */
  close(): Promise<void>;
}

/**
 * Reads `topic` of the run's Kafka from its beginning, in a consumer group of
 * its own, and keeps every record that parses as a CloudEvent in either
 * content mode, as a consumer would read it (`actor` included). The topic is
 * created with `partitions` when it does not exist yet. Topics are shared
 * with other suites: a test looks for its own aggregates with `ofSubject`;
 * what does not parse is not this test's and is passed over.
 */
export async function watchEvents(
  topic: string,
  options: { readonly partitions: number },
): Promise<WatchedEvents> {
  const { kafkaBrokers, kafkaClient } = testInfra();
  const kafka = createKafka({
    brokers: kafkaBrokers.split(','),
    clientId: uniqueName('watch'),
    client: kafkaClient,
  });
  const admin = await kafka.admin();
  try {
    await admin.ensureTopics([{ topic, partitions: options.partitions }]);
  } finally {
    await admin.close();
  }
  const published: PublishedEvent[] = [];
  const consumer = await kafka.consumer({ groupId: uniqueName(`watch-${topic}`), topics: [topic] });
  await consumer.run((message) => {
    try {
      const event = parseKafkaEvent(message.value, message.headers);
      published.push({ value: message.value?.toString('utf8') ?? '', event });
    } catch {
      // Not an event: nothing this test could have caused.
    }
    return Promise.resolve();
  });
  return {
    published,
    ofSubject: (subject, count, timeoutMs = 30_000) =>
      waitFor(
        () => {
          const mine = published.filter((p) => p.event.subject === subject);
          return mine.length >= count ? mine : undefined;
        },
        { timeoutMs, message: `fewer than ${count} events of ${subject} reached ${topic}` },
      ),
    close: () => consumer.close(),
  };
}
