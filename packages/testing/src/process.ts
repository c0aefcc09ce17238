import { launch } from '@comms/infra';
import type { LaunchedProcess } from '@comms/infra';
import { testingEnv } from './config.js';

/** A service started as a real process for a test. */
export interface ServiceProcess {
  /** Everything it printed so far, over every start. */
  output(): string;
  /**
   * Sends a signal (default SIGTERM; SIGKILL after 15 s) and resolves with
   * the exit code once it is gone.
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts it again with the same environment and waits until it is healthy. */
  restart(): Promise<void>;
}

/**
 * Starts `node <entry>` with exactly `env` (plus PATH) and waits until
 * `healthUrl` answers 2xx, through packages/infra's launcher (the one npm
 * start's supervisor uses). Fails with the process's last lines at once if
 * it exits, or when it does not become healthy in time.
 */
export async function startServiceProcess(options: {
  entry: string;
  env: Record<string, string>;
  healthUrl: string;
  timeoutMs?: number;
}): Promise<ServiceProcess> {
  const lines: string[] = [];
  let current: LaunchedProcess | undefined;
  const start = async () => {
    current = launch({
      name: options.entry,
      args: [options.entry],
      env: { PATH: testingEnv().path, ...options.env },
      onLine: (line) => lines.push(line),
    });
    await current.waitHealthy(options.healthUrl, {
      timeoutMs: options.timeoutMs ?? 30_000,
      intervalMs: 50,
    });
  };
  await start();
  return {
    output: () => lines.join('\n'),
    stop: (signal = 'SIGTERM') => current?.stop({ signal }) ?? Promise.resolve(null),
    restart: start,
  };
}
