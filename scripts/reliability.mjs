#!/usr/bin/env node
// `npm run reliability [-- --long] [vitest options]`: builds what the suites
// start, then runs only the reliability suites (fault injection, fuzzing).
// --long holds every fault longer, at a higher rate, with more fuzz
// examples; `npm test` runs the short profile.
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const long = args.includes('--long');
const rest = args.filter((arg) => arg !== '--long');

const run = (command, commandArgs, env = process.env) =>
  new Promise((resolve) => {
    const child = spawn(command, commandArgs, { stdio: 'inherit', env });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

const built = await run('npx', [
  'turbo',
  'run',
  'build',
  '--filter=@comms/loadgen...',
  '--output-logs=errors-only',
]);
if (built !== 0) process.exit(built);
process.exit(
  await run('npm', ['run', 'test:reliability', '--workspace', '@comms/loadgen', '--', ...rest], {
    ...process.env,
    RELIABILITY_PROFILE: long ? 'long' : (process.env.RELIABILITY_PROFILE ?? 'short'),
  }),
);
