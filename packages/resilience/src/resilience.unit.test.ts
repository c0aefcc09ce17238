import { describe, expect, it } from 'vitest';
import { backoffDelay, pollUntil, retry, sleep } from './index.js';

describe('retry', () => {
  it('tries again until the call succeeds, with the try number', async () => {
    const seen: number[] = [];
    const result = await retry(
      (attempt) => {
        seen.push(attempt);
        return attempt < 3 ? Promise.reject(new Error(`no ${attempt}`)) : Promise.resolve('yes');
      },
      { attempts: 5, baseDelayMs: 1 },
    );
    expect({ result, seen }).toEqual({ result: 'yes', seen: [1, 2, 3] });
  });

  it('throws the last error after the last try, and a non-retryable one at once', async () => {
    let calls = 0;
    await expect(
      retry(() => Promise.reject(new Error(`try ${++calls}`)), { attempts: 3, baseDelayMs: 1 }),
    ).rejects.toThrow('try 3');
    calls = 0;
    await expect(
      retry(() => Promise.reject(new Error(`try ${++calls}`)), {
        attempts: 3,
        baseDelayMs: 1,
        retryable: () => false,
      }),
    ).rejects.toThrow('try 1');
  });

  it('stops waiting when its signal aborts', async () => {
    const stop = new AbortController();
    const started = Date.now();
    const pending = retry(() => Promise.reject(new Error('down')), {
      attempts: Infinity,
      baseDelayMs: 60_000,
      random: () => 1,
      signal: stop.signal,
    });
    stop.abort(new Error('closing'));
    await expect(pending).rejects.toThrow('closing');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('backs off exponentially with full jitter, capped', () => {
    const top = (attempt: number) =>
      backoffDelay(attempt, { baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5].map((a) => Math.round(top(a)))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(3, { baseDelayMs: 100, random: () => 0 })).toBe(0);
  });
});

describe('pollUntil', () => {
  it('returns the first defined value', async () => {
    let n = 0;
    expect(
      await pollUntil(() => (++n >= 3 ? n : undefined), { timeoutMs: 1_000, intervalMs: 1 }),
    ).toBe(3);
  });

  it('fails at the deadline naming the last error', async () => {
    await expect(
      pollUntil(
        () => {
          throw new Error('not yet');
        },
        { timeoutMs: 30, intervalMs: 5 },
      ),
    ).rejects.toThrow(/within 30 ms; last error: not yet/);
  });

  it('throws an error that is not transient at once', async () => {
    const started = Date.now();
    await expect(
      pollUntil(
        () => {
          throw new Error('broken');
        },
        { timeoutMs: 10_000, transient: () => false },
      ),
    ).rejects.toThrow('broken');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('sleep', () => {
  it('rejects with the reason when aborted', async () => {
    const stop = new AbortController();
    const pending = sleep(60_000, stop.signal);
    stop.abort(new Error('bye'));
    await expect(pending).rejects.toThrow('bye');
  });
});
