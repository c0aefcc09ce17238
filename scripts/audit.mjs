#!/usr/bin/env node
// `npm run audit`: the production dependencies against the npm registry's
// advisory service. Exit 0: no high or critical advisory; 1: there are
// (listed); 2: the advisory service could not be asked (said plainly, so an
// unreachable service is never mistaken for a clean bill).
import { spawn } from 'node:child_process';

const child = spawn('npm', ['audit', '--omit=dev', '--json'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
let out = '';
let err = '';
child.stdout.on('data', (chunk) => (out += chunk));
child.stderr.on('data', (chunk) => (err += chunk));
await new Promise((resolve) => child.on('close', resolve));

let report;
try {
  report = JSON.parse(out);
} catch {
  report = undefined;
}
if (report === undefined || report.error !== undefined || report.metadata === undefined) {
  const why =
    report?.error?.summary ||
    report?.message ||
    err.split('\n').find((line) => /audit|ERR|error/i.test(line)) ||
    '?';
  console.error(`the advisory service could not be asked: ${String(why).trim()}`);
  console.error('nothing was checked; run this where the npm registry answers `npm audit`.');
  process.exit(2);
}

const counts = report.metadata.vulnerabilities ?? {};
const serious = Object.values(report.vulnerabilities ?? {}).filter(
  (v) => v.severity === 'high' || v.severity === 'critical',
);
console.log(
  `production dependencies: ${report.metadata.dependencies?.prod ?? '?'}; advisories: ` +
    ['critical', 'high', 'moderate', 'low'].map((s) => `${s} ${counts[s] ?? 0}`).join(', '),
);
for (const v of serious)
  console.log(`  ${v.severity}: ${v.name} (${v.range})${v.fixAvailable ? ', fix available' : ''}`);
process.exit(serious.length === 0 ? 0 : 1);
