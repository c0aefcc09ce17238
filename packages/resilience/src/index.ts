export { backoffDelay, retry, sleep } from './retry.js';
export type { RetryOptions } from './retry.js';
export { pollUntil } from './poll.js';
export type { PollOptions } from './poll.js';
