import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { waitFor } from './infra.js';

/** A service started as a real process for a test. */
export interface ServiceProcess {
  /** Everything it printed so far. */
  output(): string;
  /** Sends a signal and resolves with the exit code once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts it again with the same environment and waits until it is healthy. */
  restart(): Promise<void>;
}

/**
 * Starts `node <entry>` with exactly `env` (plus PATH) and waits until
 * `healthUrl` answers 2xx. Fails with the process output at once if it
 * exits, or when it does not become healthy in time.
 */
export async function startServiceProcess(options: {
  entry: string;
  env: Record<string, string>;
  healthUrl: string;
  timeoutMs?: number;
}): Promise<ServiceProcess> {
  let child: ChildProcess;
  let output = '';
  const launch = async () => {
    child = spawn(process.execPath, [options.entry], {
      env: { PATH: process.env['PATH'] ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(
      async () => {
        const response = await fetch(options.healthUrl).catch(() => undefined);
        return response?.ok === true ? true : undefined;
      },
      {
        timeoutMs: options.timeoutMs ?? 30_000,
        message: `${options.entry} did not become healthy`,
        process: child,
        output: () => output,
      },
    ).catch((error: unknown) => {
      const gone = child.exitCode !== null || child.signalCode !== null;
      child.kill('SIGKILL');
      // An exit is reported with its last lines already; a timeout is not.
      throw gone ? error : new Error(`${(error as Error).message}\n${output.slice(-2000)}`);
    });
  };
  await launch();
  return {
    output: () => output,
    stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null)
        return Promise.resolve(child.exitCode);
      const gone = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => resolve(code)),
      );
      child.kill(signal);
      return gone;
    },
    restart: launch,
  };
}
