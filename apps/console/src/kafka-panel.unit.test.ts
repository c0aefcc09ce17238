import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaAdmin } from '@comms/kafka';
import { createHttpApp, createLogger } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import { loadConfig } from './config.js';
import { readGroupLag, readTopics, registerKafkaPanel } from './kafka-panel.js';

const panel = async (env: Record<string, string>): Promise<HttpApp> => {
  const app = await createHttpApp({
    title: 'console',
    logger: createLogger('console', 'silent'),
    readiness: {},
  });
  registerKafkaPanel(app, loadConfig({ UPSTREAM_TIMEOUT_MS: '1000', ...env }));
  return app;
};

describe('the Kafka panel: topics', () => {
  it('lists the project topics by name, leaving out Kafka’s own, with each partition’s offsets and the records kept', async () => {
    const offsets: Record<string, { partition: number; low: number; high: number }[]> = {
      orders: [
        { partition: 0, low: 0, high: 4 },
        { partition: 1, low: 2, high: 3 },
      ],
      'notifications.dlq': [{ partition: 0, low: 0, high: 0 }],
    };
    const admin = {
      listTopics: () => Promise.resolve(['orders', '__consumer_offsets', 'notifications.dlq']),
      topicOffsets: (topic: string) => Promise.resolve(offsets[topic] ?? []),
    } as unknown as KafkaAdmin;
    expect(await readTopics(admin)).toEqual([
      { topic: 'notifications.dlq', messages: 0, partitions: offsets['notifications.dlq'] },
      { topic: 'orders', messages: 5, partitions: offsets['orders'] },
    ]);
  });

  it("gives a group's lag per partition from its committed offsets, counting from the first offset kept where none is committed", async () => {
    const admin = {
      topicOffsets: () =>
        Promise.resolve([
          { partition: 0, low: 0, high: 10 },
          { partition: 1, low: 4, high: 6 },
        ]),
      committedOffsets: () => Promise.resolve(new Map([[0, 7]])),
    } as unknown as KafkaAdmin;
    expect(await readGroupLag(admin, 'notifications', ['orders'])).toEqual([
      { topic: 'orders', partition: 0, committed: 7, end: 10, lag: 3 },
      { topic: 'orders', partition: 1, committed: -1, end: 6, lag: 2 },
    ]);
  });

  it('says KAFKA_BROKERS is missing when the console was not given it', async () => {
    const app = await panel({});
    const answer = await app.inject({ method: 'GET', url: '/api/kafka/topics' });
    expect(answer.statusCode).toBe(422);
    expect((await app.inject({ method: 'GET', url: '/api/kafka/group-lag' })).statusCode).toBe(422);
    expect(answer.headers['content-type']).toContain('application/problem+json');
    expect(answer.json<{ detail: string }>().detail).toContain('KAFKA_BROKERS');
    await app.close();
  });

  it('answers 503 naming the brokers, within its deadline, when Kafka does not answer', async () => {
    const app = await panel({ KAFKA_BROKERS: '127.0.0.1:1' });
    const started = Date.now();
    const answer = await app.inject({ method: 'GET', url: '/api/kafka/topics' });
    expect(answer.statusCode).toBe(503);
    expect(answer.json<{ detail: string }>().detail).toContain('Kafka (127.0.0.1:1)');
    expect(Date.now() - started).toBeLessThan(5_000);
    await app.close();
  });
});

describe('the Kafka panel: the dead-letter topic', () => {
  // notification-service's side of the two calls: what it was asked, and a fixed answer.
  const asked: string[] = [];
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      asked.push(`${request.method ?? ''} ${request.url ?? ''}`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        request.method === 'POST'
          ? JSON.stringify({ redriven: 2, skipped: 0, drained: true })
          : JSON.stringify({ total: 1, messages: [{ reason: 'invalid', error: 'not-json' }] }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("shows notification-service's GET /dlq (bounded) and runs its POST /dlq/redrive", async () => {
    const app = await panel({ NOTIFICATION_SERVICE_HTTP_URL: url });
    const listing = await app.inject({ method: 'GET', url: '/api/kafka/dlq' });
    expect(listing.statusCode).toBe(200);
    expect(listing.json()).toEqual({
      total: 1,
      messages: [{ reason: 'invalid', error: 'not-json' }],
    });
    const redrive = await app.inject({ method: 'POST', url: '/api/kafka/dlq/redrive' });
    expect(redrive.statusCode).toBe(200);
    expect(redrive.json()).toEqual({ redriven: 2, skipped: 0, drained: true });
    expect(asked).toEqual(['GET /dlq?limit=50', 'POST /dlq/redrive']);
    await app.close();
  });

  it('answers 503 naming notification-service when it does not answer', async () => {
    const app = await panel({ NOTIFICATION_SERVICE_HTTP_URL: 'http://127.0.0.1:1' });
    const answer = await app.inject({ method: 'GET', url: '/api/kafka/dlq' });
    expect(answer.statusCode).toBe(503);
    expect(answer.json<{ detail: string }>().detail).toContain('notification-service');
    await app.close();
  });
});
