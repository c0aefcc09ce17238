import pg from 'pg';
import { retry } from '@comms/resilience';
import type { Logger } from '@comms/service-kit';
import { FEED_CHANNEL } from './processor.js';
import type { Notification } from './processor.js';

/** Live feed of stored notifications, from every instance, through PostgreSQL LISTEN/NOTIFY. */
export interface Feed {
  subscribe(listener: (notification: Notification) => void): () => void;
  close(): Promise<void>;
}

/** Listens on the feed channel, reconnecting after a lost connection. */
export function createFeed(deps: { databaseUrl: string; logger: Logger }): Feed {
  const listeners = new Set<(notification: Notification) => void>();
  let client: pg.Client | undefined;
  const closing = new AbortController();

  const connect = async () => {
    const next = new pg.Client({
      connectionString: deps.databaseUrl,
      application_name: 'notification-feed',
    });
    next.on('notification', (message) => {
      if (message.channel !== FEED_CHANNEL || message.payload === undefined) return;
      const notification = JSON.parse(message.payload) as Notification;
      for (const listener of listeners) listener(notification);
    });
    next.on('error', (error) => {
      deps.logger.warn({ err: error }, 'notification feed connection lost; reconnecting');
      void next.end().catch(() => undefined);
      // Only a connection that was listening starts a new round; one that
      // fails while connecting is retried by the round it belongs to.
      if (client === next) {
        client = undefined;
        listen();
      }
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${FEED_CHANNEL}`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    client = next;
  };
  // Connects, and connects again after a lost connection, until closed.
  const listen = () => {
    if (closing.signal.aborted) return;
    void retry(connect, {
      attempts: Infinity,
      baseDelayMs: 500,
      maxDelayMs: 5_000,
      signal: closing.signal,
      onRetry: (error) =>
        deps.logger.warn({ err: error }, 'notification feed cannot listen; retrying'),
    }).catch(() => undefined);
  };
  listen();

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closing.abort();
      listeners.clear();
      await client?.end().catch(() => undefined);
    },
  };
}
