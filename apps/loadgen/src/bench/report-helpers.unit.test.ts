import { describe, expect, it } from 'vitest';
import { summariseKafkaClients } from './kafka-cases.js';
import { summarise } from '@comms/load';
import { stealPercent } from './cpu.js';
import { kafkaClientsTable, replaceResults, RESULTS_BEGIN, RESULTS_END } from './report.js';

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

describe('stealPercent', () => {
  it('is the stolen share of the CPU time between two readings', () => {
    expect(stealPercent({ total: 1_000, steal: 10 }, { total: 3_000, steal: 310 })).toBe(15);
    expect(stealPercent(undefined, { total: 1, steal: 0 })).toBeUndefined();
    expect(stealPercent({ total: 5, steal: 0 }, { total: 5, steal: 0 })).toBeUndefined();
  });
});

describe('the Kafka clients summary', () => {
  const run = (client: 'kafkajs' | 'platformatic', bareP99: number, ordersP99: number) => ({
    client,
    bare: {
      ...summarise(`bare (${client})`, [1, 2], 0, 1_000),
      p50Ms: bareP99 / 2,
      p99Ms: bareP99,
    },
    orders: {
      ...summarise(`orders (${client})`, [1, 2], 0, 1_000),
      p50Ms: ordersP99 / 2,
      p99Ms: ordersP99,
    },
  });
  // Interleaved as the bench runs them; one noisy kafkajs trial (400).
  const summary = summariseKafkaClients([
    run('kafkajs', 20, 100),
    run('platformatic', 10, 80),
    run('kafkajs', 22, 400),
    run('platformatic', 12, 90),
    run('kafkajs', 18, 120),
    run('platformatic', 11, 70),
  ]);

  it('keeps each client apart and reports the median, the range and the ratio round by round', () => {
    expect(summary.trials).toBe(3);
    expect(summary.bare.kafkajs.spread.p99Ms).toEqual({ median: 20, min: 18, max: 22 });
    expect(summary.orders.kafkajs.spread.p99Ms).toEqual({ median: 120, min: 100, max: 400 });
    expect(summary.orders.platformatic.spread.p99Ms.median).toBe(80);
    // Rounds: 10/20, 12/22, 11/18.
    expect(summary.bare.p99.ratio).toEqual({ median: 0.545, min: 0.5, max: 0.611 });
    // Rounds: 80/100, 90/400, 70/120: the noisy kafkajs trial makes it unreliable.
    expect(summary.orders.p99.ratio.median).toBe(0.583);
    expect(summary.orders.p99.unreliable.join()).toMatch(/baseline p99 spread 250% > 15%/);
  });

  it('prints both clients on both paths with their spread, ratio and reliability', () => {
    const table = kafkaClientsTable(summary).join('\n');
    expect(table).toContain('median of 3 trials per client, run interleaved');
    expect(table).toContain(
      '| bare produce -> consume | kafkajs | 10.00 (9.00–11.00) | 20.00 (18.00–22.00) | 0 |',
    );
    expect(table).toContain(
      '| order -> stored notification | kafkajs | 60.00 (50.00–200.00) | 120.00 (100.00–400.00) | 0 |',
    );
    expect(table).toMatch(
      /\| {2}\| platformatic \| 40\.00 \(35\.00–45\.00\) \| 80\.00 \(70\.00–90\.00\) \| 0 \| p50 0\.58 \(0\.23–0\.80\)×, p99 0\.58 \(0\.23–0\.80\)× \| unreliable: /,
    );
  });
});
