#!/usr/bin/env node
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '@comms/infra';
import type { ServiceName } from '@comms/endpoints';
import { runDemo } from './demo.js';
import { DEFAULT_RESTART_POLICY, startSystem } from '@comms/local-system';
import { loadConfig } from './config.js';

const COLORS: Record<ServiceName | 'console', string> = {
  'user-service': '\u001b[36m',
  'order-service': '\u001b[35m',
  'notification-service': '\u001b[33m',
  console: '\u001b[32m',
};
const RESET = '\u001b[0m';
const config = loadConfig();
const { color } = config;
const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** One readable line from a service's JSON log line, prefixed with its name. */
function format(service: ServiceName | 'console', line: string): string {
  let text = line;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, service: _s, pid: _p, hostname: _h, err, ...rest } = entry;
    const extras = Object.keys(rest).length === 0 ? '' : ` ${JSON.stringify(rest)}`;
    const error = err === undefined ? '' : ` (${String((err as { message?: unknown }).message)})`;
    text = `${String(time).slice(11, 19)} ${LEVELS[Number(level)] ?? String(level)} ${String(msg)}${error}${extras}`;
  } catch {
    // Not JSON: print as is.
  }
  const prefix = `[${service}]`.padEnd(23);
  return color ? `${COLORS[service]}${prefix}${RESET} ${text}` : `${prefix} ${text}`;
}

async function start(): Promise<void> {
  console.log('starting PostgreSQL, Kafka, the three services and the console...');
  // The services write their spans here and the console reads them, so its
  // timeline has a time for every hop. Removed on stop.
  const spansDir = await mkdtemp(join(tmpdir(), 'comms-spans-'));
  const system = await startSystem({
    ports: 'default',
    infraEnv: config.infraEnv,
    env: { ...config.serviceEnv, TELEMETRY_SPANS_DIR: spansDir },
    console: true,
    log: (line) => console.log(`[system]                ${line}`),
    onLine: (service, line) => console.log(format(service, line)),
    // A service that dies is named with its exit and last lines, then restarted.
    restart: DEFAULT_RESTART_POLICY,
  });
  const { services } = system;
  console.log(`
================================================================
 The system is up.

 console               ${system.console?.http ?? ''}   (open it in a browser)

 order-service         ${services['order-service'].http}   gRPC ${services['order-service'].grpc ?? ''}
 user-service          ${services['user-service'].http}   gRPC ${services['user-service'].grpc ?? ''}
 notification-service  ${services['notification-service'].http}
 OpenAPI UIs           <service>/docs

 Try:
   npm run demo                       (every communication style, step by step)
   curl -s -XPOST ${services['user-service'].http}/users -H 'content-type: application/json' \\
        -d '{"name":"Ada","email":"ada@example.com"}'
   curl -N ${services['notification-service'].http}/notifications/stream

 A service that dies is restarted (up to ${String(DEFAULT_RESTART_POLICY.attempts)} quick tries in a row,
 then everything stops). Ctrl-C stops everything.
================================================================
`);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping the services, then Kafka and PostgreSQL...');
    await system.stop();
    await rm(spansDir, { recursive: true, force: true });
    console.log('stopped; nothing left running.');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => void stop(0));
  // Half a system is not left running: a service given up on (the reason is
  // logged above) stops everything, with exit code 1.
  void system.failed.then(() => stop(1));
  setInterval(() => undefined, 1 << 30);
}

const command = process.argv[2];
try {
  if (command === 'start') await start();
  else if (command === 'demo') await runDemo(process.argv.slice(3), config.demoEnv);
  else {
    console.error('usage: comms start | comms demo');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`\n${describeError(error)}`);
  process.exitCode = 1;
}
