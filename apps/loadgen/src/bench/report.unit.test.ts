import { describe, expect, it } from 'vitest';
import { summariseKafkaClients } from './kafka-cases.js';
import type { KafkaTrial } from './kafka-cases.js';
import { summarise } from '@comms/load';
import type { Measurement } from '@comms/load';
import { cpuPerRequest, markdownReport } from './report.js';
import type { BenchReport } from './run.js';
import { compare, trialsOf } from './trials.js';

const trial = (name: string, rps: number, cpu: Record<string, number>): Measurement => ({
  ...summarise(name, [1, 2, 3], 0, 1_000),
  rps,
  cpu,
});

const orders = (rps: readonly number[], orderCores: number) =>
  compare(
    {
      style: 'End to end',
      question: 'placing an order vs one INSERT transaction',
      ratioOf: 'throughput',
      target: { kind: 'ratio', min: 0.15 },
      cpuTargetMs: 1.5,
    },
    {
      runs: {
        subject: rps.map((value) =>
          trial('POST /orders', value, {
            'order-service': orderCores,
            PostgreSQL: 0.2,
            'load generator': 0.5,
            bench: 0.01,
          }),
        ),
        baseline: rps.map((value) => trial('raw pg', value * 10, { PostgreSQL: 1 })),
      },
    },
    { subject: 'subject', baseline: 'baseline' },
  );

const report = (extra: Partial<BenchReport> = {}): BenchReport => ({
  startedAt: '2026-12-02T00:00:00.000Z',
  mode: {
    durationMs: 10_000,
    concurrency: 32,
    trials: 3,
    warmupMs: 2_000,
    kafkaRate: 200,
    kafkaTrials: 3,
  },
  machine: { cpus: 2, cpuModel: 'test', memoryGiB: 1, node: '24', platform: 'linux', infra: 'x' },
  comparisons: [orders([400, 400, 400], 0.6)],
  ...extra,
});

describe('cpuPerRequest', () => {
  it('divides each serving party’s cores by the rate, leaving the generator and bench out', () => {
    const one = cpuPerRequest(
      trial('x', 400, { 'order-service': 0.6, PostgreSQL: 0.2, 'load generator': 0.5, bench: 0.1 }),
    );
    // 0.6 cores at 400/s = 1.5 ms each; 0.2 cores = 0.5 ms.
    expect(one.parties).toEqual({ 'order-service': 1.5, PostgreSQL: 0.5 });
    expect(one.total).toBeCloseTo(2);
  });

  it('is not a number when nothing was served', () => {
    expect(cpuPerRequest(trial('x', 0, { PostgreSQL: 1 })).total).toBeNaN();
  });
});

describe('markdownReport', () => {
  it('prints CPU per accepted order with the target’s verdict', () => {
    // order-service 0.6 cores + PostgreSQL 0.2 at 400/s: 2 ms per order, above 1.5.
    expect(markdownReport(report())).toContain(
      '| POST /orders | 2.00 (2.00–2.00) (missed: ≤ 1.5) |',
    );
    // 0.2 + 0.2 cores at 400/s: 1 ms.
    expect(markdownReport(report({ comparisons: [orders([400, 400, 400], 0.2)] }))).toContain(
      '| POST /orders | 1.00 (1.00–1.00) (met: ≤ 1.5) |',
    );
  });

  it('puts the telemetry-off pass beside the main run', () => {
    const text = markdownReport(
      report({ telemetryOff: { comparisons: [orders([800, 800, 800], 0.2)], stealPercent: 0.5 } }),
    );
    expect(text).toContain('Telemetry on and off');
    // 400 on vs 800 off: 50%; CPU per order 2 ms on, 0.5 ms off.
    expect(text).toContain(
      '| POST /orders | 400 (400–400) | 800 (800–800) | 50% | 2.00 (2.00–2.00) | 0.50 (0.50–0.50) |',
    );
  });

  it('says whether identity was on, and that tokens were verified on every request', () => {
    const on = report({ mode: { ...report().mode, identity: true } });
    expect(markdownReport(on)).toContain(
      'Identity was on: every request to a service carried a bearer token',
    );
    expect(markdownReport(on)).toContain('verified by the service on each request');
    expect(markdownReport({ ...on, mode: { ...on.mode, identity: false } })).toContain(
      'Identity was off',
    );
    // Older reports (docs/benchmarks.json before identity) say nothing either way.
    expect(markdownReport(report())).not.toContain('Identity was');
  });

  it('prints no telemetry table without a second pass', () => {
    expect(markdownReport(report())).not.toContain('Telemetry on and off');
  });

  it('reports the order path at the higher rate beside the clients, with its reliability', () => {
    const path = (name: string, lags: number[]) => summarise(name, lags, 0, 10_000);
    const runs: KafkaTrial[] = [1, 2, 3].flatMap(() =>
      (['kafkajs', 'platformatic'] as const).map((client) => ({
        client,
        bare: path('bare', [5, 10, 20]),
        orders: path('orders', [20, 40, 80]),
      })),
    );
    const steady = [1, 2, 3].map(() => path('orders at 500/s', [30, 60, 120]));
    const kafkaClients = {
      ...summariseKafkaClients(runs),
      highRate: { ratePerSecond: 500, orders: trialsOf('orders at 500/s', steady) },
    };
    expect(markdownReport(report({ kafkaClients }))).toMatch(
      /\| order -> stored notification at 500\/s \| kafkajs \| 60.00 \(60.00–60.00\) \| 120.00 \(120.00–120.00\) \| 0 \| \(reported, no baseline\) \| reliable \|/,
    );
    // A p99 that moves from 120 to 400 ms between rounds cannot be trusted.
    const noisy = [120, 400, 200].map((p99) => path('orders at 500/s', [30, 60, p99]));
    const shaky = {
      ...kafkaClients,
      highRate: { ratePerSecond: 500, orders: trialsOf('orders at 500/s', noisy) },
    };
    expect(markdownReport(report({ kafkaClients: shaky }))).toMatch(
      /at 500\/s \| kafkajs .*\| unreliable: p99 spread \d+% > 15% \|/,
    );
  });
});
