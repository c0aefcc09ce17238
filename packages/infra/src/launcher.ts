import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { pollUntil } from '@comms/resilience';

/**
 * The project's one process launcher: starts a long-running child (by
 * default `node <entry>`) with exactly the environment it is given, keeps
 * the tail of what it prints, waits until it is healthy with a deadline,
 * stops it with SIGTERM and then SIGKILL after a grace period, and says
 * when it exits unexpectedly, with its last lines.
 *
 * npm start's supervisor (packages/local-system) adds restarts on top;
 * packages/testing wraps it for the services tests start as processes.
 * It lives here, in a runtime package, because npm start must not depend
 * on a test package.
 */

/** Options for {@link launch}. */
export interface LaunchOptions {
  /** Names the process in every message. */
  readonly name: string;
  /** Arguments: for Node, the entry first (`[entry]`, or `['-e', code]`). */
  readonly args: readonly string[];
  /** The child's whole environment; nothing is inherited, so give PATH if it needs one. */
  readonly env: Readonly<Record<string, string>>;
  /** The program. Default: the Node running this process. */
  readonly command?: string;
  /** Receives every non-empty line the process prints (stdout and stderr). */
  readonly onLine?: (line: string) => void;
  /**
   * Told once the process is gone and its output read, unless it was
   * stopped through {@link LaunchedProcess.stop}. `report` names it, its pid,
   * its exit code or signal and its last lines.
   */
  readonly onUnexpectedExit?: (exit: ProcessExit, report: string) => void;
  /** Lines of output kept for messages. Default 20; `Infinity` keeps everything. */
  readonly tailLines?: number;
}

/** How a process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options for waiting until a launched process is healthy. */
export interface HealthOptions {
  /** Give up, kill the process (SIGKILL) and fail after this long. Default 30 000 ms. */
  readonly timeoutMs?: number;
  /** Pause between checks. Default 100 ms. */
  readonly intervalMs?: number;
}

/** A process started by {@link launch}. */
export interface LaunchedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The pid, or 0 when the program could not be spawned. */
  readonly pid: number;
  /** True until it has exited. */
  running(): boolean;
  /** The last lines it printed, one per line (a line not yet ended included). */
  output(): string;
  /** Resolves once it has exited and its output has been read. */
  readonly closed: Promise<ProcessExit>;
  /**
   * Resolves once `check` returns true. Fails at once, with its exit and
   * last lines, when the process exits first; at the deadline it kills the
   * process and fails with its last lines. `what` says what was awaited.
   */
  waitUntil(
    check: () => Promise<boolean> | boolean,
    options?: HealthOptions & { readonly what?: string },
  ): Promise<void>;
  /** {@link waitUntil} for `url` answering 2xx. */
  waitHealthy(url: string, options?: HealthOptions): Promise<void>;
  /**
   * Stops it on purpose (no unexpected-exit report): sends `signal`
   * (default SIGTERM), then SIGKILL after `graceMs` (default 15 000).
   * Resolves with the exit code once it is gone and its output read.
   */
  stop(options?: {
    readonly signal?: NodeJS.Signals;
    readonly graceMs?: number;
  }): Promise<number | null>;
}

/** `exited with code 3` or `was killed by SIGKILL`, for messages about a child process. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`;
}

/** Lines as a message quotes them: indented, or a note that there were none. */
export function quoteLines(lines: readonly string[]): string {
  if (lines.length === 0) return '  (it printed nothing)';
  return lines.map((line) => `  ${line}`).join('\n');
}

/** Thrown inside {@link LaunchedProcess.waitUntil} when the process exits first. */
const EXITED = new Error('the process exited');

/** Starts the process; see {@link LaunchedProcess}. */
export function launch(options: LaunchOptions): LaunchedProcess {
  const { name } = options;
  const keep = options.tailLines ?? 20;
  const child = spawn(options.command ?? process.execPath, options.args, {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid ?? 0;
  const lines: string[] = [];
  let partial = '';
  let stopping = false;
  const onData = (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (line === '') continue;
      lines.push(line);
      if (lines.length > keep) lines.shift();
      options.onLine?.(line);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const tail = () => (partial === '' ? [...lines] : [...lines, partial]);
  const running = () => child.exitCode === null && child.signalCode === null;

  // 'close' comes after the last output is read: the line that explains a crash is often the last.
  const closed = new Promise<ProcessExit>((resolve) => {
    child.once('error', (error) => {
      // Could not be spawned (no such program): no 'close' follows without a process.
      if (child.pid === undefined) {
        lines.push(`could not start ${options.command ?? process.execPath}: ${error.message}`);
        resolve({ code: null, signal: null });
      }
    });
    child.once('close', (code, signal) => {
      if (partial !== '') onData(Buffer.from('\n'));
      resolve({ code, signal });
    });
  });
  void closed.then((exit) => {
    if (!stopping)
      options.onUnexpectedExit?.(
        exit,
        `${name} (pid ${String(pid)}) ${describeExit(exit.code, exit.signal)} unexpectedly; its last lines:\n${quoteLines(tail())}`,
      );
  });

  const stop: LaunchedProcess['stop'] = async ({ signal = 'SIGTERM', graceMs = 15_000 } = {}) => {
    // Already gone: that was no stop on purpose, so its exit is still reported.
    if (!running() || pid === 0) return child.exitCode;
    stopping = true;
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.kill(signal);
    const { code } = await closed;
    clearTimeout(timer);
    return code;
  };

  const waitUntil: LaunchedProcess['waitUntil'] = async (check, waitOptions = {}) => {
    const timeoutMs = waitOptions.timeoutMs ?? 30_000;
    const what = waitOptions.what ?? 'healthy';
    // Its exit ends the wait at once: it aborts the pause between checks and
    // races each check, so a check that hangs cannot hide it.
    const exited = new AbortController();
    const onExit = () => exited.abort(EXITED);
    const gone = new Promise<never>((_, reject) =>
      exited.signal.addEventListener('abort', () => reject(EXITED), { once: true }),
    );
    gone.catch(() => undefined);
    if (!running() || pid === 0) onExit();
    else child.once('exit', onExit);
    try {
      await pollUntil(
        async () =>
          (await Promise.race([Promise.resolve().then(check), gone])) ? true : undefined,
        {
          timeoutMs,
          intervalMs: waitOptions.intervalMs ?? 100,
          signal: exited.signal,
          transient: (error) => error !== EXITED,
          onTimeout: () =>
            new Error(
              `${name} (pid ${String(pid)}) was not ${what} within ${String(timeoutMs / 1000)} s; its last lines:\n${quoteLines(tail())}`,
            ),
        },
      );
    } catch (error) {
      if (error !== EXITED) {
        stopping = true;
        child.kill('SIGKILL');
        throw error;
      }
      // 'exit' can come before the last output is read; give 'close' a moment.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 500))]);
      const exit =
        pid === 0 ? 'could not be started' : describeExit(child.exitCode, child.signalCode);
      throw new Error(
        `${name} (pid ${String(pid)}) ${exit} before it was ${what}; its last lines:\n${quoteLines(tail())}`,
      );
    } finally {
      child.off('exit', onExit);
    }
  };

  return {
    name,
    child,
    pid,
    running,
    output: () => tail().join('\n'),
    closed,
    waitUntil,
    waitHealthy: (url, healthOptions) =>
      waitUntil(
        async () =>
          (await fetch(url, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined))?.ok ===
          true,
        { ...healthOptions, what: `healthy at ${url}` },
      ),
    stop,
  };
}
