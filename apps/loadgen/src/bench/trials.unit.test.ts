import { describe, expect, it } from 'vitest';
import { summarise } from '@comms/load';
import type { Measurement } from '@comms/load';
import { compare, interleave, judge, relativeSpread, trialsOf } from './trials.js';

const trial = (name: string, rps: number, p99Ms = 10): Measurement => ({
  ...summarise(name, [1, 2, 3], 0, 1_000),
  rps,
  p99Ms,
});
const side = (name: string, rps: readonly number[]) =>
  trialsOf(
    name,
    rps.map((value) => trial(name, value)),
  );

describe('relativeSpread', () => {
  it('is the range over the median', () => {
    expect(relativeSpread({ median: 100, min: 90, max: 110 })).toBeCloseTo(0.2);
    expect(relativeSpread({ median: 0, min: 0, max: 0 })).toBeNaN();
  });
});

describe('judge', () => {
  it('pairs the trials round by round and trusts a tight comparison', () => {
    const verdict = judge(side('s', [50, 52, 51]), side('b', [100, 102, 100]), 'rps', 1.5);
    // 50/100, 52/102, 51/100.
    expect(verdict.ratio).toEqual({ median: 0.51, min: 0.5, max: 0.51 });
    expect(verdict.stealPercent).toBe(1.5);
    expect(verdict.unreliable).toEqual([]);
  });

  it('calls a comparison unreliable when a figure or the ratio spreads past 15%', () => {
    // The subject's third trial is 20% down: its spread is 20% of its median.
    const verdict = judge(side('s', [50, 50, 40]), side('b', [100, 100, 100]), 'rps');
    expect(verdict.unreliable).toEqual([
      'subject req/s spread 20% > 15%',
      'ratio spread 20% > 15%',
    ]);
  });

  it('keeps a spread of exactly 15% reliable, and one just above it not', () => {
    expect(judge(side('s', [100, 100, 115]), side('b', [100, 100, 100]), 'rps').unreliable).toEqual(
      [],
    );
    expect(
      judge(side('s', [100, 100, 116]), side('b', [100, 100, 100]), 'rps').unreliable,
    ).toHaveLength(2);
  });

  it('calls a comparison unreliable when steal passed 5%, or with fewer than three rounds', () => {
    const tight = [side('s', [50, 50, 50]), side('b', [100, 100, 100])] as const;
    expect(judge(...tight, 'rps', 5).unreliable).toEqual([]);
    expect(judge(...tight, 'rps', 5.1).unreliable).toEqual(['steal 5.1% > 5%']);
    expect(judge(side('s', [50, 50]), side('b', [100, 100]), 'rps').unreliable).toEqual([
      '2 trials (at least 3 needed)',
    ]);
  });

  it('judges latency the same way', () => {
    const s = trialsOf('s', [trial('s', 1, 30), trial('s', 1, 60), trial('s', 1, 33)]);
    const b = trialsOf('b', [trial('b', 1, 10), trial('b', 1, 10), trial('b', 1, 11)]);
    const verdict = judge(s, b, 'p99Ms');
    expect(verdict.ratio).toEqual({ median: 3, min: 3, max: 6 });
    expect(verdict.unreliable).toContain('subject p99 spread 91% > 15%');
  });
});

describe('interleave', () => {
  it('warms each side up once, then runs the sides in turn, round after round', async () => {
    const order: string[] = [];
    const sideOf = (name: string) => (durationMs: number) => {
      order.push(`${name}:${String(durationMs)}`);
      return Promise.resolve(trial(name, durationMs));
    };
    const rounds = await interleave(
      { subject: sideOf('s'), baseline: sideOf('b') },
      { trials: 3, durationMs: 100, warmupMs: 20 },
    );
    expect(order).toEqual(['s:20', 'b:20', 's:100', 'b:100', 's:100', 'b:100', 's:100', 'b:100']);
    // The warm-up's figures are dropped.
    expect(rounds.runs.subject).toHaveLength(3);
    expect(rounds.runs.baseline.map((m) => m.rps)).toEqual([100, 100, 100]);
  });
});

describe('compare', () => {
  const rounds = {
    runs: {
      service: [trial('svc', 70), trial('svc', 72), trial('svc', 71)],
      minimal: [trial('min', 100), trial('min', 100), trial('min', 100)],
      hello: [trial('hello', 700), trial('hello', 720), trial('hello', 710)],
    },
    stealPercent: 0.4,
  };
  const about = {
    style: 'REST',
    question: 'q',
    ratioOf: 'throughput' as const,
    target: { kind: 'ratio' as const, min: 0.7 },
  };

  it('judges the subject against its baseline and shows its share of the ceiling', () => {
    const c = compare(about, rounds, { subject: 'service', baseline: 'minimal', ceiling: 'hello' });
    expect(c.subject.median).toMatchObject({ name: 'svc', rps: 71 });
    expect(c.ratio).toBe(0.71);
    expect(c.met).toBe(true);
    expect(c.verdict).toMatchObject({ stealPercent: 0.4, unreliable: [] });
    expect(c.ceiling?.ratio.median).toBe(0.1);
  });

  it('misses a target with errors, whatever the ratio', () => {
    const failing = {
      ...rounds,
      runs: { ...rounds.runs, service: rounds.runs.service.map((m) => ({ ...m, errors: 1 })) },
    };
    expect(compare(about, failing, { subject: 'service', baseline: 'minimal' }).met).toBe(false);
  });
});
