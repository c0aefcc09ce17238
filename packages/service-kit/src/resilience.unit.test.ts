import { describe, expect, it } from 'vitest';
import { createCircuitBreaker, retry } from './resilience.js';

describe('circuit breaker', () => {
  it('opens after the threshold, fails fast while open, and closes after a good trial', async () => {
    let clock = 0;
    const states: string[] = [];
    const breaker = createCircuitBreaker({
      name: 'user-service',
      failureThreshold: 2,
      openMs: 1_000,
      now: () => clock,
      onStateChange: (s) => states.push(s),
    });
    let calls = 0;
    const failing = () => {
      calls += 1;
      return Promise.reject(new Error('down'));
    };
    await expect(breaker.run(failing)).rejects.toThrow('down');
    await expect(breaker.run(failing)).rejects.toThrow('down');
    expect(breaker.state()).toBe('open');
    await expect(breaker.run(failing)).rejects.toThrow(
      /user-service is unavailable; calls are suspended/,
    );
    expect(calls).toBe(2);

    clock = 1_000;
    expect(breaker.state()).toBe('half-open');
    await expect(breaker.run(() => Promise.resolve('up'))).resolves.toBe('up');
    expect(breaker.state()).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('does not count answers that are not failures of the dependency', async () => {
    const breaker = createCircuitBreaker({ name: 'x', failureThreshold: 1 });
    const notFound = Object.assign(new Error('no such user'), { business: true });
    await expect(
      breaker.run(
        () => Promise.reject(notFound),
        (e) => !(e as { business?: boolean }).business,
      ),
    ).rejects.toThrow('no such user');
    expect(breaker.state()).toBe('closed');
  });
});

describe('retry', () => {
  it('retries retryable errors up to the attempt limit, then gives up', async () => {
    let attempts = 0;
    await expect(
      retry(
        () => {
          attempts += 1;
          return Promise.reject(new Error('flaky'));
        },
        { attempts: 3, baseDelayMs: 1, retryable: () => true },
      ),
    ).rejects.toThrow('flaky');
    expect(attempts).toBe(3);
  });

  it('does not retry what is not retryable, and returns the first success', async () => {
    let attempts = 0;
    await expect(
      retry(() => Promise.reject(new Error(`fatal ${++attempts}`)), {
        attempts: 5,
        baseDelayMs: 1,
        retryable: () => false,
      }),
    ).rejects.toThrow('fatal 1');
    expect(
      await retry((n) => (n < 2 ? Promise.reject(new Error('x')) : Promise.resolve(n)), {
        attempts: 3,
        baseDelayMs: 1,
        retryable: () => true,
      }),
    ).toBe(2);
  });
});
