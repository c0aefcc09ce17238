import { detached, meter } from '@comms/telemetry';
import type { ObservableCallback } from '@comms/telemetry';
import type { DriverAdmin } from './driver.js';
import type { PartitionLag } from './port.js';

/**
 * How far a group is behind on every partition of `topics`: the end offset
 * minus the committed one, counted from the partition's first offset when
 * nothing is committed yet (so retention does not inflate it).
 */
export async function groupLag(
  admin: DriverAdmin,
  groupId: string,
  topics: readonly string[],
): Promise<PartitionLag[]> {
  const committed = await admin.committedOffsets(groupId, topics);
  const result: PartitionLag[] = [];
  for (const topic of new Set(committed.map((c) => c.topic))) {
    const ends = await admin.topicOffsets(topic);
    for (const c of committed.filter((x) => x.topic === topic)) {
      const offsets = ends.find((e) => e.partition === c.partition);
      const end = offsets?.high ?? 0;
      const low = offsets?.low ?? 0;
      result.push({
        topic,
        partition: c.partition,
        committed: c.offset,
        end,
        lag: Math.max(0, end - (c.offset < 0 ? low : c.offset)),
      });
    }
  }
  return result;
}

/**
 * Publishes a consumer's lag as the gauge `comms.kafka.consumer.lag`, per
 * topic and partition, read when metrics are collected (at most once a
 * second). Returns the function that removes it.
 */
export function observeLag(groupId: string, lag: () => Promise<PartitionLag[]>): () => void {
  const gauge = meter().createObservableGauge('comms.kafka.consumer.lag', {
    description: 'Messages the consumer group has not yet committed, per topic and partition.',
  });
  let cached: { at: number; value: Promise<PartitionLag[]> } | undefined;
  const callback: ObservableCallback = async (result) => {
    if (cached === undefined || Date.now() - cached.at > 1_000)
      cached = { at: Date.now(), value: detached(lag) };
    const partitions = await cached.value.catch(() => []);
    for (const p of partitions)
      result.observe(p.lag, {
        'messaging.destination.name': p.topic,
        'messaging.destination.partition.id': String(p.partition),
        'messaging.consumer.group.name': groupId,
      });
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}
