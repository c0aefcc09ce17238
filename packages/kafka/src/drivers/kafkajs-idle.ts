import { createRequire } from 'node:module';

/** What the fix touches of kafkajs's per-connection request queue. */
interface RequestQueueInternals {
  pending: unknown[];
  scheduleCheckPendingRequests: (this: RequestQueueInternals) => void;
}

/** The kafkajs release this was written against, read off the installed copy. */
const FIXED_FOR = '2.2.4';

let applied: boolean | undefined;

/**
 * Stops kafkajs's request queues spinning while idle. In kafkajs 2.2.4 each
 * broker connection's queue re-arms a check of its waiting requests after
 * every check, even when none wait: with no throttle in force the delay
 * works out negative, Node runs it after 1 ms, and each connection wakes
 * about 900 times a second doing nothing (on Node 24 the first such timer
 * also prints a TimeoutNegativeWarning). Upstream knows it (kafkajs issues
 * 1704 and 1751, open) and releases no more.
 *
 * The change: with nothing waiting, no check is re-armed. Nothing is lost by
 * it, because a request that comes later is either sent at once or, when it
 * has to wait (throttled, or too many in flight), is queued by
 * RequestQueue.push, which re-arms the check itself. Applied once per
 * process, and only to the release it was written against: another release
 * is left as it is, and this answers false.
 */
export function quietIdleRequestQueues(): boolean {
  if (applied !== undefined) return applied;
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueueInternals;
  };
  const original = RequestQueue.prototype.scheduleCheckPendingRequests;
  applied = version === FIXED_FOR && typeof original === 'function';
  if (applied)
    RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
      if (this.pending.length === 0) return;
      original.call(this);
    };
  return applied;
}
