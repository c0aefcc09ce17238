import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs a child that logs `lines` lines through createLogger and exits at once; answers its stdout. */
async function logThenExit(lines: number, exit: 'exit' | 'throw'): Promise<string> {
  const logger = new URL('./logger.ts', import.meta.url).pathname;
  const script = `
    const { createLogger } = await import(${JSON.stringify(logger)});
    const log = createLogger('logger-test', 'info');
    for (let i = 0; i < ${lines}; i += 1) log.info({ i }, 'line');
    ${exit === 'exit' ? 'process.exit(0);' : "throw new Error('boom');"}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  await new Promise((resolve) => child.on('close', resolve));
  return out;
}

describe('createLogger', () => {
  it.each(['exit', 'throw'] as const)(
    'writes every line when the process %ss right after logging',
    async (how) => {
      const out = await logThenExit(20_000, how);
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(20_000);
      const last = JSON.parse(lines.at(-1) ?? '{}') as { i?: number; service?: string };
      expect(last).toMatchObject({ i: 19_999, service: 'logger-test' });
    },
    30_000,
  );
});
