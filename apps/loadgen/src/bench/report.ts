import type { BenchReport, Comparison } from './run.js';

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function verdict(comparison: Comparison): string {
  if (comparison.targetRatio === undefined) return '';
  const met = comparison.ratio >= comparison.targetRatio;
  return `${met ? 'met' : 'missed'} (target ≥ ${fmt(comparison.targetRatio * 100, 0)}%)`;
}

/** The results as a markdown table, with the machine and mode above it. */
export function markdownReport(report: BenchReport): string {
  const { machine, mode } = report;
  const lines = [
    `Run ${report.startedAt} on ${String(machine.cpus)} × ${machine.cpuModel}, ${fmt(machine.memoryGiB)} GiB, Node ${machine.node} (${machine.platform}); ${machine.infra}.`,
    `Each case ran ${fmt(mode.durationMs / 1000, 0)} s with ${String(mode.concurrency)} connections or calls in flight; load generator, services and servers share the machine.`,
    '',
    '| style | case | req/s | p50 ms | p95 ms | p99 ms | errors | ratio to baseline | target |',
    '| ----- | ---- | ----: | -----: | -----: | -----: | -----: | ----------------: | ------ |',
  ];
  for (const c of report.comparisons) {
    for (const [m, isSubject] of [
      [c.subject, true],
      [c.baseline, false],
    ] as const) {
      lines.push(
        `| ${isSubject ? c.style : ''} | ${m.name}${isSubject ? '' : ' (baseline)'} | ${fmt(m.rps, 0)} | ${fmt(m.p50Ms, 2)} | ${fmt(m.p95Ms, 2)} | ${fmt(m.p99Ms, 2)} | ${String(m.errors)} | ${isSubject ? `${fmt(c.ratio * 100, 0)}%` : ''} | ${isSubject ? verdict(c) : ''} |`,
      );
    }
  }
  return lines.join('\n');
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar chart: for each style, the subject's and the baseline's
 * requests per second, on one scale per style (the baseline is 100%).
 */
export function svgChart(report: BenchReport): string {
  const width = 720;
  const rowHeight = 26;
  const labelWidth = 250;
  const barSpace = width - labelWidth - 90;
  const rows = report.comparisons.flatMap((c) => [
    {
      label: `${c.style}: ${c.subject.name}`,
      rps: c.subject.rps,
      max: c.baseline.rps,
      subject: true,
    },
    {
      label: `${c.style}: ${c.baseline.name}`,
      rps: c.baseline.rps,
      max: c.baseline.rps,
      subject: false,
    },
  ]);
  const height = 40 + rows.length * rowHeight + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="${String(height)}" viewBox="0 0 ${String(width)} ${String(height)}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">Requests per second, each style beside its raw baseline (= 100%)</text>`,
  ];
  rows.forEach((row, index) => {
    const y = 40 + index * rowHeight;
    const fraction = row.max > 0 ? Math.min(1, row.rps / row.max) : 0;
    const barWidth = Math.max(1, Math.round(fraction * barSpace));
    parts.push(
      `<text x="10" y="${String(y + 16)}">${escape(row.label)}</text>`,
      `<rect x="${String(labelWidth)}" y="${String(y + 4)}" width="${String(barWidth)}" height="16" fill="${row.subject ? '#3b6ea8' : '#9aa5b1'}"/>`,
      `<text x="${String(labelWidth + barWidth + 6)}" y="${String(y + 16)}">${fmt(row.rps, 0)}/s</text>`,
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
