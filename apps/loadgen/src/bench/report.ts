import type { ClientFigures, KafkaClientsReport } from './kafka-cases.js';
import type { Measurement, Spread } from './measure.js';
import type { BenchReport, Comparison } from './run.js';

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function verdict(comparison: Comparison): string {
  const { target, met } = comparison;
  if (target === undefined) return '';
  const goal =
    target.kind === 'ratio'
      ? `≥ ${fmt(target.min * 100, 0)}% of baseline`
      : `p99 < ${fmt(target.maxMs, 0)} ms`;
  return `${met === true ? 'met' : 'missed'} (${goal}, no errors)`;
}

function ratioText(comparison: Comparison): string {
  return comparison.ratioOf === 'throughput'
    ? `${fmt(comparison.ratio * 100, 0)}% of req/s`
    : `p99 ${fmt(comparison.ratio, 1)}×`;
}

const row = (style: string, m: Measurement, note: string, ratio: string, target: string) =>
  `| ${style} | ${m.name}${note} | ${fmt(m.rps, 0)} | ${fmt(m.p50Ms, 2)} | ${fmt(m.p95Ms, 2)} | ${fmt(m.p99Ms, 2)} | ${String(m.errors)} | ${ratio} | ${target} |`;

/** Every measurement of the report, in table order. */
function measurements(report: BenchReport): { style: string; m: Measurement }[] {
  return report.comparisons.flatMap((c) => [
    { style: c.style, m: c.subject },
    { style: c.style, m: c.baseline },
    ...(c.breakdown ?? []).map((m) => ({ style: c.style, m })),
  ]);
}

/** Cores each party kept busy per case, when the platform could tell. */
function cpuTable(report: BenchReport): string[] {
  const all = measurements(report);
  // A fixed order, whatever order /proc listed the processes in.
  const order = ['load generator', 'user-service', 'order-service', 'notification-service'];
  const rank = (party: string) => (order.includes(party) ? order.indexOf(party) : order.length);
  const parties = [...new Set(all.flatMap(({ m }) => Object.keys(m.cpu ?? {})))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  if (parties.length === 0) return [];
  return [
    '',
    `Where the machine's time went: cores kept busy on average during each case (the machine has ${String(report.machine.cpus)}).`,
    '',
    `| case | ${parties.join(' | ')} |`,
    `| ---- | ${parties.map(() => '---:').join(' | ')} |`,
    ...all.map(
      ({ m }) => `| ${m.name} | ${parties.map((p) => fmt(m.cpu?.[p] ?? 0, 2)).join(' | ')} |`,
    ),
  ];
}

const spreadText = (s: Spread) => `${fmt(s.median, 2)} (${fmt(s.min, 2)}–${fmt(s.max, 2)})`;

/** Both Kafka clients on both paths: medians of the trials, their range, and the ratio. */
export function kafkaClientsTable(clients: KafkaClientsReport): string[] {
  const line = (
    path: string,
    client: string,
    f: ClientFigures,
    ratio?: { p50: number; p99: number },
  ) =>
    `| ${path} | ${client} | ${spreadText(f.p50Ms)} | ${spreadText(f.p99Ms)} | ${String(f.errors)} | ${
      ratio === undefined ? '' : `p50 ${fmt(ratio.p50, 2)}×, p99 ${fmt(ratio.p99, 2)}×`
    } |`;
  return [
    '',
    `Kafka clients side by side: each figure is the median of ${String(clients.trials)} trials per client, run interleaved (kafkajs, platformatic, kafkajs, ...), with the least and greatest trial in brackets; the services were restarted with KAFKA_CLIENT before each of their trials. Ratio: platformatic's median over kafkajs' (below 1: platformatic is faster).`,
    '',
    '| path | client | p50 ms | p99 ms | errors | platformatic / kafkajs |',
    '| ---- | ------ | -----: | -----: | -----: | ---------------------- |',
    line('bare produce -> consume', 'kafkajs', clients.bare.kafkajs),
    line('', 'platformatic', clients.bare.platformatic, clients.ratio.bare),
    line('order -> stored notification', 'kafkajs', clients.orders.kafkajs),
    line('', 'platformatic', clients.orders.platformatic, clients.ratio.orders),
  ];
}

/** The results as markdown tables, with the machine and mode above them. */
export function markdownReport(report: BenchReport): string {
  const { machine, mode } = report;
  const lines = [
    `Run ${report.startedAt} on ${String(machine.cpus)} × ${machine.cpuModel}, ${fmt(machine.memoryGiB)} GiB, Node ${machine.node} (${machine.platform}); ${machine.infra}.`,
    ...(machine.stealPercent === undefined
      ? []
      : [
          `The hypervisor gave ${fmt(machine.stealPercent)}% of this machine's CPU time to other guests during the run (steal); figures from a busier host are lower.`,
        ]),
    ...(mode.only === undefined ? [] : [`Only these cases ran: ${mode.only.join(', ')}.`]),
    `Each case ran ${fmt(mode.durationMs / 1000, 0)} s with ${String(mode.concurrency)} connections or calls in flight (Kafka: ${String(mode.kafkaRate)} messages per second); load generator, services and servers share the machine.`,
    '',
    '| style | case | req/s | p50 ms | p95 ms | p99 ms | errors | ratio | target |',
    '| ----- | ---- | ----: | -----: | -----: | -----: | -----: | ----: | ------ |',
  ];
  for (const c of report.comparisons) {
    lines.push(row(c.style, c.subject, '', ratioText(c), verdict(c)));
    lines.push(row('', c.baseline, ' (baseline)', '', ''));
    for (const m of c.breakdown ?? []) lines.push(row('', m, ' (breakdown)', '', ''));
  }
  if (report.kafkaClients !== undefined) lines.push(...kafkaClientsTable(report.kafkaClients));
  lines.push(...cpuTable(report));
  return lines.join('\n');
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar chart: for each style, the subject beside its baseline
 * on one scale per style. Throughput cases compare requests per second (the
 * baseline is the full bar); fixed-rate cases compare p99 latency (the
 * slower one is the full bar).
 */
export function svgChart(report: BenchReport): string {
  const width = 760;
  const rowHeight = 26;
  const labelWidth = 330;
  const barSpace = width - labelWidth - 100;
  const rows = report.comparisons.flatMap((c) => {
    const value = (m: Measurement) => (c.ratioOf === 'throughput' ? m.rps : m.p99Ms);
    const max = Math.max(value(c.subject), value(c.baseline));
    const text = (m: Measurement) =>
      c.ratioOf === 'throughput' ? `${fmt(m.rps, 0)}/s` : `p99 ${fmt(m.p99Ms, 1)} ms`;
    return [
      {
        label: `${c.style}: ${c.subject.name}`,
        value: value(c.subject),
        max,
        text: text(c.subject),
        subject: true,
      },
      {
        label: `${c.style}: ${c.baseline.name}`,
        value: value(c.baseline),
        max,
        text: text(c.baseline),
        subject: false,
      },
    ];
  });
  const height = 40 + rows.length * rowHeight + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="${String(height)}" viewBox="0 0 ${String(width)} ${String(height)}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">Each style beside its raw baseline: requests per second, or p99 latency at a fixed rate</text>`,
  ];
  rows.forEach((row, index) => {
    const y = 40 + index * rowHeight;
    const fraction = row.max > 0 ? Math.min(1, row.value / row.max) : 0;
    const barWidth = Math.max(1, Math.round(fraction * barSpace));
    parts.push(
      `<text x="10" y="${String(y + 16)}">${escape(row.label)}</text>`,
      `<rect x="${String(labelWidth)}" y="${String(y + 4)}" width="${String(barWidth)}" height="16" fill="${row.subject ? '#3b6ea8' : '#9aa5b1'}"/>`,
      `<text x="${String(labelWidth + barWidth + 6)}" y="${String(y + 16)}">${escape(row.text)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export const RESULTS_BEGIN = '<!-- bench:results:begin -->';
export const RESULTS_END = '<!-- bench:results:end -->';

/** Replaces the generated part of docs/benchmarks.md, keeping the prose around it. */
export function replaceResults(document: string, results: string): string {
  const begin = document.indexOf(RESULTS_BEGIN);
  const end = document.indexOf(RESULTS_END);
  if (begin === -1 || end === -1 || end < begin) {
    throw new Error(`docs/benchmarks.md must contain ${RESULTS_BEGIN} and ${RESULTS_END}`);
  }
  return `${document.slice(0, begin + RESULTS_BEGIN.length)}\n\n${results}\n\n${document.slice(end)}`;
}
