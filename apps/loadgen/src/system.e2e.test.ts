import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderServiceClient, OrderStatus, UserServiceClient } from '@comms/contracts/grpc';
import type { CreateOrderResponse, ValidateUserResponse } from '@comms/contracts/grpc';
import { listGrpcServices, testInfra, waitFor } from '@comms/testing';
import { markdownReport, svgChart } from './bench/report.js';
import { runBenchmarks } from './bench/run.js';
import { runDemo } from './demo.js';
import { startSystem } from './system.js';
import type { RunningSystem } from './system.js';

/**
 * The whole system as a user runs it: real PostgreSQL and Kafka, the three
 * services as separate processes configured only through their environment,
 * exercised across REST, gRPC, Kafka, the shared database and event sourcing.
 */

let system: RunningSystem;
const logs: string[] = [];

beforeAll(async () => {
  const { databaseUrl, kafkaBrokers } = testInfra();
  system = await startSystem({
    ports: 'random',
    infraEnv: { DATABASE_URL: databaseUrl, KAFKA_BROKERS: kafkaBrokers },
    onLine: (service, line) => logs.push(`${service} ${line}`),
  });
});

afterAll(async () => {
  await system?.stop();
});

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;
const post = (url: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function register(name: string): Promise<string> {
  const response = await post(`${system.services['user-service'].http}/users`, {
    name,
    email: `${name.toLowerCase().replace(/\W/g, '.')}.${Date.now()}@example.com`,
  });
  expect(response.status).toBe(201);
  return (await json<{ id: string }>(response)).id;
}

describe('the whole system', () => {
  it('serves gRPC reflection and health on both gRPC servers', async () => {
    expect(await listGrpcServices(system.services['user-service'].grpc ?? '')).toEqual(
      expect.arrayContaining(['user.v1.UserService', 'grpc.health.v1.Health']),
    );
    const orderServices = await listGrpcServices(system.services['order-service'].grpc ?? '');
    expect(orderServices).toContain('order.v1.OrderService');
    // Each server describes what it serves, not every service of the shared contracts.
    expect(orderServices).not.toContain('user.v1.UserService');
  });

  it('REST user -> gRPC validation -> REST and gRPC orders -> Kafka -> notifications, live over SSE', async () => {
    const userId = await register('Grace Hopper');

    const users = new UserServiceClient(
      system.services['user-service'].grpc ?? '',
      credentials.createInsecure(),
    );
    const validation = await new Promise<ValidateUserResponse>((resolve, reject) =>
      users.validateUser({ userId }, (e: ServiceError | null, r) => (e ? reject(e) : resolve(r))),
    );
    users.close();
    expect(validation).toEqual({ valid: true, userName: 'Grace Hopper', errorMessage: '' });

    // Listen before anything happens, as a browser would.
    const controller = new AbortController();
    const stream = await fetch(
      `${system.services['notification-service'].http}/notifications/stream?userId=${userId}`,
      {
        signal: controller.signal,
      },
    );
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let sse = '';
    const pump = (async () => {
      const decoder = new TextDecoder();
      for (;;) {
        const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (chunk.done === true) return;
        sse += decoder.decode(chunk.value);
      }
    })();

    const created = await post(`${system.services['order-service'].http}/orders`, {
      userId,
      items: [{ productId: 'compiler', quantity: 2, price: '49.95' }],
    });
    expect(created.status).toBe(201);
    const order = await json<{ orderId: string; userName: string; totalAmount: string }>(created);
    expect(order).toMatchObject({ userName: 'Grace Hopper', totalAmount: '99.90' });

    const orders = new OrderServiceClient(
      system.services['order-service'].grpc ?? '',
      credentials.createInsecure(),
    );
    const viaGrpc = await new Promise<CreateOrderResponse>((resolve, reject) =>
      orders.createOrder(
        {
          userId,
          items: [{ productId: 'manual', quantity: 1, price: '0.10' }],
          idempotencyKey: '',
        },
        (e: ServiceError | null, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    orders.close();
    expect(viaGrpc).toMatchObject({
      status: OrderStatus.ORDER_STATUS_CREATED,
      totalAmount: '0.10',
    });

    await waitFor(
      () =>
        sse.includes(order.orderId.slice(0, 8)) && sse.includes(viaGrpc.orderId.slice(0, 8))
          ? true
          : undefined,
      {
        timeoutMs: 30_000,
        message: `order confirmations did not arrive over SSE; got:\n${sse}`,
      },
    );
    expect(sse).toMatch(/event: notification/);
    controller.abort();
    await pump;

    // The welcome comes through the users topic, behind whatever else is queued there.
    const listed = await waitFor(
      async () => {
        const page = await json<{ items: { kind: string; recipientEmail: string }[] }>(
          await fetch(
            `${system.services['notification-service'].http}/notifications?userId=${userId}`,
          ),
        );
        return page.items.length >= 3 ? page : undefined;
      },
      { timeoutMs: 30_000, message: 'the welcome notification did not arrive' },
    );
    expect(listed.items.map((n) => n.kind).sort()).toEqual([
      'order-confirmation',
      'order-confirmation',
      'welcome',
    ]);
    expect(new Set(listed.items.map((n) => n.recipientEmail)).size).toBe(1);
  });

  it('event sourcing: commands with versions, the history, notifications per event, and a rebuild equal to the live model', async () => {
    const userId = await register('Barbara Liskov');
    const base = system.services['order-service'].http;
    const { orderId } = await json<{ orderId: string }>(
      await post(`${base}/orders`, {
        userId,
        items: [{ productId: 'book', quantity: 1, price: '10.00' }],
      }),
    );
    expect(
      (await post(`${base}/orders/${orderId}/pay`, undefined, { 'if-match': '"1"' })).status,
    ).toBe(200);
    expect(
      (await post(`${base}/orders/${orderId}/ship`, undefined, { 'if-match': '"1"' })).status,
    ).toBe(409);
    expect((await post(`${base}/orders/${orderId}/ship`, { expectedVersion: 2 })).status).toBe(200);
    const history = await json<{ events: { type: string; version: number }[] }>(
      await fetch(`${base}/orders/${orderId}/events`),
    );
    expect(history.events.map((e) => e.type)).toEqual([
      'order.created.v1',
      'order.paid.v1',
      'order.shipped.v1',
    ]);

    await waitFor(
      async () => {
        const listed = await json<{ items: { kind: string }[] }>(
          await fetch(
            `${system.services['notification-service'].http}/notifications?userId=${userId}`,
          ),
        );
        const kinds = listed.items.map((n) => n.kind).sort();
        return kinds.includes('payment-received') && kinds.includes('order-shipped')
          ? kinds
          : undefined;
      },
      { timeoutMs: 30_000, message: 'payment and shipping notifications did not arrive' },
    );

    const rebuild = fileURLToPath(new URL('../../order-service/dist/rebuild.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [rebuild], {
      env: { PATH: process.env['PATH'], DATABASE_URL: system.databases['order-service'] },
    });
    expect(stdout).toMatch(/0 rows differ from the live read model/);
  });

  it('validates users through the shared database when order-service is switched to it', async () => {
    const userId = await register('Edsger Dijkstra');
    expect(await system.stopService('order-service')).toBe(0);
    await system.startService('order-service', { USER_VALIDATION: 'shared-db' });
    const base = system.services['order-service'].http;
    const created = await post(`${base}/orders`, {
      userId,
      items: [{ productId: 'pen', quantity: 1, price: '1.00' }],
    });
    expect(created.status).toBe(201);
    expect(await json<{ userName: string }>(created)).toMatchObject({
      userName: 'Edsger Dijkstra',
    });
    const unknown = await post(`${base}/orders`, {
      userId: '00000000-0000-4000-8000-000000000000',
      items: [{ productId: 'pen', quantity: 1, price: '1.00' }],
    });
    expect(unknown.status).toBe(422);
    expect(
      logs.some((l) => l.startsWith('order-service') && l.includes('"mode":"shared-db"')),
    ).toBe(true);
  });
});

describe('npm run demo', () => {
  it('walks through every style against the running system, each step answering', async () => {
    const s = system.services;
    const lines: string[] = [];
    const steps = await runDemo(
      [],
      {
        PATH: process.env['PATH'],
        USER_SERVICE_HTTP_URL: s['user-service'].http,
        USER_SERVICE_GRPC_ADDR: s['user-service'].grpc,
        ORDER_SERVICE_HTTP_URL: s['order-service'].http,
        ORDER_SERVICE_GRPC_ADDR: s['order-service'].grpc,
        NOTIFICATION_SERVICE_HTTP_URL: s['notification-service'].http,
        USERS_DATABASE_URL: system.databases['shared-db reader'],
        ORDERS_DATABASE_URL: system.databases['order-service'],
      },
      (line) => lines.push(line),
    );
    expect(steps.map((step) => step.title.split(':')[0])).toEqual([
      'REST',
      'gRPC',
      'REST',
      'gRPC',
      'Kafka',
      'Shared database',
      'Event sourcing',
      'Event sourcing',
      'Event sourcing',
    ]);
    expect(steps[5]?.result).toMatch(/reading the users table is refused/);
    expect(steps[7]?.result).toMatch(/v1 order.created.v1, v2 order.paid.v1/);
    expect(lines.join('\n')).toMatch(/\(\d+\.\d ms\)/);
  });
});

describe('the benchmark harness (npm run bench)', () => {
  it('measures every style and its baseline with samples and no errors', async () => {
    const report = await runBenchmarks({
      system,
      durationMs: 1_500,
      concurrency: 4,
      kafkaRate: 50,
    });
    expect(report.comparisons.map((c) => c.style)).toEqual([
      'REST',
      'gRPC',
      'Shared database',
      'Kafka',
      'End to end',
    ]);
    for (const c of report.comparisons) {
      for (const m of [c.subject, c.baseline, ...(c.breakdown ?? [])]) {
        expect(m.requests, m.name).toBeGreaterThan(0);
        expect(m.errors, m.name).toBe(0);
        expect(m.p99Ms, m.name).toBeGreaterThanOrEqual(m.p50Ms);
      }
      expect(c.ratio).toBeGreaterThan(0);
    }
    // A Kafka case sample is a delivered notification: one per accepted order.
    const kafka = report.comparisons.find((c) => c.style === 'Kafka');
    expect(kafka?.subject.requests).toBeGreaterThanOrEqual(50);
    expect(report.comparisons.find((c) => c.style === 'REST')?.breakdown).toHaveLength(2);

    const table = markdownReport(report);
    const rows = report.comparisons.reduce((n, c) => n + 2 + (c.breakdown?.length ?? 0), 0);
    const resultTable = table.split('\n\n')[1] ?? '';
    expect(resultTable.split('\n').filter((line) => line.startsWith('| ')).length).toBe(2 + rows);
    if (process.platform === 'linux') {
      // Linux tells which process used the CPU; the table names each party.
      expect(table).toMatch(/\| case \| .*load generator.*user-service.*PostgreSQL/);
    }
    expect(svgChart(report).match(/<rect /g)?.length).toBe(1 + 2 * report.comparisons.length);
  }, 180_000);
});
