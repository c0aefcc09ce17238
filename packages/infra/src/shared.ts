import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pollUntil } from '@comms/resilience';
import { infraEnv } from './config.js';
import { describeError, InfraError } from './errors.js';
import { isAlive, readIfExists, stopProcess, tailFile, waitForExit } from './process-util.js';
import { createDataDir, describeInfra, startInfra } from './start.js';

/**
 * Shared test infrastructure: one PostgreSQL and one Kafka per test run, even
 * when turbo runs every package's tests in its own process.
 *
 * The first test process to ask spawns a detached supervisor that starts the
 * servers; every test process holds a lease (a file naming its pid) while it
 * runs. The supervisor stops the servers and removes their data once no live
 * process holds a lease for a grace period, so an interrupted run cleans up
 * too. A lock directory serialises starting and stopping.
 */

/** Where the supervisor keeps its state, leases and log: per checkout. */
export const STATE_DIR = fileURLToPath(
  new URL('../../../node_modules/.cache/comms-infra/', import.meta.url),
);
const STATE_FILE = join(STATE_DIR, 'supervisor.json');
const LEASES = join(STATE_DIR, 'leases');
const LOCK = join(STATE_DIR, 'lock');
const STOP_WHEN_IDLE = join(STATE_DIR, 'stop-when-idle');
const SUPERVISOR_LOG = join(STATE_DIR, 'supervisor.log');
const CLI = fileURLToPath(new URL('./cli.js', import.meta.url));

interface SupervisorState {
  pid: number;
  status: 'starting' | 'ready' | 'failed' | 'stopping' | 'stopped';
  lines: string[];
  databaseUrl?: string;
  kafkaBrokers?: string;
  error?: string;
  /** Native server processes and data, so a later run can clean up after a crash. */
  serverPids: number[];
  dataDir?: string;
}

/** Connection details handed to tests. */
export interface SharedInfra {
  readonly databaseUrl: string;
  readonly kafkaBrokers: string;
  /** Gives the lease back; the servers stop once nobody holds one. */
  release(): Promise<void>;
}

async function readState(): Promise<SupervisorState | undefined> {
  const text = await readIfExists(STATE_FILE);
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as SupervisorState;
  } catch {
    return undefined;
  }
}

async function writeState(state: SupervisorState): Promise<void> {
  const temp = `${STATE_FILE}.${process.pid}`;
  await writeFile(temp, JSON.stringify(state, null, 2));
  await rename(temp, STATE_FILE);
}

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  await mkdir(STATE_DIR, { recursive: true });
  let owner = 0;
  // Taking the lock is creating its directory; a lock left by a dead process is broken.
  const take = async (): Promise<true | undefined> => {
    try {
      await mkdir(LOCK);
      await writeFile(join(LOCK, 'pid'), String(process.pid));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      owner = Number(await readIfExists(join(LOCK, 'pid')));
      const age = Date.now() - (await stat(LOCK).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if ((owner > 0 && !isAlive(owner)) || (!(owner > 0) && age > 5_000)) {
        await rm(LOCK, { recursive: true, force: true });
        return take();
      }
      return undefined;
    }
  };
  await pollUntil(take, {
    timeoutMs: 60_000,
    intervalMs: 50,
    transient: () => false,
    onTimeout: () =>
      new InfraError(
        `Timed out waiting for the infra lock ${LOCK} (held by pid ${owner})`,
        `if no test run is active, delete ${LOCK}`,
      ),
  });
  try {
    return await work();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/** True when a pid still runs the program we think it does (pids get reused). */
async function runs(pid: number, needle: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const cmdline = await readIfExists(`/proc/${pid}/cmdline`);
  return cmdline === undefined || cmdline.includes(needle);
}

/** Removes what a crashed supervisor left behind: server processes and data. */
async function cleanUpAfter(state: SupervisorState | undefined): Promise<void> {
  if (state === undefined) return;
  for (const pid of state.serverPids) {
    if ((await runs(pid, 'kafka.Kafka')) || (await runs(pid, 'postgres'))) {
      await stopProcess(pid, 'SIGKILL', 0);
    }
  }
  if (state.dataDir !== undefined) await rm(state.dataDir, { recursive: true, force: true });
}

async function liveLeases(): Promise<number> {
  const names = await readdir(LEASES).catch(() => [] as string[]);
  let live = 0;
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    if (pid > 0 && isAlive(pid)) live += 1;
    else await rm(join(LEASES, name), { force: true });
  }
  return live;
}

/**
 * Takes a lease on the shared PostgreSQL and Kafka, starting them when no
 * supervisor runs. Resolves once both answer. When DATABASE_URL and
 * KAFKA_BROKERS are both set, those servers are used and nothing starts.
 */
export async function acquireSharedInfra(
  options: { log?: (line: string) => void; timeoutMs?: number } = {},
): Promise<SharedInfra> {
  const log = options.log ?? (() => undefined);
  const lease = join(LEASES, `${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  await withLock(async () => {
    await mkdir(LEASES, { recursive: true });
    let state = await readState();
    if (state !== undefined && isAlive(state.pid) && state.status === 'stopping') {
      await waitForExit(state.pid, 60_000);
      state = await readState();
    }
    const usable =
      state !== undefined &&
      isAlive(state.pid) &&
      (state.status === 'starting' || state.status === 'ready');
    await writeFile(lease, String(process.pid));
    if (!usable) {
      if (state !== undefined && !isAlive(state.pid)) await cleanUpAfter(state);
      await rm(STOP_WHEN_IDLE, { force: true });
      const logFd = openSync(SUPERVISOR_LOG, 'w');
      const child = spawn(process.execPath, [CLI, 'supervise'], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env: infraEnv().all,
      });
      if (child.pid === undefined)
        throw new InfraError('could not spawn the infra supervisor', `see ${SUPERVISOR_LOG}`);
      await writeState({ pid: child.pid, status: 'starting', lines: [], serverPids: [] });
      child.unref();
      log(`starting shared test infra (supervisor pid ${child.pid}, log ${SUPERVISOR_LOG})`);
    }
  });

  const release = async () => {
    await rm(lease, { force: true });
  };
  let printed = 0;
  let last: SupervisorState | undefined;
  const notStarted = async () => {
    const why =
      last?.error ??
      `the supervisor stopped; its log ends with:\n${await tailFile(SUPERVISOR_LOG)}`;
    return new InfraError(`Test infrastructure did not start: ${why}`, `see ${SUPERVISOR_LOG}`);
  };
  try {
    return await pollUntil(
      async () => {
        const state = (last = await readState());
        for (const line of state?.lines.slice(printed) ?? []) log(line);
        printed = state?.lines.length ?? printed;
        if (
          state?.status === 'ready' &&
          state.databaseUrl !== undefined &&
          state.kafkaBrokers !== undefined
        ) {
          return { databaseUrl: state.databaseUrl, kafkaBrokers: state.kafkaBrokers, release };
        }
        const dead = state === undefined || !isAlive(state.pid);
        if (state?.status === 'failed' || dead) throw await notStarted();
        return undefined;
      },
      {
        timeoutMs: options.timeoutMs ?? 20 * 60_000,
        intervalMs: 100,
        transient: () => false,
        onTimeout: notStarted,
      },
    );
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * Asks the supervisor to stop as soon as no lease is held, and waits until
 * the servers are gone. Used at the end of `npm test` so nothing lingers.
 */
export async function stopSharedInfra(options: { timeoutMs?: number } = {}): Promise<boolean> {
  const state = await readState();
  if (state === undefined || !isAlive(state.pid)) {
    await cleanUpAfter(state);
    return false;
  }
  await mkdir(STATE_DIR, { recursive: true });
  await writeFile(STOP_WHEN_IDLE, String(process.pid));
  if (!(await waitForExit(state.pid, options.timeoutMs ?? 60_000))) {
    await stopProcess(state.pid, 'SIGTERM', 20_000);
    await cleanUpAfter(await readState());
  }
  return true;
}

/** The supervisor's main loop (run detached by `cli.js supervise`). */
export async function runSupervisor(options: { idleMs: number }): Promise<void> {
  const state: SupervisorState = {
    pid: process.pid,
    status: 'starting',
    lines: [],
    serverPids: [],
  };
  const say = async (line: string) => {
    console.log(line);
    state.lines.push(line);
    await writeState(state);
  };
  let stopRequested = false;
  const onSignal = () => {
    stopRequested = true;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onSignal);

  state.dataDir = await createDataDir('comms-infra-');
  await writeState(state);
  let infra;
  try {
    infra = await startInfra({
      dir: state.dataDir,
      ports: 'random',
      log: (line) => void say(line),
    });
  } catch (error) {
    state.status = 'failed';
    state.error = describeError(error);
    console.error(state.error);
    await rm(state.dataDir, { recursive: true, force: true });
    await writeState(state);
    process.exitCode = 1;
    return;
  }
  state.serverPids = [infra.postgres.pid, infra.kafka.pid].filter(
    (p): p is number => p !== undefined,
  );
  state.databaseUrl = infra.databaseUrl;
  state.kafkaBrokers = infra.kafkaBrokers;
  for (const line of describeInfra(infra)) await say(line);
  state.status = 'ready';
  await writeState(state);

  // Runs until asked to stop, or until nobody has held a lease for the grace period.
  let idleSince: number | undefined;
  await pollUntil(
    async () => {
      if (stopRequested) return true;
      const leases = await liveLeases();
      if (leases > 0) {
        idleSince = undefined;
        return undefined;
      }
      idleSince ??= Date.now();
      const grace = (await readIfExists(STOP_WHEN_IDLE)) !== undefined ? 0 : options.idleMs;
      if (Date.now() - idleSince < grace) return undefined;
      // Decide under the lock, so no client can take a lease on servers that are going away.
      const stop = await withLock(async () => {
        if ((await liveLeases()) > 0) return false;
        state.status = 'stopping';
        await writeState(state);
        return true;
      });
      return stop ? true : undefined;
    },
    { timeoutMs: Number.POSITIVE_INFINITY, intervalMs: 250, transient: () => false },
  );
  state.status = 'stopping';
  await writeState(state);
  await infra.stop();
  await rm(state.dataDir, { recursive: true, force: true });
  await rm(STOP_WHEN_IDLE, { force: true });
  state.status = 'stopped';
  state.serverPids = [];
  await say('shared test infra stopped');
}

/** Reads the supervisor state for `cli.js status`. */
export async function sharedInfraStatus(): Promise<string> {
  const state = await readState();
  if (state === undefined) return 'no shared test infra has run in this checkout';
  const alive = isAlive(state.pid);
  const leases = alive ? await liveLeases() : 0;
  return `supervisor pid ${state.pid} (${alive ? state.status : 'not running'}), ${leases} lease(s)\n${state.lines.join('\n')}`;
}
