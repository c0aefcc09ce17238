import { meter } from '@comms/telemetry';
import type { Counter, Meter } from '@comms/telemetry';
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

const STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const breakers = new Set<{ name: string; state: () => BreakerState }>();
let instruments: { meter: Meter; transitions: Counter } | undefined;

/**
 * The breakers' metrics, created once per meter: a gauge that is 1 for each
 * breaker's current state and 0 for the others, and a counter of transitions.
 */
function breakerInstruments(): { transitions: Counter } {
  const current = meter();
  if (instruments?.meter !== current) {
    current
      .createObservableGauge('comms.circuit_breaker.state', {
        description: 'Circuit breaker state: 1 for the current state of each breaker, else 0.',
      })
      .addCallback((result) => {
        for (const breaker of breakers) {
          const now = breaker.state();
          for (const state of STATES)
            result.observe(now === state ? 1 : 0, { breaker: breaker.name, state });
        }
      });
    instruments = {
      meter: current,
      transitions: current.createCounter('comms.circuit_breaker.transitions', {
        description: 'Circuit breaker state changes, per breaker and new state.',
      }),
    };
  }
  return instruments;
}

export function createCircuitBreaker(options: BreakerOptions): CircuitBreaker {
  const threshold = options.failureThreshold ?? 5;
  const openMs = options.openMs ?? 5_000;
  const now = options.now ?? Date.now;
  let state: BreakerState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let trialInFlight = false;

  const { transitions } = breakerInstruments();
  const moveTo = (next: BreakerState) => {
    if (next !== state) {
      state = next;
      transitions.add(1, { breaker: options.name, state: next });
      options.onStateChange?.(next);
    }
  };
  const currentState = () => (state === 'open' && now() - openedAt >= openMs ? 'half-open' : state);
  breakers.add({ name: options.name, state: currentState });

  return {
    state: currentState,
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
 * Retries an idempotent call with exponential backoff and full jitter: the
 * project's one retry primitive, from packages/resilience, offered here too
 * so services find it beside the breaker.
 */
export { retry } from '@comms/resilience';
