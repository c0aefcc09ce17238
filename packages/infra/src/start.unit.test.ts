import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkJava } from './native-kafka.js';
import { startInfra } from './start.js';

const dir = '/nonexistent/comms-infra-test';

describe('startInfra refuses a broken environment with a clear message', () => {
  it.each([
    [
      { DATABASE_URL: 'localhost:5432' },
      /DATABASE_URL must be a PostgreSQL URL like postgres:\/\//,
    ],
    [
      { KAFKA_BROKERS: 'kafka://broker' },
      /KAFKA_BROKERS must be a comma-separated list of host:port/,
    ],
    [
      { COMMS_INFRA: 'docker' },
      /COMMS_INFRA must be one of auto, native, containers; got 'docker'/,
    ],
  ])('%j', async (env, message) => {
    await expect(startInfra({ dir, ports: 'random', env })).rejects.toThrow(message);
  });

  it('names a given DATABASE_URL that does not answer, without its password', async () => {
    const env = {
      DATABASE_URL: 'postgres://app:hunter2@127.0.0.1:1/app',
      KAFKA_BROKERS: '127.0.0.1:1',
      COMMS_INFRA: 'native',
    };
    const error: unknown = await startInfra({ dir, ports: 'random', env }).catch((e: unknown) => e);
    expect(String(error)).toMatch(
      /DATABASE_URL is set to postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app but that server does not answer/,
    );
    expect(String(error)).not.toMatch(/hunter2/);
  }, 30_000);
});

describe('native servers', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  it('report a port that is already in use', async () => {
    server = createServer();
    const port = await new Promise<number>((resolve) => {
      server?.listen(0, '127.0.0.1', () => {
        const address = server?.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    await expect(
      startInfra({
        dir,
        ports: { postgres: port, kafka: port, kafkaController: port },
        env: { COMMS_INFRA: 'native' },
      }),
    ).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: the port is already in use`);
  });

  it('say how to get Java when it is missing', async () => {
    const saved = process.env['JAVA_HOME'];
    process.env['JAVA_HOME'] = '/nonexistent-jdk';
    try {
      await expect(checkJava()).rejects.toThrow(
        /Java was not found \(tried '\/nonexistent-jdk\/bin\/java'\)/,
      );
    } finally {
      if (saved === undefined) delete process.env['JAVA_HOME'];
      else process.env['JAVA_HOME'] = saved;
    }
  });
});
