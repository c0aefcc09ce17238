import type { ChildProcess } from 'node:child_process';
import { describeExit, launch } from '@comms/infra';
import type { LaunchedProcess, LaunchOptions } from '@comms/infra';
import { retry } from '@comms/resilience';

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
  /** What to run, given the extra environment of this start: handed to packages/infra's `launch`. */
  readonly process: (
    extraEnv: Readonly<Record<string, string>>,
  ) => Pick<LaunchOptions, 'args' | 'env' | 'command'>;
  /**
   * Resolves once the process is ready; rejects when it is not in time or
   * exits first (`waitHealthy` and `waitUntil` of the launched process do both).
   */
  readonly ready: (launched: LaunchedProcess) => Promise<void>;
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

/**
 * Resolves true if the process is still running after `ms`, false as soon
 * as it is gone: once its output is read, when the crash report is made, so
 * the report always comes before what follows from it.
 */
function staysUp(launched: LaunchedProcess, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    void launched.closed.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/**
 * Runs a child process through packages/infra's launcher and watches it.
 * When it exits without being stopped on purpose, says so (name, pid, exit
 * code or signal, its last lines) and restarts it with backoff through
 * `retry`; after `restart.attempts` quick failures in a row, or at once
 * without a restart policy, `failed` resolves and the caller decides what
 * stops.
 */
export function supervise(options: SuperviseOptions): Supervised {
  const { name, log } = options;
  let current: LaunchedProcess | undefined;
  let env: Readonly<Record<string, string>> = {};
  /** Set once restarting was given up: nothing restarts until `start` is called. */
  let givenUp = false;
  /** Bumped by every `stop`, so a restart under way can tell it was called off. */
  let epoch = 0;
  let restarting: Promise<void> | undefined;
  let giveUp: (reason: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (giveUp = resolve));

  const start = async (): Promise<LaunchedProcess> => {
    // Only an exit after ready is a crash; a failed start is reported by whoever started it.
    let ready = false;
    const launched = launch({
      name,
      ...options.process(env),
      ...(options.onLine === undefined ? {} : { onLine: options.onLine }),
      tailLines: options.tailLines ?? 20,
      onUnexpectedExit: (exit, report) => {
        if (ready) crashed(exit.code, exit.signal, report);
      },
    });
    current = launched;
    await options.ready(launched);
    ready = true;
    return launched;
  };

  const crashed = (code: number | null, signal: NodeJS.Signals | null, report: string) => {
    log(report);
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
          const launched = await start().catch((error: unknown) => {
            if (!calledOff()) log(`${name} did not come back: ${(error as Error).message}`);
            throw error;
          });
          log(`${name} restarted (pid ${String(launched.pid)})`);
          if (!(await staysUp(launched, policy.stableMs)))
            throw new Error(
              `${name} ${describeExit(launched.child.exitCode, launched.child.signalCode)} within ${String(policy.stableMs / 1000)} s of restarting`,
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
    if (current === undefined) return Promise.resolve(null);
    return current.stop({ signal, graceMs: 15_000 });
  };

  return {
    get child() {
      return current?.child;
    },
    async start(extraEnv = {}) {
      // Starting again calls off a restart under way and ends what it started.
      if (restarting !== undefined || current?.running() === true) await stop();
      await restarting;
      givenUp = false;
      env = extraEnv;
      await start();
    },
    stop,
    failed,
  };
}
