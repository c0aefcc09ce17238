import { describe, expect, it } from 'vitest';
import { closedLoop, openLoop, percentile, summarise } from './measure.js';
import { stealPercent } from './cpu.js';
import { replaceResults, RESULTS_BEGIN, RESULTS_END } from './report.js';

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

describe('replaceResults', () => {
  it('replaces only the generated part of the document', () => {
    const doc = `# Title\n\nprose\n\n${RESULTS_BEGIN}\n\nold\n\n${RESULTS_END}\n\nafter\n`;
    const next = replaceResults(doc, '| new |');
    expect(next).toBe(
      `# Title\n\nprose\n\n${RESULTS_BEGIN}\n\n| new |\n\n${RESULTS_END}\n\nafter\n`,
    );
    expect(replaceResults(next, '| newer |')).toContain('| newer |');
  });

  it('refuses a document without the markers', () => {
    expect(() => replaceResults('# nothing', 'x')).toThrow(/must contain/);
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
});

describe('stealPercent', () => {
  it('is the stolen share of the CPU time between two readings', () => {
    expect(stealPercent({ total: 1_000, steal: 10 }, { total: 3_000, steal: 310 })).toBe(15);
    expect(stealPercent(undefined, { total: 1, steal: 0 })).toBeUndefined();
    expect(stealPercent({ total: 5, steal: 0 }, { total: 5, steal: 0 })).toBeUndefined();
  });
});
