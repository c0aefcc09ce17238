import { describe, expect, it } from 'vitest';
import { busyCores } from './cpu.js';
import { scaleTable } from './report.js';
import { completionOf, scaleSide, whatLimits } from './scale-case.js';
import type { ScaleRun } from './scale-case.js';

describe('completionOf', () => {
  it('counts each order as notified once, missing or doubled by its event’s confirmations', () => {
    const orders = new Map([
      ['order-a', 'event-a'],
      ['order-b', 'event-b'],
      ['order-c', 'event-c'],
      ['order-d', 'event-d'],
    ]);
    // A confirmation of an order that is not this trial's does not count.
    const confirmations = new Map([
      ['event-a', 1],
      ['event-b', 2],
      ['event-d', 1],
      ['event-other', 1],
    ]);
    expect(completionOf(orders, confirmations)).toEqual({
      stored: 4,
      notified: 2,
      missing: 1,
      doubled: 1,
    });
    expect(completionOf(new Map(), confirmations)).toEqual({
      stored: 0,
      notified: 0,
      missing: 0,
      doubled: 0,
    });
  });
});

const run = (instances: number, warmup: boolean, drainMs: number, missing = 0): ScaleRun => ({
  instances,
  warmup,
  stored: 100,
  notified: 100 - missing,
  missing,
  doubled: 0,
  drainMs,
  machineCores: drainMs / 1000,
});

describe('scaleSide', () => {
  it('counts every run’s orders, warm-up included, and takes times from the trials only', () => {
    const runs = [
      run(1, true, 9_000),
      run(2, true, 8_000, 3),
      run(1, false, 300),
      run(2, false, 200),
      run(1, false, 500),
      run(2, false, 400),
    ];
    const two = scaleSide(2, runs);
    expect(two).toMatchObject({ instances: 2, runs: 3, stored: 300, notified: 297, missing: 3 });
    expect(two.drainMs).toEqual({ median: 300, min: 200, max: 400 });
    expect(two.machineCores).toEqual({ median: 0.3, min: 0.2, max: 0.4 });
    expect(scaleSide(1, runs).drainMs).toEqual({ median: 400, min: 300, max: 500 });
  });
});

describe('whatLimits', () => {
  it('names the generator when it kept a core busy', () => {
    const text = whatLimits({
      cpu: { 'load generator': 0.95, 'order-service': 0.5, PostgreSQL: 0.3 },
      cpus: 2,
      ratio: 1.05,
    });
    expect(text).toMatch(/^the load generator: it kept 0\.95 cores busy/);
    expect(text).toContain('105%');
  });

  it('names the machine and who took its cores when they were all busy', () => {
    const text = whatLimits({
      cpu: { 'load generator': 0.4, 'order-service': 0.6, PostgreSQL: 0.55, Kafka: 0.1 },
      machineCores: 1.95,
      cpus: 2,
      ratio: 1.1,
    });
    expect(text).toMatch(/^the machine's 2 cores: 1\.95 were busy/);
    // Largest first, and what processes outside the system took.
    expect(text).toContain('(order-service 0.60, PostgreSQL 0.55, load generator 0.40, Kafka 0.10');
    expect(text).toContain('other processes 0.30');
    expect(text).toContain("two instances of each reached 110% of one's throughput");
  });

  it('says it is not CPU when cores were left idle, and unknown without CPU figures', () => {
    expect(
      whatLimits({ cpu: { 'order-service': 0.3, PostgreSQL: 0.2 }, cpus: 2, ratio: 1.8 }),
    ).toMatch(/^not CPU: 0\.50 of 2 cores were busy/);
    expect(whatLimits({ cpus: 2, ratio: 1 })).toMatch(/^unknown/);
  });
});

describe('busyCores', () => {
  it('is the share of the machine not idle, waiting for I/O or stolen, in cores', () => {
    // 1000 ticks over 2 cores: 300 idle, 100 stolen.
    expect(
      busyCores({ total: 0, steal: 0, idle: 0 }, { total: 1_000, steal: 100, idle: 300 }, 2),
    ).toBe(1.2);
    expect(busyCores(undefined, { total: 1, steal: 0, idle: 0 }, 2)).toBeUndefined();
  });
});

describe('scaleTable', () => {
  it('gives one row per side and the limit', () => {
    const runs = [run(1, false, 300), run(2, false, 200, 2)];
    const lines = scaleTable({
      cpus: 2,
      one: scaleSide(1, runs),
      two: scaleSide(2, runs),
      limit: 'the machine',
    });
    expect(lines.filter((line) => /^\| [12] \|/.test(line))).toEqual([
      '| 1 | 1 | 100 | 100 | 0 | 0 | 300 (300–300) | 0.30 (0.30–0.30) |',
      '| 2 | 1 | 100 | 98 | 2 | 0 | 200 (200–200) | 0.20 (0.20–0.20) |',
    ]);
    expect(lines.at(-1)).toBe('What limits two instances on this machine: the machine.');
  });
});
