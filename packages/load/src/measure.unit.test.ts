import { describe, expect, it } from 'vitest';
import { closedLoop, medianOf, openLoop, percentile, spread, summarise } from './measure.js';

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.95)).toBe(95);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('summarise', () => {
  it('reports requests, errors and the rate over the run', () => {
    const m = summarise('case', [3, 1, 2, 4], 1, 2_000);
    expect(m).toMatchObject({ requests: 4, errors: 1, rps: 2, p50Ms: 2, p99Ms: 4 });
  });
});

describe('closedLoop', () => {
  it('keeps the given number of calls in flight, stops by itself and counts failures', async () => {
    let inFlight = 0;
    let most = 0;
    const m = await closedLoop('loop', { concurrency: 3, durationMs: 150 }, async (_w, i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      if (i === 2) throw new Error('third call of each worker fails');
    });
    expect(most).toBe(3);
    expect(inFlight).toBe(0);
    expect(m.errors).toBe(3);
    expect(m.requests).toBeGreaterThan(3);
  });
});

describe('openLoop', () => {
  it('starts calls at the given rate without waiting for earlier ones, and counts failures', async () => {
    const startedAt: number[] = [];
    let inFlight = 0;
    let most = 0;
    const run = await openLoop({ ratePerSecond: 200, durationMs: 300 }, async (index) => {
      startedAt.push(performance.now());
      inFlight++;
      most = Math.max(most, inFlight);
      // Each call outlives several intervals: a closed loop would fall behind.
      await new Promise((resolve) => setTimeout(resolve, 40));
      inFlight--;
      if (index === 3) throw new Error('boom');
    });
    expect(run.started).toBe(60);
    expect(startedAt).toHaveLength(60);
    expect(run.errors).toBe(1);
    expect(most).toBeGreaterThan(1);
    expect(inFlight).toBe(0);
  });

  it('refuses calls beyond maxInFlight as errors instead of slowing down', async () => {
    let calls = 0;
    const run = await openLoop(
      { ratePerSecond: 1_000, durationMs: 50, maxInFlight: 2 },
      async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      },
    );
    expect(calls).toBe(2);
    expect(run.errors).toBe(run.started - 2);
  });

  it('starts no further call once its signal is aborted, and still awaits the calls in flight', async () => {
    const stop = new AbortController();
    let finished = 0;
    const run = await openLoop(
      { ratePerSecond: 100, durationMs: 10_000, signal: stop.signal },
      async (index) => {
        if (index === 4) stop.abort();
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished++;
      },
    );
    expect(run.started).toBe(5);
    expect(finished).toBe(5);
    expect(run.durationMs).toBeLessThan(5_000);
  });
});

describe('spread and medianOf', () => {
  it('takes the middle trial, or the mean of the middle two, and the range', () => {
    expect(spread([30, 10, 20])).toEqual({ median: 20, min: 10, max: 30 });
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(spread([]).median).toBeNaN();
  });

  it('stands one measurement for several trials: medians, with requests and errors summed', () => {
    const trial = (p99Ms: number, errors: number) => ({
      ...summarise('t', [1, 2, 3], errors, 1_000),
      p99Ms,
      cpu: { Kafka: p99Ms / 100 },
    });
    const m = medianOf('median of 3', [trial(50, 0), trial(10, 1), trial(90, 2)]);
    expect(m).toMatchObject({ name: 'median of 3', p99Ms: 50, requests: 9, errors: 3 });
    expect(m.cpu).toEqual({ Kafka: 0.5 });
  });
});
