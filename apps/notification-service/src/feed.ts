import pg from 'pg';
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
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

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
      if (!closed) timer = setTimeout(() => void connect().catch(retry), 1_000);
    });
    await next.connect();
    await next.query(`LISTEN ${FEED_CHANNEL}`);
    client = next;
  };
  const retry = (error: unknown) => {
    deps.logger.warn({ err: error }, 'notification feed cannot listen; retrying');
    if (!closed) timer = setTimeout(() => void connect().catch(retry), 1_000);
  };
  void connect().catch(retry);

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      listeners.clear();
      await client?.end().catch(() => undefined);
    },
  };
}
