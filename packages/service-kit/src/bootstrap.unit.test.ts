import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startService } from './bootstrap.js';
import type { Adapter } from './bootstrap.js';
import { createHttpApp } from './http.js';

/** A logger that keeps its lines, to read what start and shutdown said. */
function recordingLogger() {
  const lines: string[] = [];
  const keep = (obj: unknown, msg?: string) => lines.push(msg ?? String(obj));
  return { lines, logger: { info: keep, error: keep } };
}

function recorded(name: string, order: string[], extra: Partial<Adapter> = {}): Adapter {
  return {
    name,
    start: () => void order.push(`start ${name}`),
    close: () => void order.push(`close ${name}`),
    ...extra,
  };
}

const http = {
  host: '127.0.0.1',
  port: 0,
  build: (readiness: Parameters<typeof createHttpApp>[0]['readiness']) =>
    createHttpApp({ title: 'test', logger: pino({ level: 'silent' }), readiness }),
};

describe('startService', () => {
  it('starts adapters in order, serves, and closes them in reverse with no exit', async () => {
    const order: string[] = [];
    const { lines, logger } = recordingLogger();
    let kafkaUp = false;
    const service = await startService({
      name: 'test-service',
      logger,
      shutdownTimeoutMs: 5_000,
      adapters: [
        recorded('database', order, { ready: () => Promise.resolve() }),
        recorded('kafka', order, {
          closing: 'close Kafka',
          ready: () => (kafkaUp ? Promise.resolve() : Promise.reject(new Error('no broker'))),
        }),
        { name: 'clock', start: () => void order.push('start clock') },
      ],
      http,
    });
    expect(order).toEqual(['start database', 'start kafka', 'start clock']);
    expect(lines).toContain('test-service ready');
    expect(service.grpc).toBeUndefined();
    expect(service.http.url).toBe(`http://127.0.0.1:${service.http.port}`);

    expect(await service.ready()).toEqual({
      status: 'not ready',
      checks: { database: 'ok', kafka: 'no broker' },
    });
    const readyz = await fetch(`${service.http.url}/readyz`);
    expect(readyz.status).toBe(503);
    kafkaUp = true;
    expect((await service.ready()).status).toBe('ready');
    expect((await fetch(`${service.http.url}/readyz`)).status).toBe(200);

    const stopped = service.stop();
    expect(service.stop()).toBe(stopped);
    expect(await stopped).toBe(0);
    expect(order.slice(3)).toEqual(['close kafka', 'close database']);
    expect(lines).toEqual(
      expect.arrayContaining([
        'shutdown: stop accepting HTTP, finish in-flight requests done',
        'shutdown: close Kafka done',
        'shutdown: close database done',
      ]),
    );
    await expect(fetch(`${service.http.url}/healthz`)).rejects.toThrow();
  });

  it('closes what started, in reverse, when a later start fails, and throws', async () => {
    const order: string[] = [];
    const { logger } = recordingLogger();
    await expect(
      startService({
        name: 'test-service',
        logger,
        shutdownTimeoutMs: 5_000,
        adapters: [
          recorded('database', order),
          recorded('kafka', order),
          recorded('broken', order, { start: () => Promise.reject(new Error('cannot start')) }),
          recorded('never', order),
        ],
        http,
      }),
    ).rejects.toThrow('cannot start');
    expect(order).toEqual(['start database', 'start kafka', 'close kafka', 'close database']);
  });

  it('answers 1 when a step fails or the bound passes, still running the other steps', async () => {
    const order: string[] = [];
    const { lines, logger } = recordingLogger();
    const failing = await startService({
      name: 'test-service',
      logger,
      shutdownTimeoutMs: 5_000,
      adapters: [
        recorded('database', order),
        recorded('kafka', order, { close: () => Promise.reject(new Error('stuck')) }),
      ],
      http,
    });
    expect(await failing.stop()).toBe(1);
    expect(order).toEqual(['start database', 'start kafka', 'close database']);
    expect(lines).toContain('shutdown: close kafka failed');

    const hanging = await startService({
      name: 'test-service',
      logger,
      shutdownTimeoutMs: 200,
      adapters: [{ name: 'forever', close: () => new Promise<void>(() => undefined) }],
      http,
    });
    const began = Date.now();
    expect(await hanging.stop()).toBe(1);
    expect(Date.now() - began).toBeLessThan(2_000);
    expect(lines).toContain('shutdown did not finish within 200 ms; exiting');
  });

  it('stops on SIGTERM once asked to, and resolves with the exit code', async () => {
    const { lines, logger } = recordingLogger();
    const service = await startService({
      name: 'test-service',
      logger,
      shutdownTimeoutMs: 5_000,
      adapters: [],
      http,
    });
    const listeners = process.listenerCount('SIGTERM');
    const code = service.stopOnSignals();
    expect(process.listenerCount('SIGTERM')).toBe(listeners + 1);
    process.emit('SIGTERM');
    expect(await code).toBe(0);
    expect(lines).toContain('SIGTERM received, shutting down');
    expect(process.listenerCount('SIGTERM')).toBe(listeners);
  });
});
