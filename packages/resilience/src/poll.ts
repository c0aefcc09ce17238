import { sleep } from './retry.js';

/** Options for {@link pollUntil}. */
export interface PollOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Pause between checks. Default 100 ms. */
  readonly intervalMs?: number;
  /**
   * The error to throw at the deadline; gets the last error a check threw,
   * if any. Default: "condition not met within N ms".
   */
  readonly onTimeout?: (lastError: unknown) => Error | Promise<Error>;
  /**
   * Whether an error thrown by a check means "not yet" (keep polling) or a
   * failure (throw it at once). Default: every error means "not yet".
   */
  readonly transient?: (error: unknown) => boolean;
  /** Stops the polling with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * The project's one wait-for-a-condition loop: calls `check` until it
 * returns something other than undefined, pausing `intervalMs` between
 * calls, and fails at the deadline. Waiting on a condition with a deadline,
 * never a fixed sleep, is the house rule for tests and startup alike.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: PollOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (!(options.transient?.(error) ?? true)) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      if (options.onTimeout !== undefined) throw await options.onTimeout(lastError);
      const suffix =
        lastError === undefined
          ? ''
          : `; last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`;
      throw new Error(`condition not met within ${String(options.timeoutMs)} ms${suffix}`);
    }
    await sleep(options.intervalMs ?? 100, options.signal);
  }
}
