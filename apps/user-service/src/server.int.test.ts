import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent } from '@comms/contracts';
import { findFreePort, startNativeKafka } from '@comms/infra';
import type { NativeKafka } from '@comms/infra';
import { createKafka } from '@comms/kafka';
import {
  createTestDatabase,
  listGrpcServices,
  testInfra,
  uniqueName,
  waitFor,
} from '@comms/testing';
import type { TestDatabase } from '@comms/testing';

/**
 * user-service as a real process, configured only through its environment,
 * started while Kafka is down: it must serve, keep the events, deliver them
 * once Kafka comes up, and stop cleanly on SIGTERM.
 */

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));
let db: TestDatabase;
let service: ChildProcess;
let output = '';
let kafka: NativeKafka | undefined;
let kafkaDir: string;
let http: string;
let grpcAddress: string;
let kafkaPort: number;

beforeAll(async () => {
  db = await createTestDatabase('user_process');
  kafkaPort = await findFreePort();
  kafkaDir = await mkdtemp(join(tmpdir(), 'user-service-kafka-'));
  const port = await findFreePort();
  const grpcPort = await findFreePort();
  http = `http://127.0.0.1:${port}`;
  grpcAddress = `127.0.0.1:${grpcPort}`;
  service = spawn(process.execPath, [SERVER], {
    env: {
      PATH: process.env['PATH'],
      HOST: '127.0.0.1',
      PORT: String(port),
      GRPC_PORT: String(grpcPort),
      DATABASE_URL: db.url,
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      KAFKA_CLIENT: testInfra().kafkaClient,
      OUTBOX_POLL_MS: '50',
      SHUTDOWN_TIMEOUT_MS: '8000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  service.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(
    async () =>
      (await fetch(`${http}/healthz`).catch(() => undefined))?.ok === true ? true : undefined,
    { timeoutMs: 30_000, message: 'user-service did not come up' },
  );
}, 60_000);

afterAll(async () => {
  if (service.exitCode === null) service.kill('SIGKILL');
  await kafka?.stop();
  await rm(kafkaDir, { recursive: true, force: true });
  await db.drop();
});

describe('user-service process', () => {
  let userId = '';

  it('serves while Kafka is down and says so on /readyz', async () => {
    const ready = await fetch(`${http}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      checks: { database: 'ok', kafka: expect.any(String) as unknown },
    });

    const created = await fetch(`${http}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Offline Olga', email: `${uniqueName('olga')}@example.com` }),
    });
    expect(created.status).toBe(201);
    userId = ((await created.json()) as { id: string }).id;
  });

  it('delivers the event once Kafka is back, and becomes ready', async () => {
    kafka = await startNativeKafka({
      port: kafkaPort,
      controllerPort: await findFreePort(),
      dir: kafkaDir,
    });
    await waitFor(async () => ((await fetch(`${http}/readyz`)).status === 200 ? true : undefined), {
      timeoutMs: 30_000,
      message: 'user-service did not become ready after Kafka started',
    });
    const received: string[] = [];
    const consumer = await createKafka({
      brokers: [kafka.brokers],
      clientId: 'process-test',
      client: testInfra().kafkaClient,
    }).consumer({
      groupId: uniqueName('process-test'),
      topics: ['users'],
    });
    await consumer.run((message) => {
      const event = parseEvent(message.value);
      if (event.subject === userId) received.push(event.type);
      return Promise.resolve();
    });
    try {
      await waitFor(() => (received.length > 0 ? true : undefined), {
        timeoutMs: 30_000,
        message: 'the event created while Kafka was down never arrived',
      });
      expect(received).toEqual(['user.registered.v1']);
    } finally {
      await consumer.close();
    }
  }, 90_000);

  it('answers gRPC health checks and server reflection without .proto files', async () => {
    const services = await listGrpcServices(grpcAddress);
    expect(services).toEqual(
      expect.arrayContaining(['user.v1.UserService', 'grpc.health.v1.Health']),
    );
  });

  it('stops cleanly on SIGTERM within its bound', async () => {
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) =>
      service.once('exit', (code) => resolve(code)),
    );
    service.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(output).toMatch(/shutdown: flush the outbox done/);
    expect(output).toMatch(/shutdown: close the database pool done/);
  });
});
