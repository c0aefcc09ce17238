#!/usr/bin/env node
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { infraEnv } from './config.js';
import { describeError, InfraError } from './errors.js';
import { isAlive, readIfExists, stopProcess } from './process-util.js';
import { runSupervisor, sharedInfraStatus, STATE_DIR, stopSharedInfra } from './shared.js';
import { provisionServiceDatabases } from './databases.js';
import { createDataDir, DEFAULT_PORTS, describeInfra, startInfra } from './start.js';
import { SERVICE_CLIENTS, signInAsUser, tokenForClient, USER_CLIENT } from '@comms/identity';
import type { ResourceName } from '@comms/identity';
import { startTokenIssuer } from './token-issuer-process.js';

const USAGE = `usage: comms-infra <command>

  up [--pg-port N] [--kafka-port N] [--issuer-port N]
                                      start PostgreSQL, Kafka and the token issuer and keep them running (Ctrl-C stops)
  token --user ID [--issuer URL] [--api NAME]
                                      sign ID in at the local token issuer (default http://127.0.0.1:8084)
                                      and print an access token for NAME (default order-service)
  token --client ID --api NAME [--issuer URL]
                                      print service client ID's own token for NAME (client credentials;
                                      --client tools --api user-service registers users)
  down                                stop the shared test infra of this checkout, if any
  status                              show the shared test infra of this checkout
`;

const DEV_STATE = join(STATE_DIR, 'dev.json');

function port(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new InfraError(
      `${flag} must be a port number 1-65535, got '${value}'`,
      `for example ${flag} ${fallback}`,
    );
  }
  return n;
}

/** Stops what an earlier `up` left running when it was killed without cleanup. */
async function cleanUpEarlierUp(): Promise<void> {
  const text = await readIfExists(DEV_STATE);
  if (text === undefined) return;
  const earlier = JSON.parse(text) as { pid: number; serverPids: number[]; dataDir: string };
  if (isAlive(earlier.pid)) {
    throw new InfraError(
      `Another 'npm run infra' (pid ${earlier.pid}) is already running in this checkout`,
      'use that one, or stop it with Ctrl-C in its terminal',
    );
  }
  for (const pid of earlier.serverPids) {
    const cmdline = (await readIfExists(`/proc/${pid}/cmdline`)) ?? '';
    if (
      isAlive(pid) &&
      (cmdline.includes('kafka.Kafka') ||
        cmdline.includes('postgres') ||
        cmdline.includes('token-issuer-main'))
    ) {
      console.log(`stopping a server left over by an earlier run (pid ${pid})`);
      await stopProcess(pid, 'SIGKILL', 0);
    }
  }
  await rm(earlier.dataDir, { recursive: true, force: true });
  await rm(DEV_STATE, { force: true });
}

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'pg-port': { type: 'string' },
      'kafka-port': { type: 'string' },
      'issuer-port': { type: 'string' },
    },
  });
  const kafkaPort = port(values['kafka-port'], '--kafka-port', DEFAULT_PORTS.kafka);
  const ports = {
    postgres: port(values['pg-port'], '--pg-port', DEFAULT_PORTS.postgres),
    kafka: kafkaPort,
    kafkaController: kafkaPort + 1,
  };
  await mkdir(STATE_DIR, { recursive: true });
  await cleanUpEarlierUp();
  const dir = await createDataDir('comms-dev-');
  console.log('starting PostgreSQL, Kafka and the token issuer...');
  let infra;
  let issuer;
  try {
    infra = await startInfra({ dir, ports, log: (line) => console.log(line) });
    try {
      issuer = await startTokenIssuer({
        port: port(values['issuer-port'], '--issuer-port', 8084),
        onUnexpectedExit: (report) => console.error(report),
      });
    } catch (error) {
      await infra.stop();
      throw error;
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const serverPids = [infra.postgres.pid, infra.kafka.pid, issuer.pid].filter(
    (p) => p !== undefined,
  );
  await writeFile(DEV_STATE, JSON.stringify({ pid: process.pid, serverPids, dataDir: dir }));
  for (const line of describeInfra(infra)) console.log(line);
  const urls = await provisionServiceDatabases(infra.databaseUrl);
  console.log(`\n${'superuser:'.padEnd(22)}DATABASE_URL=${infra.databaseUrl}`);
  for (const [service, url] of Object.entries(urls))
    console.log(`${`${service}:`.padEnd(22)}DATABASE_URL=${url}`);
  console.log(`${'Kafka:'.padEnd(22)}KAFKA_BROKERS=${infra.kafkaBrokers}`);
  console.log(`${'token issuer:'.padEnd(22)}AUTH_ISSUER_URL=${issuer.url}`);
  console.log('\nRunning. Press Ctrl-C to stop and remove the data.');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping the token issuer, Kafka and PostgreSQL...');
    await issuer.stop();
    await infra.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(DEV_STATE, { force: true });
    console.log('stopped.');
    process.exit(0);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop());
  // Keep the process alive until a signal arrives.
  setInterval(() => undefined, 1 << 30);
}

/**
 * Prints an end user's access token, or a service client's own, for curl
 * and grpcurl: `-H "Authorization: Bearer $(...)"`.
 */
async function token(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: 'string' },
      client: { type: 'string' },
      issuer: { type: 'string', default: 'http://127.0.0.1:8084' },
      api: { type: 'string' },
    },
  });
  const unreachable = (error: unknown) => {
    throw new InfraError(
      (error as Error).message,
      `is the token issuer running at ${values.issuer}? (npm run infra or npm start)`,
    );
  };
  if (values.client !== undefined) {
    if (values.user !== undefined)
      throw new InfraError('give --user or --client, not both', 'for example --client tools');
    const client = SERVICE_CLIENTS.find((c) => c.clientId === values.client);
    if (client === undefined)
      throw new InfraError(
        `--client must be one of ${SERVICE_CLIENTS.map((c) => c.clientId).join(', ')}, got '${values.client}'`,
        'for example --client tools --api user-service',
      );
    const callee = values.api ?? '';
    if (!(client.callees as readonly string[]).includes(callee))
      throw new InfraError(
        `--api must be one of ${client.callees.join(', ')} (what client ${client.clientId} calls), got '${callee}'`,
        `for example --client ${client.clientId} --api ${client.callees[0] ?? 'user-service'}`,
      );
    const issued = await tokenForClient({
      issuerUrl: values.issuer,
      clientId: client.clientId,
      api: callee as ResourceName,
    }).catch(unreachable);
    console.log(issued.accessToken);
    return;
  }
  const api = values.api ?? 'order-service';
  if (!(USER_CLIENT.callees as readonly string[]).includes(api))
    throw new InfraError(
      `--api must be one of ${USER_CLIENT.callees.join(', ')} (the APIs users get tokens for), got '${api}'`,
      'for example --api order-service',
    );
  if (values.user === undefined || values.user === '')
    throw new InfraError(
      '--user or --client is required',
      'for example --user <a user id from user-service>, or --client tools --api user-service',
    );
  const signedIn = await signInAsUser({
    issuerUrl: values.issuer,
    userId: values.user,
    api: api as ResourceName,
  }).catch(unreachable);
  console.log(signedIn.accessToken);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      return up(rest);
    case 'token':
      return token(rest);
    case 'down': {
      const stopped = await stopSharedInfra();
      console.log(stopped ? 'shared test infra stopped' : 'no shared test infra was running');
      return;
    }
    case 'status':
      console.log(await sharedInfraStatus());
      return;
    case 'supervise':
      return runSupervisor({ idleMs: infraEnv().idleMs });
    default:
      console.error(USAGE);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`\n${describeError(error)}`);
  process.exitCode = 1;
});
