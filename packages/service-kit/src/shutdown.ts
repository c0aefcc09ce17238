/** A step of a graceful shutdown, run in order. */
export interface ShutdownStep {
  readonly name: string;
  run(): Promise<void>;
}

/**
 * Runs the steps in order when SIGTERM or SIGINT arrives (once), bounded by
 * `timeoutMs`: whatever has not finished by then is abandoned and the
 * process exits with code 1. A clean shutdown exits with code 0.
 */
export function handleShutdown(options: {
  steps: readonly ShutdownStep[];
  timeoutMs: number;
  log: { info(msg: string): void; error(obj: unknown, msg: string): void };
  exit?: (code: number) => void;
}): () => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let started: Promise<void> | undefined;
  const shutdown = () => {
    started ??= (async () => {
      const timer = setTimeout(() => {
        options.log.error({}, `shutdown did not finish within ${options.timeoutMs} ms; exiting`);
        exit(1);
      }, options.timeoutMs);
      timer.unref();
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
      exit(failed ? 1 : 0);
    })();
    return started;
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      options.log.info(`${signal} received, shutting down`);
      void shutdown();
    });
  }
  return shutdown;
}
