#!/usr/bin/env node
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPIC_PARTITIONS } from '@comms/contracts';
import { describeError } from '@comms/infra';
import type { ServiceName } from '@comms/endpoints';
import { runDemo } from './demo.js';
import { DEFAULT_RESTART_POLICY, startSystem } from '@comms/local-system';
import { loadConfig, parseStartArgs } from './config.js';
import type { StartOptions } from './config.js';

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

/** One readable line from a service's JSON log line, prefixed with its name (and instance after the first). */
function format(service: ServiceName | 'console', line: string, instance = 1): string {
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
  const prefix = `[${service}${instance === 1 ? '' : `#${String(instance)}`}]`.padEnd(25);
  return color ? `${COLORS[service]}${prefix}${RESET} ${text}` : `${prefix} ${text}`;
}

async function start(options: StartOptions): Promise<void> {
  const counts = Object.entries(options.replicas).filter(([, n]) => n > 1);
  console.log(
    `starting PostgreSQL, Kafka, the three services${counts.length === 0 ? '' : ` (${counts.map(([name, n]) => `${name} ×${String(n)}`).join(', ')})`} and the console...`,
  );
  const notifiers = options.replicas['notification-service'] ?? 1;
  if (notifiers > TOPIC_PARTITIONS.orders)
    console.log(
      `note: the orders topic has ${String(TOPIC_PARTITIONS.orders)} partitions, so ${String(notifiers - TOPIC_PARTITIONS.orders)} of the ${String(notifiers)} notification-service instances will hold none and idle (docs/architecture.md, "Several instances of a service")`,
    );
  // The services write their spans here and the console reads them, so its
  // timeline has a time for every hop. Removed on stop.
  const spansDir = await mkdtemp(join(tmpdir(), 'comms-spans-'));
  const system = await startSystem({
    ports: 'default',
    // Identity on unless --no-auth: order-service wants end users' tokens, the internal services their callers'.
    auth: options.auth,
    infraEnv: config.infraEnv,
    env: { ...config.serviceEnv, TELEMETRY_SPANS_DIR: spansDir },
    replicas: options.replicas,
    console: true,
    // Only here may the console's faults panel stop and start user-service.
    consoleFaults: true,
    log: (line) => console.log(`${'[system]'.padEnd(25)} ${line}`),
    onLine: (service, line, instance) => console.log(format(service, line, instance)),
    // A service that dies is named with its exit and last lines, then restarted.
    restart: DEFAULT_RESTART_POLICY,
  });
  const { services, instances } = system;
  // Instances after the first, one line each under the first.
  const more = (name: ServiceName) =>
    instances[name]
      .slice(1)
      .map(
        (one) =>
          `\n ${`  #${String(one.instance)}`.padEnd(22)}${one.http}${one.grpc === undefined ? '' : `   gRPC ${one.grpc}`}`,
      )
      .join('');
  console.log(`
================================================================
 The system is up.

 console               ${system.console?.http ?? ''}   (open it in a browser)

 order-service         ${services['order-service'].http}   gRPC ${services['order-service'].grpc ?? ''}${more('order-service')}
 user-service          ${services['user-service'].http}   gRPC ${services['user-service'].grpc ?? ''}${more('user-service')}
 notification-service  ${services['notification-service'].http}${more('notification-service')}
 token issuer          ${system.issuer.url}   (oidc-provider; ${options.auth ? 'the services require its tokens' : 'not required: --no-auth'})
 OpenAPI UIs           <service>/docs

 Try:
   npm run demo                       (every communication style, step by step)
${
  options.auth
    ? `   curl -si '${services['order-service'].http}/orders?userId=ada'    (401: the services want tokens)
   ADMIN=$(npm run -s token -- --client tools --api user-service)
   curl -s -XPOST ${services['user-service'].http}/users -H "authorization: Bearer $ADMIN" \\
        -H 'content-type: application/json' -d '{"name":"Ada","email":"ada@example.com"}'
   npm run -s token -- --user <id>  (a user's token for order-service; README, "Quick start")`
    : `   curl -s -XPOST ${services['user-service'].http}/users -H 'content-type: application/json' \\
        -d '{"name":"Ada","email":"ada@example.com"}'
   (--no-auth: every service is open)`
}

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
  if (command === 'start') await start(parseStartArgs(process.argv.slice(3)));
  else if (command === 'demo') await runDemo(process.argv.slice(3), config.demoEnv);
  else {
    console.error('usage: comms start | comms demo');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`\n${describeError(error)}`);
  process.exitCode = 1;
}
