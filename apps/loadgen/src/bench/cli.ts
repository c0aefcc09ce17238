// `npm run bench`: measures every style beside its raw baseline on this
// machine and writes docs/benchmarks.json, docs/benchmarks.svg and the
// results table of docs/benchmarks.md. Quick by default; --long for 60 s
// per case.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { markdownReport, replaceResults, svgChart } from './report.js';
import { runBenchmarks } from './run.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const { values } = parseArgs({
  options: {
    long: { type: 'boolean', default: false },
    duration: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    'kafka-rate': { type: 'string', default: '200' },
    'no-write': { type: 'boolean', default: false },
    'no-telemetry': { type: 'boolean', default: false },
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

const report = await runBenchmarks({
  durationMs,
  concurrency,
  kafkaRate,
  telemetry: !values['no-telemetry'],
  log: (line) => {
    console.log(`[bench] ${line}`);
  },
});
const table = markdownReport(report);
console.log(`\n${table}\n`);

if (!values['no-write']) {
  const docs = join(ROOT, 'docs');
  await writeFile(join(docs, 'benchmarks.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(docs, 'benchmarks.svg'), svgChart(report));
  const markdown = await readFile(join(docs, 'benchmarks.md'), 'utf8');
  await writeFile(join(docs, 'benchmarks.md'), replaceResults(markdown, table));
  console.log('[bench] wrote docs/benchmarks.json, docs/benchmarks.svg and docs/benchmarks.md');
}
