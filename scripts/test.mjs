#!/usr/bin/env node
// `npm test`: runs every package's tests through turbo, then the reliability
// suites (fault injection and fuzzing, short profile) once those are done,
// then makes sure the shared PostgreSQL and Kafka that the tests started are
// stopped before returning, also when the tests fail or the run is
// interrupted.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

// Every package's integration tests share one PostgreSQL and one Kafka, and
// each vitest run has workers of its own: turbo's default of ten packages at
// once oversubscribes a small machine until connects and fetches time out.
// Two packages more than there are cores keep the cores busy while tests
// wait on the servers; --concurrency given on the command line wins.
const given = process.argv.slice(2);
const concurrency = given.some((arg) => arg.startsWith('--concurrency'))
  ? []
  : [`--concurrency=${String(availableParallelism() + 2)}`];
const args = ['run', 'test', 'test:reliability', ...concurrency, ...given];
const turbo = spawn('npx', ['turbo', ...args], { stdio: 'inherit' });

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    interrupted = true;
    turbo.kill(sig);
  });
}

const code = await new Promise((resolve) => turbo.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));

const cli = new URL('../packages/infra/dist/cli.js', import.meta.url);
if (existsSync(cli)) {
  const down = spawn(process.execPath, [cli.pathname, 'down'], { stdio: 'inherit' });
  await new Promise((resolve) => down.on('exit', resolve));
}
process.exit(interrupted && code === 0 ? 130 : code);
