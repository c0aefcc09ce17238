/**
 * The project's one retry primitive. Every loop that tries something again
 * (a client reconnecting, a relay republishing, a consumer retrying a
 * handler, a process restarting) goes through {@link retry}, so backoff,
 * jitter, cancellation and give-up rules are written once.
 */

/** Options for {@link retry}. */
export interface RetryOptions {
  /** Tries in all, the first included; `Infinity` retries until `signal` aborts. */
  readonly attempts: number;
  /** Delay before the second try; each later one doubles, up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  /** Longest delay between tries. Default: no cap. */
  readonly maxDelayMs?: number;
  /**
   * Whether an error is worth another try. Default: every error. An error
   * that is not retryable is thrown at once.
   */
  readonly retryable?: (error: unknown) => boolean;
  /** Ends the waiting (and so the retrying) with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Told about each failed try that will be retried, and the delay chosen. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Random source in [0, 1), for tests. Default Math.random. */
  readonly random?: () => number;
}

/**
 * The delay before try `attempt + 1`: exponential backoff with full jitter,
 * a random wait in [0, min(max, base * 2^(attempt-1))), so many clients that
 * failed together do not come back together.
 */
export function backoffDelay(
  attempt: number,
  options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
): number {
  const ceiling = Math.min(
    options.maxDelayMs ?? Number.POSITIVE_INFINITY,
    options.baseDelayMs * 2 ** Math.max(0, attempt - 1),
  );
  return (options.random ?? Math.random)() * ceiling;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `call` until it resolves, waiting {@link backoffDelay} between
 * tries. Throws the last error once `attempts` tries failed, an error that
 * is not `retryable` at once, and the signal's reason when it aborts.
 * The call gets the number of its try, from 1.
 */
export async function retry<T>(
  call: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await call(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !(options.retryable?.(error) ?? true)) throw error;
      const delayMs = backoffDelay(attempt, options);
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, options.signal);
    }
  }
}
