/** A step of a graceful shutdown, run in order. */
export interface ShutdownStep {
  readonly name: string;
  run(): Promise<void>;
}

/** Where shutdown says what it did. */
export interface ShutdownLog {
  info(msg: string): void;
  error(obj: unknown, msg: string): void;
}

/**
 * Runs the steps in order, bounded by `timeoutMs`, and resolves with the
 * exit code the process should use: 0 when every step finished, 1 when one
 * failed or the bound passed (what has not finished by then is abandoned).
 * It never exits the process itself; `server.ts` does, with this code.
 */
export function runShutdown(options: {
  readonly steps: readonly ShutdownStep[];
  readonly timeoutMs: number;
  readonly log: ShutdownLog;
}): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<number>((resolve) => {
    timer = setTimeout(() => {
      options.log.error({}, `shutdown did not finish within ${options.timeoutMs} ms; exiting`);
      resolve(1);
    }, options.timeoutMs);
    timer.unref();
  });
  const steps = (async () => {
    let failed = false;
    for (const step of options.steps) {
      try {
        await step.run();
        options.log.info(`shutdown: ${step.name} done`);
      } catch (error) {
        failed = true;
        options.log.error({ err: error }, `shutdown: ${step.name} failed`);
      }
    }
    clearTimeout(timer);
    return failed ? 1 : 0;
  })();
  return Promise.race([steps, bound]);
}

/** The signals that ask a service to stop. */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Calls `onSignal` once, on the first SIGTERM or SIGINT. Returns a function
 * that removes the listeners again (for a service stopped another way).
 */
export function onShutdownSignal(
  onSignal: (signal: (typeof SHUTDOWN_SIGNALS)[number]) => void,
): () => void {
  const listeners = SHUTDOWN_SIGNALS.map((signal) => {
    const listener = () => {
      remove();
      onSignal(signal);
    };
    process.once(signal, listener);
    return [signal, listener] as const;
  });
  const remove = () => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };
  return remove;
}
