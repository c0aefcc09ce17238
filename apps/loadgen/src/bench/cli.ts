// `npm run bench`: measures every style beside its baseline on this machine,
// in interleaved rounds, and writes docs/benchmarks.json, docs/benchmarks.svg
// and the results table of docs/benchmarks.md. Quick by default (10 s
// trials); --long for 60 s; --only kafka (or a comma-separated list of
// CASES) runs some cases and only prints them. A full run measures the
// request cases a second time with the services' telemetry off
// (--no-telemetry-pass skips that; --no-telemetry runs everything off).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { markdownReport, replaceResults, svgChart } from './report.js';
import { CASES, runBenchmarks, TELEMETRY_CASES } from './run.js';
import type { CaseName } from './run.js';
import { MIN_TRIALS } from './trials.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const { values } = parseArgs({
  options: {
    long: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    trials: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
    'kafka-rate': { type: 'string', default: '200' },
    'kafka-high-rate': { type: 'string', default: '500' },
    'kafka-trials': { type: 'string' },
    ghz: { type: 'string' },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'no-telemetry': { type: 'boolean', default: false },
    'no-telemetry-pass': { type: 'boolean', default: false },
  },
});

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${name} must be a positive number, got '${text}'`);
  }
  return value;
}

const durationMs = positive('duration', values.duration ?? (values.long ? '60' : '10')) * 1000;
const concurrency = Math.round(positive('concurrency', values.concurrency));
const kafkaRate = positive('kafka-rate', values['kafka-rate']);
const kafkaHighRate =
  values['kafka-high-rate'] === '0' ? 0 : positive('kafka-high-rate', values['kafka-high-rate']);

/** At least MIN_TRIALS: fewer cannot give a median with a spread worth reading. */
function rounds(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < MIN_TRIALS)
    throw new Error(
      `--${name} must be a whole number of at least ${String(MIN_TRIALS)}, got '${text}'`,
    );
  return value;
}
const trials = rounds('trials', values.trials);
const kafkaTrials = rounds('kafka-trials', values['kafka-trials'] ?? values.trials);
const warmupMs =
  values.warmup === undefined
    ? Math.min(2_000, durationMs)
    : values.warmup === '0'
      ? 0
      : positive('warmup', values.warmup) * 1000;

function casesOf(text: string): CaseName[] {
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(CASES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0)
    throw new Error(`--only takes a comma-separated list of ${CASES.join(', ')}; got '${text}'`);
  return names as CaseName[];
}
const only = values.only === undefined ? undefined : casesOf(values.only);
// A partial run would replace the whole results section with part of it.
const write = !values['no-write'] && only === undefined;

const common = {
  durationMs,
  warmupMs,
  trials,
  concurrency,
  kafkaRate,
  kafkaHighRate,
  kafkaTrials,
  ...(values.ghz === undefined ? {} : { ghz: values.ghz }),
  log: (line: string) => {
    console.log(`[bench] ${line}`);
  },
};
const main = await runBenchmarks({
  ...common,
  ...(only === undefined ? {} : { only }),
  telemetry: !values['no-telemetry'],
});
// A full run with telemetry on measures the request cases again with it
// off, so the report shows what the telemetry costs beside it.
const telemetryPass = only === undefined && !values['no-telemetry'] && !values['no-telemetry-pass'];
let report = main;
if (telemetryPass) {
  console.log('[bench] the request cases again with OTEL_SDK_DISABLED=true (a second pass)');
  const off = await runBenchmarks({
    ...common,
    only: TELEMETRY_CASES,
    telemetry: false,
  });
  report = {
    ...main,
    telemetryOff: {
      comparisons: off.comparisons,
      ...(off.machine.stealPercent === undefined ? {} : { stealPercent: off.machine.stealPercent }),
    },
  };
}
const table = markdownReport(report);
console.log(`\n${table}\n`);

if (write) {
  const docs = join(ROOT, 'docs');
  await writeFile(join(docs, 'benchmarks.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(docs, 'benchmarks.svg'), svgChart(report));
  const markdown = await readFile(join(docs, 'benchmarks.md'), 'utf8');
  await writeFile(join(docs, 'benchmarks.md'), replaceResults(markdown, table));
  console.log('[bench] wrote docs/benchmarks.json, docs/benchmarks.svg and docs/benchmarks.md');
}
