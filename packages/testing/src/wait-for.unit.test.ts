import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitFor } from './infra.js';

/** A real child process: node running `script`, with its output piped. */
const node = (script: string) =>
  spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });

describe('waitFor watching a process', () => {
  it('given a process that exits with 3, when waiting on it, then fails at once naming code 3 and its output', async () => {
    const child = node("console.error('cannot bind port 8081'); process.exit(3)");
    const started = Date.now();
    const error = await waitFor(() => undefined, {
      timeoutMs: 20_000,
      message: 'the server did not become ready',
      process: child,
    }).catch((caught: unknown) => caught as Error);
    const took = Date.now() - started;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/the server did not become ready/);
    expect((error as Error).message).toMatch(/exited with code 3/);
    expect((error as Error).message).toMatch(/cannot bind port 8081/);
    // Node starts and exits in well under a few seconds; the deadline is 20 s.
    expect(took).toBeLessThan(5_000);
  });

  it('given a process killed by a signal while a check hangs, then fails at once naming the signal', async () => {
    const child = node("console.log('up'); setInterval(() => {}, 1000)");
    // Killed once it has spoken: a fixed delay lost the race on a busy machine.
    child.stdout.once('data', () => child.kill('SIGKILL'));
    const started = Date.now();
    const error = await waitFor(() => new Promise<undefined>(() => undefined), {
      timeoutMs: 20_000,
      process: child,
    }).catch((caught: unknown) => caught as Error);
    expect((error as Error).message).toMatch(/was killed by SIGKILL/);
    expect((error as Error).message).toMatch(/up/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('given a process that has already exited, then fails without waiting', async () => {
    const child = node('process.exit(3)');
    await new Promise((resolve) => child.once('close', resolve));
    await expect(waitFor(() => undefined, { process: child, timeoutMs: 20_000 })).rejects.toThrow(
      /exited with code 3[^]*printed nothing/,
    );
  });

  it('given a process that keeps running, then returns what the check found', async () => {
    const child = node('setInterval(() => {}, 1000)');
    try {
      let calls = 0;
      const value = await waitFor(() => (++calls >= 3 ? 'ready' : undefined), {
        process: child,
        intervalMs: 10,
      });
      expect(value).toBe('ready');
      expect(child.listenerCount('exit')).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
