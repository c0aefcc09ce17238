import { describe, expect, it } from 'vitest';
import { closedLoop, percentile, summarise } from './measure.js';
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
