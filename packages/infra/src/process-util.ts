import { spawn } from 'node:child_process';
import { open, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { pollUntil } from '@comms/resilience';

/**
 * Fault injection on a server this project started natively: the
 * reliability suite kills it mid-load and brings it back.
 */
export interface ServerControl {
  /** Sends `sig` to the server and resolves once it is gone (SIGKILL after 30 s). */
  kill(sig: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data; resolves once it answers. */
  restart(): Promise<void>;
}

/** A native server's process as {@link controlServer} hands it out. */
export interface ControlledServer extends ServerControl {
  /** The server's process id; a restart changes it. */
  readonly pid: number;
  /** Stops it gracefully (SIGKILL after the grace period), then cleans up. */
  stop(): Promise<void>;
}

/**
 * Starts a detached native server with `launch` (which resolves with its pid
 * once it answers) and hands out its control: kill, restart on the same
 * port and data, and a graceful stop with `stopSignal`. `cleanup` runs after
 * the stop, and also when the first launch fails.
 */
export async function controlServer(options: {
  readonly name: string;
  readonly launch: () => Promise<number>;
  readonly stopSignal: NodeJS.Signals;
  readonly stopGraceMs: number;
  readonly cleanup: () => Promise<void>;
}): Promise<ControlledServer> {
  let pid: number;
  try {
    pid = await options.launch();
  } catch (error) {
    await options.cleanup();
    throw error;
  }
  return {
    get pid() {
      return pid;
    },
    async kill(sig) {
      await stopProcess(pid, sig, 30_000);
    },
    async restart() {
      if (isAlive(pid)) throw new Error(`${options.name} (pid ${String(pid)}) is still running`);
      pid = await options.launch();
    },
    async stop() {
      await stopProcess(pid, options.stopSignal, options.stopGraceMs);
      await options.cleanup();
    },
  };
}

/** Resolves with a TCP port on 127.0.0.1 that nothing listens on right now. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

/** True when a listener could bind `port` on 127.0.0.1. */
export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** True when a process with this pid exists (and we may signal it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends a signal to a process (and its group, when it leads one), ignoring "no such process". */
export function signal(pid: number, sig: NodeJS.Signals, group = false): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    if (group) signal(pid, sig, false);
  }
}

/**
 * Asks a process to stop with `sig`, then kills it when it has not exited
 * after `graceMs`. Resolves once it is gone.
 */
export async function stopProcess(
  pid: number,
  sig: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  if (!isAlive(pid)) return;
  signal(pid, sig, true);
  if (!(await waitForExit(pid, graceMs, 50))) {
    signal(pid, 'SIGKILL', true);
    await waitForExit(pid, 5_000, 50);
  }
}

/**
 * Waits up to `timeoutMs` for the process `pid` to be gone, checking every
 * `intervalMs`; resolves false if it still runs then. For processes this
 * one did not start (or no longer holds a handle to), where only the pid is known.
 */
export async function waitForExit(
  pid: number,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  return pollUntil(() => (isAlive(pid) ? undefined : true), { timeoutMs, intervalMs }).then(
    () => true,
    () => false,
  );
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** The last `lines` lines of a text file, or a note when it cannot be read. */
export async function tailFile(path: string, lines = 25): Promise<string> {
  try {
    const info = await stat(path);
    const handle = await open(path, 'r');
    try {
      const size = Math.min(info.size, 64 * 1024);
      const buffer = Buffer.alloc(size);
      await handle.read(buffer, 0, size, info.size - size);
      return buffer
        .toString('utf8')
        .split('\n')
        .slice(-lines - 1)
        .join('\n')
        .trimEnd();
    } finally {
      await handle.close();
    }
  } catch {
    return `(no log at ${path})`;
  }
}

/** Reads a whole file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Runs a command to completion and collects (the last 200 000 characters
 * of) its output; never throws for a non-zero exit. `env` replaces the
 * environment it inherits.
 */
export function run(
  command: string,
  args: readonly string[],
  options: {
    cwd?: string;
    timeoutMs?: number;
    uid?: number;
    gid?: number;
    env?: Readonly<Record<string, string | undefined>>;
  } = {},
): Promise<{ code: number | null; output: string; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(command, args, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-200_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, output, error });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
