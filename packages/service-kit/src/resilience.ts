import { AppError } from './errors.js';

/** The state of a {@link CircuitBreaker}, for logs, readiness and metrics. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Options for {@link createCircuitBreaker}. */
export interface BreakerOptions {
  /** What is being protected, for error messages ("user-service over gRPC"). */
  readonly name: string;
  /** Consecutive failures that open the circuit. Default 5. */
  readonly failureThreshold?: number;
  /** How long the circuit stays open before one trial call. Default 5000 ms. */
  readonly openMs?: number;
  readonly now?: () => number;
  readonly onStateChange?: (state: BreakerState) => void;
}

/**
 * A circuit breaker: after `failureThreshold` failures in a row it fails
 * calls at once for `openMs` (no waiting on a dependency known to be down),
 * then lets one trial call through; success closes it again.
 */
export interface CircuitBreaker {
  readonly state: () => BreakerState;
  run<T>(call: () => Promise<T>, isFailure?: (error: unknown) => boolean): Promise<T>;
}

export function createCircuitBreaker(options: BreakerOptions): CircuitBreaker {
  const threshold = options.failureThreshold ?? 5;
  const openMs = options.openMs ?? 5_000;
  const now = options.now ?? Date.now;
  let state: BreakerState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let trialInFlight = false;

  const moveTo = (next: BreakerState) => {
    if (next !== state) {
      state = next;
      options.onStateChange?.(next);
    }
  };

  return {
    state: () => (state === 'open' && now() - openedAt >= openMs ? 'half-open' : state),
    async run(call, isFailure = () => true) {
      if (state === 'open') {
        if (now() - openedAt < openMs || trialInFlight) {
          const wait = Math.max(0, Math.ceil((openMs - (now() - openedAt)) / 1000));
          throw new AppError(
            'UNAVAILABLE',
            `${options.name} is unavailable; calls are suspended for ${wait} s after repeated failures`,
          );
        }
        moveTo('half-open');
      }
      const trial = state === 'half-open';
      if (trial) trialInFlight = true;
      try {
        const result = await call();
        failures = 0;
        moveTo('closed');
        return result;
      } catch (error) {
        if (isFailure(error)) {
          failures += 1;
          if (trial || failures >= threshold) {
            openedAt = now();
            moveTo('open');
          }
        }
        throw error;
      } finally {
        if (trial) trialInFlight = false;
      }
    },
  };
}

/**
 * Retries an idempotent call with exponential backoff and full jitter.
 * Only errors for which `retryable` answers true are retried.
 */
export async function retry<T>(
  call: (attempt: number) => Promise<T>,
  options: { attempts: number; baseDelayMs: number; retryable: (error: unknown) => boolean },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.retryable(error)) throw error;
      const delay = Math.random() * options.baseDelayMs * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
