import { retry } from '@comms/resilience';
import type { KafkaAdmin, KafkaClient, TopicSpec } from './port.js';

/** Keeps a service's topics in place and tells whether Kafka answers. */
export interface TopicKeeper {
  /** Resolves when the topics exist and the cluster answers now; rejects otherwise (for /readyz). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates the topics a service needs, retrying in the background while
 * Kafka is away, so the service can start (and accept work it keeps in its
 * outbox) before Kafka does.
 */
export function keepTopics(
  kafka: KafkaClient,
  specs: readonly TopicSpec[],
  log?: (error: unknown) => void,
  retryMs = 2_000,
): TopicKeeper {
  let admin: KafkaAdmin | undefined;
  let ready = false;
  const closing = new AbortController();

  const attempt = async () => {
    try {
      admin ??= await kafka.admin();
      await admin.ensureTopics(specs);
      ready = true;
    } catch (error) {
      await admin?.close().catch(() => undefined);
      admin = undefined;
      throw error;
    }
  };
  void retry(attempt, {
    attempts: Infinity,
    baseDelayMs: retryMs,
    maxDelayMs: retryMs * 4,
    signal: closing.signal,
    onRetry: (error) => log?.(error),
  }).catch(() => undefined);

  return {
    async check() {
      if (!ready || admin === undefined)
        throw new Error('topics not created yet: Kafka has not answered');
      await admin.listTopics();
    },
    async close() {
      closing.abort();
      await admin?.close().catch(() => undefined);
    },
  };
}
