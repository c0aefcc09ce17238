import type { ClientsOnPath, KafkaClientsReport } from './kafka-cases.js';
import { spread } from '@comms/load';
import type { Measurement, Spread } from '@comms/load';
import type { BenchReport } from './run.js';
import type { ScaleReport, ScaleSide } from './scale-case.js';
import { MIN_TRIALS, relativeSpread, SPREAD_LIMIT, STEAL_LIMIT } from './trials.js';
import type { Comparison, Trials, Verdict } from './trials.js';
import { IDENTITY_OFF, IDENTITY_ON } from './identity.js';

/** The party the load generators' CPU is counted under (run.ts' classifier). */
export const GENERATOR = 'load generator';
/**
 * A generator that keeps this many cores busy is likely the limit, not the
 * subject: autocannon and the pg loop are one event loop each.
 */
export const GENERATOR_BOUND = 0.9;

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** A figure over trials: the median, and the least and greatest in brackets. */
export const spreadText = (s: Spread, digits = 2) =>
  `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;

const percentText = (s: Spread) =>
  `${fmt(s.median * 100, 0)}% (${fmt(s.min * 100, 0)}–${fmt(s.max * 100, 0)}%)`;

/** "reliable", or "unreliable" with every reason. */
export function reliabilityText(verdict: Verdict): string {
  return verdict.unreliable.length === 0
    ? 'reliable'
    : `unreliable: ${verdict.unreliable.join('; ')}`;
}

function verdictText(comparison: Comparison): string {
  const { target, met } = comparison;
  if (target === undefined) return '';
  const goal =
    target.kind === 'ratio'
      ? `≥ ${fmt(target.min * 100, 0)}% of baseline`
      : `p99 < ${fmt(target.maxMs, 0)} ms`;
  return `${met === true ? 'met' : 'missed'} (${goal}, no errors)`;
}

function ratioText(comparison: Comparison): string {
  const { ratio } = comparison.verdict;
  return comparison.ratioOf === 'throughput'
    ? `${percentText(ratio)} of req/s`
    : `p99 ${spreadText(ratio, 1)}×`;
}

/** The generator's cores during a side's trials (median), flagged when it was likely the limit. */
export function generatorText(m: Measurement): string {
  const cores = m.cpu?.[GENERATOR];
  if (cores === undefined) return '';
  return `${fmt(cores, 2)}${cores >= GENERATOR_BOUND ? ' (generator-bound)' : ''}`;
}

const row = (style: string, t: Trials, note: string, cells: readonly string[]) =>
  `| ${style} | ${t.median.name}${note} | ${spreadText(t.spread.rps, 0)} | ${spreadText(t.spread.p50Ms)} | ${spreadText(t.spread.p99Ms)} | ${String(t.median.errors)} | ${generatorText(t.median)} | ${cells.join(' | ')} |`;

/** Every side of the report, in table order. */
function sides(report: BenchReport): { style: string; t: Trials }[] {
  return report.comparisons.flatMap((c) => [
    { style: c.style, t: c.subject },
    { style: c.style, t: c.baseline },
    ...(c.ceiling === undefined ? [] : [{ style: c.style, t: c.ceiling.trials }]),
    ...(c.breakdown ?? []).map((t) => ({ style: c.style, t })),
  ]);
}

/** Cores each party kept busy per case (medians of the trials), when the platform could tell. */
function cpuTable(report: BenchReport): string[] {
  const all = sides(report).map(({ t }) => t.median);
  // A fixed order, whatever order /proc listed the processes in.
  const order = [GENERATOR, 'bench', 'user-service', 'order-service', 'notification-service'];
  const rank = (party: string) => (order.includes(party) ? order.indexOf(party) : order.length);
  const parties = [...new Set(all.flatMap((m) => Object.keys(m.cpu ?? {})))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  if (parties.length === 0) return [];
  return [
    '',
    `Where the machine's time went: cores kept busy on average during each case, the median of its trials (the machine has ${String(report.machine.cpus)}). The load generator (autocannon, the pg loop or ghz) runs in processes of its own; "bench" is the process that starts them.`,
    '',
    `| case | ${parties.join(' | ')} |`,
    `| ---- | ${parties.map(() => '---:').join(' | ')} |`,
    ...all.map((m) => `| ${m.name} | ${parties.map((p) => fmt(m.cpu?.[p] ?? 0, 2)).join(' | ')} |`),
  ];
}

/** Parties that do not serve the subject: the load, the bench itself and the baselines. */
const NOT_SERVING = new Set([GENERATOR, 'bench', 'baseline servers']);

/** CPU milliseconds one trial spent per request, per serving party and summed over them. */
export function cpuPerRequest(m: Measurement): { total: number; parties: Record<string, number> } {
  const parties: Record<string, number> = {};
  let total = 0;
  for (const [party, cores] of Object.entries(m.cpu ?? {})) {
    if (NOT_SERVING.has(party)) continue;
    // cores busy × 1000 ms per second / requests per second = ms per request
    const ms = m.rps > 0 ? (cores * 1000) / m.rps : Number.NaN;
    parties[party] = ms;
    total += ms;
  }
  return { total, parties };
}

/** A side's CPU per request summed over the serving parties: median and range of its trials. */
const cpuTotal = (t: Trials): Spread => spread(t.trials.map((m) => cpuPerRequest(m).total));

/**
 * CPU per request of each throughput subject (every service, PostgreSQL and
 * Kafka; not the generator): the median of the trials, each trial's cores
 * over its own rate, with the range.
 */
function cpuPerRequestTable(report: BenchReport): string[] {
  const subjects = report.comparisons.filter(
    (c) => c.ratioOf === 'throughput' && c.subject.trials.some((m) => m.cpu !== undefined),
  );
  if (subjects.length === 0) return [];
  const perTrial = subjects.map((c) => c.subject.trials.map(cpuPerRequest));
  const parties = [...new Set(perTrial.flat().flatMap((one) => Object.keys(one.parties)))].sort(
    (a, b) => a.localeCompare(b),
  );
  const lines = [
    '',
    `CPU per request: each serving party's CPU time over the requests it served (cores busy × 1000 / req/s, trial by trial; the median with the range), the load generator, bench and baseline servers left out. The end-to-end row is CPU per accepted order. A case with a CPU target says whether its summed median met it.`,
    '',
    `| case | total ms | ${parties.join(' | ')} |`,
    `| ---- | -------: | ${parties.map(() => '---:').join(' | ')} |`,
  ];
  subjects.forEach((c, index) => {
    const trials = perTrial[index] ?? [];
    const total = cpuTotal(c.subject);
    const target =
      c.cpuTargetMs === undefined
        ? ''
        : ` (${total.median <= c.cpuTargetMs ? 'met' : 'missed'}: ≤ ${fmt(c.cpuTargetMs)})`;
    const cells = parties.map((party) =>
      spreadText(spread(trials.map((one) => one.parties[party] ?? 0))),
    );
    lines.push(
      `| ${c.subject.median.name} | ${spreadText(total)}${target} | ${cells.join(' | ')} |`,
    );
  });
  return lines;
}

/**
 * The same cases with the services' OpenTelemetry on (as `npm start` runs
 * them) and off (`OTEL_SDK_DISABLED=true`), from two passes of the bench.
 */
export function telemetryTable(report: BenchReport): string[] {
  const off = report.telemetryOff;
  if (off === undefined) return [];
  const lines = [
    '',
    `Telemetry on and off: the main run (on, as \`npm start\` runs the services, no exporter configured) beside a second pass of the same cases with \`OTEL_SDK_DISABLED=true\`, started afresh after it (steal ${off.stealPercent === undefined ? 'n/a' : `${fmt(off.stealPercent)}%`}). The passes ran one after the other, not interleaved, so read the ratio against both spreads.`,
    '',
    '| case | req/s on | req/s off | on / off | CPU ms per request on | CPU ms per request off |',
    '| ---- | -------: | --------: | -------: | --------------------: | ---------------------: |',
  ];
  for (const without of off.comparisons) {
    const withIt = report.comparisons.find((c) => c.style === without.style);
    if (withIt === undefined) continue;
    const cpu = (t: Trials) => spreadText(cpuTotal(t));
    const ratio = withIt.subject.median.rps / without.subject.median.rps;
    lines.push(
      `| ${without.subject.median.name} | ${spreadText(withIt.subject.spread.rps, 0)} | ${spreadText(without.subject.spread.rps, 0)} | ${fmt(ratio * 100, 0)}% | ${cpu(withIt.subject)} | ${cpu(without.subject)} |`,
    );
  }
  return lines;
}

/** A reported-only figure's reliability: enough rounds and a p99 spread within the limit. */
function highRateReliability(orders: Trials): string {
  const problems: string[] = [];
  if (orders.trials.length < MIN_TRIALS)
    problems.push(`${String(orders.trials.length)} trials (at least ${String(MIN_TRIALS)} needed)`);
  const relative = relativeSpread(orders.spread.p99Ms);
  if (!(relative <= SPREAD_LIMIT))
    problems.push(
      `p99 spread ${Number.isNaN(relative) ? 'unknown' : `${fmt(relative * 100, 0)}%`} > ${fmt(SPREAD_LIMIT * 100, 0)}%`,
    );
  return problems.length === 0 ? 'reliable' : `unreliable: ${problems.join('; ')}`;
}

/** Both Kafka clients on both paths: medians of the trials, their range, and the ratio with its own. */
export function kafkaClientsTable(clients: KafkaClientsReport): string[] {
  const lines = (name: string, path: ClientsOnPath) => {
    const line = (label: string, client: string, t: Trials, ratio: string, reliability: string) =>
      `| ${label} | ${client} | ${spreadText(t.spread.p50Ms)} | ${spreadText(t.spread.p99Ms)} | ${String(t.median.errors)} | ${ratio} | ${reliability} |`;
    const unreliable = [...new Set([...path.p50.unreliable, ...path.p99.unreliable])];
    return [
      line(name, 'kafkajs', path.kafkajs, '', ''),
      line(
        '',
        'platformatic',
        path.platformatic,
        `p50 ${spreadText(path.p50.ratio)}×, p99 ${spreadText(path.p99.ratio)}×`,
        reliabilityText({ ratio: path.p99.ratio, unreliable }),
      ),
    ];
  };
  return [
    '',
    `Kafka clients side by side: each figure is the median of ${String(clients.trials)} trials per client, run interleaved (kafkajs, platformatic, kafkajs, ...), with the least and greatest trial in brackets; the services were restarted with KAFKA_CLIENT before each of their trials. Ratio: platformatic over kafkajs, round by round, its median and range (below 1: platformatic is faster).`,
    '',
    '| path | client | p50 ms | p99 ms | errors | platformatic / kafkajs | reliability |',
    '| ---- | ------ | -----: | -----: | -----: | ---------------------- | ----------- |',
    ...lines('bare produce -> consume', clients.bare),
    ...lines('order -> stored notification', clients.orders),
    ...(clients.highRate === undefined
      ? []
      : [
          `| order -> stored notification at ${String(clients.highRate.ratePerSecond)}/s | kafkajs | ${spreadText(clients.highRate.orders.spread.p50Ms)} | ${spreadText(clients.highRate.orders.spread.p99Ms)} | ${String(clients.highRate.orders.median.errors)} | (reported, no baseline) | ${highRateReliability(clients.highRate.orders)} |`,
        ]),
  ];
}

/** Whether every order of the scale case got its notification, per side, and what limits it. */
export function scaleTable(scale: ScaleReport): string[] {
  const line = (side: ScaleSide) =>
    `| ${String(side.instances)} | ${String(side.runs)} | ${String(side.stored)} | ${String(side.notified)} | ${String(side.missing)} | ${String(side.doubled)} | ${spreadText(side.drainMs, 0)} | ${spreadText(side.machineCores)} |`;
  return [
    '',
    `Scale-out, order -> stored notification: every order of every run (the warm-up too), each run with a user of its own, counted in order-service's and notification-service's tables once the load stopped. Drain: from the load's end until the last order had its notification (polled every 250 ms). Machine cores: every process on the machine (it has ${String(scale.cpus)}), ours or not, during the load; drain and cores are medians of the trials with their range.`,
    '',
    '| instances of each | runs | orders stored | notified once | missing | doubled | drain ms | machine cores busy |',
    '| ----------------: | ---: | ------------: | ------------: | ------: | ------: | -------: | -----------------: |',
    line(scale.one),
    line(scale.two),
    '',
    `What limits two instances on this machine: ${scale.limit}.`,
  ];
}

/** The results as markdown tables, with the machine and the method above them. */
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
    ...(mode.identity === undefined ? [] : [mode.identity ? IDENTITY_ON : IDENTITY_OFF]),
    `Each case ran ${String(mode.trials)} interleaved rounds (subject, baseline, ceiling, breakdown, then again) of ${fmt(mode.durationMs / 1000, 1)} s after a ${fmt(mode.warmupMs / 1000, 1)} s warm-up of each side, with ${String(mode.concurrency)} connections or calls in flight (Kafka: ${String(mode.kafkaRate)} messages per second, ${String(mode.kafkaTrials)} rounds per client). Each figure is the median of its trials with the least and greatest in brackets; a ratio is the median of the round-by-round ratios, with their range. A comparison is unreliable when a spread passes ${fmt(SPREAD_LIMIT * 100, 0)}% of its median, steal during the case passes ${String(STEAL_LIMIT)}%, or it had fewer than ${String(MIN_TRIALS)} rounds.`,
    '',
    '| style | case | req/s | p50 ms | p99 ms | errors | generator cores | ratio | target | reliability |',
    '| ----- | ---- | ----: | -----: | -----: | -----: | --------------: | ----: | ------ | ----------- |',
  ];
  for (const c of report.comparisons) {
    const steal =
      c.verdict.stealPercent === undefined ? '' : ` (steal ${fmt(c.verdict.stealPercent)}%)`;
    lines.push(
      row(c.style, c.subject, '', [
        ratioText(c),
        verdictText(c),
        `${reliabilityText(c.verdict)}${steal}`,
      ]),
    );
    lines.push(row('', c.baseline, ' (baseline)', ['', '', '']));
    if (c.ceiling !== undefined)
      lines.push(
        row('', c.ceiling.trials, ' (ceiling)', [
          `subject: ${percentText(c.ceiling.ratio)} of it`,
          '',
          '',
        ]),
      );
    for (const t of c.breakdown ?? []) lines.push(row('', t, ' (breakdown)', ['', '', '']));
  }
  if (report.kafkaClients !== undefined) lines.push(...kafkaClientsTable(report.kafkaClients));
  if (report.scale !== undefined) lines.push(...scaleTable(report.scale));
  lines.push(...cpuPerRequestTable(report));
  lines.push(...telemetryTable(report));
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
    const subject = c.subject.median;
    const baseline = c.baseline.median;
    const max = Math.max(value(subject), value(baseline));
    const text = (m: Measurement) =>
      c.ratioOf === 'throughput' ? `${fmt(m.rps, 0)}/s` : `p99 ${fmt(m.p99Ms, 1)} ms`;
    return [
      {
        label: `${c.style}: ${subject.name}`,
        value: value(subject),
        max,
        text: text(subject),
        subject: true,
      },
      {
        label: `${c.style}: ${baseline.name}`,
        value: value(baseline),
        max,
        text: text(baseline),
        subject: false,
      },
    ];
  });
  const height = 40 + rows.length * rowHeight + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="${String(height)}" viewBox="0 0 ${String(width)} ${String(height)}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">Each style beside its baseline (medians of interleaved trials): requests per second, or p99 latency at a fixed rate</text>`,
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
