import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '@comms/infra';
import { waitFor } from '@comms/testing';
import { supervise } from './supervisor.js';
import type { RestartPolicy, Supervised } from './supervisor.js';

/**
 * The supervisor `npm start` runs its services under, with real child
 * processes: a small HTTP server that answers /readyz, killed from outside.
 */

/** A server on `port` that says it is listening and answers /readyz. */
const SERVER = `
const port = Number(process.env.PORT);
require('node:http')
  .createServer((req, res) => res.end('ok'))
  .listen(port, '127.0.0.1', () => console.log('listening on ' + port));
`;

/**
 * A server like SERVER that runs `then` 150 ms after it has answered its
 * first /readyz, so it dies only once the supervisor has seen it ready,
 * however slowly a loaded machine starts it.
 */
const serverThatDies = (then: string) => `
const port = Number(process.env.PORT);
let answered = false;
require('node:http')
  .createServer((req, res) => {
    res.end('ok');
    if (!answered) { answered = true; setTimeout(() => { ${then} }, 150); }
  })
  .listen(port, '127.0.0.1', () => console.log('listening on ' + port));
`;

const answers = async (port: number) =>
  (await fetch(`http://127.0.0.1:${String(port)}/readyz`).catch(() => undefined))?.ok === true;

const running: Supervised[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
});

/** A supervised server; `script(n)` is what its n-th launch (from 1) runs. */
async function supervised(options: {
  restart?: RestartPolicy;
  script?: (launch: number) => string;
}) {
  const port = await findFreePort();
  const log: string[] = [];
  let launches = 0;
  const service = supervise({
    name: 'demo-service',
    process: (extraEnv) => {
      launches += 1;
      return {
        args: ['-e', options.script?.(launches) ?? SERVER],
        env: { PATH: process.env['PATH'] ?? '', PORT: String(port), ...extraEnv },
      };
    },
    ready: (launched) =>
      launched.waitHealthy(`http://127.0.0.1:${String(port)}/readyz`, { timeoutMs: 10_000 }),
    log: (line) => log.push(line),
    ...(options.restart === undefined ? {} : { restart: options.restart }),
  });
  running.push(service);
  await service.start();
  return { service, port, log, launches: () => launches };
}

const pidOf = (service: Supervised) => service.child?.pid ?? 0;

describe('supervise', () => {
  it('given a ready service, when it is SIGKILLed, then it is named with its signal and last lines and restarted', async () => {
    const { service, port, log } = await supervised({
      restart: { attempts: 3, baseDelayMs: 100, stableMs: 1_000 },
    });
    const first = pidOf(service);
    process.kill(first, 'SIGKILL');
    const back = await waitFor(
      () =>
        log.some((line) => line.startsWith('demo-service restarted')) ? pidOf(service) : undefined,
      { timeoutMs: 10_000, message: 'demo-service was not restarted' },
    );
    expect(await answers(port)).toBe(true);
    expect(back).not.toBe(first);
    const report = log.find((line) => line.includes('unexpectedly'));
    expect(report).toContain(`demo-service (pid ${String(first)}) was killed by SIGKILL`);
    expect(report).toContain(`listening on ${String(port)}`);
    expect(log).toContain(`demo-service restarted (pid ${String(back)})`);
  });

  it('given a ready service that fails with code 1, then the report names the code and the line it printed last', async () => {
    const { log } = await supervised({
      restart: { attempts: 3, baseDelayMs: 50, stableMs: 1_000 },
      script: (n) =>
        n === 1
          ? serverThatDies("console.error('fatal: lost the database'); process.exit(1);")
          : SERVER,
    });
    const report = await waitFor(() => log.find((line) => line.includes('unexpectedly')), {
      timeoutMs: 10_000,
      message: 'the exit was not reported',
    });
    expect(report).toMatch(/^demo-service \(pid \d+\) exited with code 1 unexpectedly/);
    expect(report?.split('\n').at(-1)).toBe('  fatal: lost the database');
  });

  it('given a service that dies with code 3 right after every restart, then it gives up after the allowed tries', async () => {
    const started = Date.now();
    const { service, log, launches } = await supervised({
      restart: { attempts: 3, baseDelayMs: 50, stableMs: 2_000 },
      script: (n) =>
        n === 1 ? SERVER : "console.error('cannot open the database'); process.exit(3)",
    });
    process.kill(pidOf(service), 'SIGTERM');
    const reason = await service.failed;
    expect(reason.message).toMatch(/demo-service failed 3 restarts in a row; giving up/);
    expect(reason.message).toMatch(/exited with code 3/);
    expect(log.join('\n')).toMatch(/cannot open the database/);
    // The first launch and three restarts: no fourth.
    expect(launches()).toBe(4);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('given a restart that dies again within stableMs, then it is tried again and the next run counts as up', async () => {
    const { service, port, log } = await supervised({
      restart: { attempts: 3, baseDelayMs: 50, stableMs: 1_500 },
      script: (n) => (n === 2 ? serverThatDies('process.exit(7);') : SERVER),
    });
    process.kill(pidOf(service), 'SIGKILL');
    await waitFor(() => (log.some((l) => l.includes('try 2 of 3')) ? true : undefined), {
      timeoutMs: 10_000,
      message: 'the restart that died was not tried again',
    });
    await waitFor(async () => ((await answers(port)) ? true : undefined), { timeoutMs: 10_000 });
    expect(log.join('\n')).toMatch(/exited with code 7/);
  });

  it('given restarts that become ready and die soon after, then each death is reported before it gives up, once', async () => {
    const { service, log, launches } = await supervised({
      restart: { attempts: 2, baseDelayMs: 50, stableMs: 5_000 },
      // Each restart dies, leaving a grandchild on its stdout for a second:
      // its output ends ('close') well after it exits, as a busy service's can.
      script: (n) =>
        n === 1
          ? SERVER
          : serverThatDies(
              "require('node:child_process').spawn('sleep', ['1'], { stdio: ['ignore', 'inherit', 'inherit'] }); process.exit(7);",
            ),
    });
    process.kill(pidOf(service), 'SIGKILL');
    const reason = await service.failed;
    expect(reason.message).toMatch(/failed 2 restarts in a row/);
    // The kill and both restarts, each reported before giving up; nothing started after.
    expect(log.filter((line) => line.includes('unexpectedly'))).toHaveLength(3);
    expect(log.filter((line) => line.includes('giving up'))).toHaveLength(1);
    expect(launches()).toBe(3);
  });

  it('given a service stopped on purpose, then it is not restarted', async () => {
    const { service, port, log, launches } = await supervised({
      restart: { attempts: 3, baseDelayMs: 50, stableMs: 1_000 },
    });
    const code = await service.stop('SIGKILL');
    expect(code).toBeNull();
    // A crash is handled on the same 'close' event stop waits for: by now a
    // restart would have been logged and launched.
    expect(log.filter((line) => /unexpectedly|restarting/.test(line))).toEqual([]);
    expect(launches()).toBe(1);
    expect(await answers(port)).toBe(false);
    // Started again on purpose, it runs and is supervised as before.
    await service.start();
    process.kill(pidOf(service), 'SIGKILL');
    await waitFor(() => (launches() === 3 ? true : undefined), {
      timeoutMs: 10_000,
      message: 'the service started again was not supervised',
    });
  });

  it('given no restart policy, when the service dies, then failed names it with its exit at once', async () => {
    const { service, log } = await supervised({});
    const pid = pidOf(service);
    process.kill(pid, 'SIGKILL');
    const reason = await service.failed;
    expect(reason.message).toBe('demo-service was killed by SIGKILL');
    expect(log.join('\n')).toContain(`demo-service (pid ${String(pid)}) was killed by SIGKILL`);
  });
});
