import type { ChildProcess } from 'node:child_process';
import { retry } from '@comms/service-kit';

/**
 * How `npm start` treats a service that dies: restart it with backoff, but
 * give up (and stop everything) when it keeps failing soon after starting.
 */
export interface RestartPolicy {
  /**
   * Restarts in a row that may fail (not ready, or dead within `stableMs`)
   * before giving up. A run that stays up for `stableMs` resets the count.
   */
  readonly attempts: number;
  /**
   * Backoff between tries: full jitter up to `baseDelayMs * 2^(try-1)`, so
   * at most `baseDelayMs * 2^(attempts-2)`; the first restart is immediate.
   */
  readonly baseDelayMs: number;
  /** How long a restarted process must stay up to count as recovered. */
  readonly stableMs: number;
}

/** What `npm start` uses: 5 tries, waits of up to 0.5, 1, 2, 4 s, 30 s to count as up. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  attempts: 5,
  baseDelayMs: 500,
  stableMs: 30_000,
};

/** Options for {@link supervise}. */
export interface SuperviseOptions {
  /** Names the process in every message. */
  readonly name: string;
  /** Starts the process with stdout and stderr piped, with extra environment. */
  readonly spawn: (extraEnv: Readonly<Record<string, string>>) => ChildProcess;
  /**
   * Resolves once the process is ready; rejects when it is not in time or
   * exits first (it gets the output so far for its message).
   */
  readonly ready: (child: ChildProcess, output: () => string) => Promise<void>;
  /** Receives every line the process prints. */
  readonly onLine?: (line: string) => void;
  /** Receives the supervisor's own messages: exits, restarts, giving up. */
  readonly log: (line: string) => void;
  /** Restart on an unexpected exit; without it an unexpected exit is fatal at once. */
  readonly restart?: RestartPolicy;
  /** Lines of its output quoted when it dies. Default 20. */
  readonly tailLines?: number;
}

/** One supervised process. */
export interface Supervised {
  /** The current process, or undefined before the first start. */
  readonly child: ChildProcess | undefined;
  /** Starts it (after a stop, with this extra environment) and waits until it is ready. */
  start(extraEnv?: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Stops it on purpose: it is not restarted, and a restart under way is
   * called off. Resolves with the exit code once its output is read
   * (SIGKILL after 15 s).
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * Resolves with the reason once the process is given up on: it died and
   * there is no restart policy, or it kept failing after restarts.
   */
  readonly failed: Promise<Error>;
}

/** `exited with code 3` or `was killed by SIGKILL`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`;
}

const isRunning = (child: ChildProcess | undefined): boolean =>
  child !== undefined && child.exitCode === null && child.signalCode === null;

/**
 * Resolves true if `child` is still running after `ms`, false as soon as it
 * is gone: on 'close', the event the crash report is made on, so the report
 * always comes before what follows from it.
 */
function staysUp(child: ChildProcess, closed: WeakSet<ChildProcess>, ms: number): Promise<boolean> {
  if (closed.has(child)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('close', onClose);
      resolve(true);
    }, ms);
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    child.once('close', onClose);
  });
}

/**
 * Runs a child process and watches it. When it exits without being stopped
 * on purpose, says so (name, pid, exit code or signal, its last lines) and
 * restarts it with backoff through service-kit's `retry`; after
 * `restart.attempts` quick failures in a row, or at once without a restart
 * policy, `failed` resolves and the caller decides what stops.
 */
export function supervise(options: SuperviseOptions): Supervised {
  const { name, log } = options;
  const tailLines = options.tailLines ?? 20;
  let current: ChildProcess | undefined;
  let env: Readonly<Record<string, string>> = {};
  /** Processes that reached ready: only their exits are crashes (a failed start is reported by start). */
  const running = new WeakSet<ChildProcess>();
  /** Processes stopped through `stop`: their exits are expected. */
  const stopped = new WeakSet<ChildProcess>();
  /** Processes that are gone, output read. */
  const closed = new WeakSet<ChildProcess>();
  /** Set once restarting was given up: nothing restarts until `start` is called. */
  let givenUp = false;
  /** Bumped by every `stop`, so a restart under way can tell it was called off. */
  let epoch = 0;
  let restarting: Promise<void> | undefined;
  let giveUp: (reason: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (giveUp = resolve));

  const launch = async (): Promise<ChildProcess> => {
    const child = options.spawn(env);
    current = child;
    const lines: string[] = [];
    let partial = '';
    const onData = (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line === '') continue;
        lines.push(line);
        if (lines.length > tailLines) lines.shift();
        options.onLine?.(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    // 'close' comes after the last output is read: the line that explains a crash is often the last.
    child.once('close', (code, signal) => {
      closed.add(child);
      if (partial !== '') onData(Buffer.from('\n'));
      if (running.has(child) && !stopped.has(child)) crashed(child, code, signal, lines);
    });
    await options.ready(child, () => [...lines, partial].join('\n'));
    running.add(child);
    return child;
  };

  const crashed = (
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    lines: readonly string[],
  ) => {
    const tail =
      lines.length === 0 ? '  (it printed nothing)' : lines.map((l) => `  ${l}`).join('\n');
    log(
      `${name} (pid ${String(child.pid)}) ${describeExit(code, signal)} unexpectedly; its last lines:\n${tail}`,
    );
    // A restart under way sees this exit itself and tries again.
    if (restarting !== undefined || givenUp) return;
    const policy = options.restart;
    if (policy === undefined) {
      givenUp = true;
      giveUp(new Error(`${name} ${describeExit(code, signal)}`));
      return;
    }
    restarting = restartWithBackoff(policy).finally(() => (restarting = undefined));
  };

  const restartWithBackoff = async (policy: RestartPolicy) => {
    const mine = epoch;
    const calledOff = () => epoch !== mine;
    log(
      `restarting ${name} (up to ${String(policy.attempts)} tries, backoff from ${String(policy.baseDelayMs)} ms)`,
    );
    try {
      await retry(
        async (attempt) => {
          if (calledOff()) return;
          if (attempt > 1)
            log(`restarting ${name}: try ${String(attempt)} of ${String(policy.attempts)}`);
          const child = await launch().catch((error: unknown) => {
            if (!calledOff()) log(`${name} did not come back: ${(error as Error).message}`);
            throw error;
          });
          log(`${name} restarted (pid ${String(child.pid)})`);
          if (!(await staysUp(child, closed, policy.stableMs)))
            throw new Error(
              `${name} ${describeExit(child.exitCode, child.signalCode)} within ${String(policy.stableMs / 1000)} s of restarting`,
            );
        },
        {
          attempts: policy.attempts,
          baseDelayMs: policy.baseDelayMs,
          retryable: () => !calledOff(),
        },
      );
    } catch (error) {
      if (calledOff()) return;
      const reason = new Error(
        `${name} failed ${String(policy.attempts)} restarts in a row; giving up (last: ${(error as Error).message.split('\n')[0]?.replace(/:$/, '') ?? ''})`,
      );
      log(reason.message);
      givenUp = true;
      giveUp(reason);
    }
  };

  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    epoch += 1;
    const child = current;
    if (child === undefined || !isRunning(child)) return Promise.resolve(child?.exitCode ?? null);
    stopped.add(child);
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      child.kill(signal);
    });
  };

  return {
    get child() {
      return current;
    },
    async start(extraEnv = {}) {
      // Starting again calls off a restart under way and ends what it started.
      if (restarting !== undefined || isRunning(current)) await stop();
      await restarting;
      givenUp = false;
      env = extraEnv;
      await launch();
    },
    stop,
    failed,
  };
}
