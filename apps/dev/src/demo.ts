import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { OrderServiceClient, UserServiceClient } from '@comms/contracts/grpc';
import type { CreateOrderResponse, ValidateUserResponse } from '@comms/contracts/grpc';
import { createResolver } from '@comms/endpoints';

/** Where the demo finds things; defaults match `npm start`. */
export interface DemoEnv {
  readonly [name: string]: string | undefined;
}

/** One step of the walk-through, as printed. */
export interface DemoStep {
  readonly title: string;
  readonly call: string;
  readonly result: string;
  readonly ms: number;
}

const REBUILD = fileURLToPath(new URL('../../order-service/dist/rebuild.js', import.meta.url));

/**
 * Walks through every communication style against a running system and
 * prints each hop: what it called, what came back, and how long it took.
 * Resolves with the steps; throws on the first step that does not behave.
 */
export async function runDemo(
  _args: string[],
  env: DemoEnv,
  print: (line: string) => void = console.log,
): Promise<DemoStep[]> {
  const resolver = createResolver(env);
  const userHttp = resolver.resolve('user-service', 'http');
  const userGrpc = resolver.resolve('user-service', 'grpc');
  const orderHttp = resolver.resolve('order-service', 'http');
  const orderGrpc = resolver.resolve('order-service', 'grpc');
  const notificationHttp = resolver.resolve('notification-service', 'http');
  const usersReaderUrl =
    env['USERS_DATABASE_URL'] ?? 'postgres://users_reader:users_reader@127.0.0.1:5432/users';
  const ordersUrl =
    env['ORDERS_DATABASE_URL'] ?? 'postgres://order_service:order_service@127.0.0.1:5432/orders';
  const steps: DemoStep[] = [];

  const step = async <T>(
    title: string,
    call: string,
    run: () => Promise<T>,
    show: (value: T) => string,
  ): Promise<T> => {
    const started = performance.now();
    let value: T;
    try {
      value = await run();
    } catch (error) {
      throw new Error(
        `step "${title}" failed: ${(error as Error).message}\n  (is the system running? start it with: npm start)`,
        { cause: error },
      );
    }
    const ms = performance.now() - started;
    const result = show(value);
    steps.push({ title, call, result, ms });
    print(`\n${steps.length}. ${title}\n   -> ${call}\n   <- ${result}\n   (${ms.toFixed(1)} ms)`);
    return value;
  };
  const fetchJson = async (
    url: string,
    init?: RequestInit,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const expectStatus = (actual: number, expected: number, what: string) => {
    if (actual !== expected) throw new Error(`${what} answered ${actual}, expected ${expected}`);
  };
  const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetchJson(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  print(
    `Walking through every communication style (user-service ${userHttp}, order-service ${orderHttp}, notification-service ${notificationHttp})`,
  );

  const user = await step(
    'REST: register a user with user-service',
    `POST ${userHttp}/users {"name":"Ada Lovelace","email":"ada+<time>@example.com"}`,
    async () => {
      const r = await postJson(`${userHttp}/users`, {
        name: 'Ada Lovelace',
        email: `ada+${Date.now()}@example.com`,
      });
      expectStatus(r.status, 201, 'POST /users');
      return r.body as { id: string; email: string };
    },
    (u) => `201 ${JSON.stringify(u)}`,
  );

  const users = new UserServiceClient(userGrpc, credentials.createInsecure());
  await step(
    'gRPC: ask user-service whether the user may order (ValidateUser)',
    `user.v1.UserService/ValidateUser at ${userGrpc} {user_id: ${user.id}}`,
    () =>
      new Promise<ValidateUserResponse>((resolve, reject) =>
        users.validateUser({ userId: user.id }, (e: ServiceError | null, r) =>
          e ? reject(e) : resolve(r),
        ),
      ),
    (r) => JSON.stringify(r),
  );
  users.close();

  // Listen for notifications before placing orders, as a browser would.
  const controller = new AbortController();
  const stream = await fetch(`${notificationHttp}/notifications/stream?userId=${user.id}`, {
    signal: controller.signal,
  });
  const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let sse = '';
  const pump = (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) return;
      sse += decoder.decode(chunk.value);
    }
  })();

  const order = await step(
    'REST: place an order; order-service validates the user over gRPC and stores events',
    `POST ${orderHttp}/orders {"userId":"${user.id}","items":[{"productId":"book","quantity":2,"price":"19.99"}]}`,
    async () => {
      const r = await postJson(`${orderHttp}/orders`, {
        userId: user.id,
        items: [{ productId: 'book', quantity: 2, price: '19.99' }],
      });
      expectStatus(r.status, 201, 'POST /orders');
      return r.body as { orderId: string };
    },
    (o) => `201 ${JSON.stringify(o)}`,
  );

  const orders = new OrderServiceClient(orderGrpc, credentials.createInsecure());
  await step(
    'gRPC: place another order through order.v1.OrderService',
    `order.v1.OrderService/CreateOrder at ${orderGrpc}`,
    () =>
      new Promise<CreateOrderResponse>((resolve, reject) =>
        orders.createOrder(
          {
            userId: user.id,
            items: [{ productId: 'pen', quantity: 3, price: '0.10' }],
            idempotencyKey: '',
          },
          (e: ServiceError | null, r) => (e ? reject(e) : resolve(r)),
        ),
      ),
    (r) => JSON.stringify(r),
  );
  orders.close();

  await step(
    'Kafka: the order event travels orders -> notification-service, which pushes it over SSE',
    `GET ${notificationHttp}/notifications/stream?userId=${user.id} (Server-Sent Events)`,
    async () => {
      const deadline = Date.now() + 20_000;
      while (!sse.includes(order.orderId.slice(0, 8))) {
        if (Date.now() > deadline) throw new Error('no notification arrived within 20 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const events = sse.split('\n\n').filter((e) => e.includes('event: notification'));
      return events.map(
        (e) =>
          JSON.parse(/data: (.+)/.exec(e)?.[1] ?? '{}') as {
            subject: string;
            recipientEmail: string;
          },
      );
    },
    (n) => n.map((x) => `"${x.subject}" to ${x.recipientEmail}`).join('; '),
  );
  controller.abort();
  await pump;

  await step(
    'Shared database: read the user the way USER_VALIDATION=shared-db does (read-only role, one view)',
    `SELECT name, status FROM user_directory WHERE id = $1   (as users_reader)`,
    async () => {
      const client = new pg.Client({ connectionString: usersReaderUrl });
      await client.connect();
      try {
        const row = (
          await client.query('SELECT name, status FROM user_directory WHERE id = $1', [user.id])
        ).rows[0] as unknown;
        const denied = await client.query('SELECT email FROM users LIMIT 1').then(
          () => 'the users table is readable (it should not be!)',
          (e: Error) => `reading the users table is refused: ${e.message}`,
        );
        return { row, denied };
      } finally {
        await client.end();
      }
    },
    (r) => `${JSON.stringify(r.row)}; ${r.denied}`,
  );

  await step(
    'Event sourcing: pay with the version we read (If-Match), then try a stale version',
    `POST ${orderHttp}/orders/${order.orderId}/pay  If-Match: "1"; then /ship with If-Match: "1"`,
    async () => {
      const paid = await fetchJson(`${orderHttp}/orders/${order.orderId}/pay`, {
        method: 'POST',
        headers: { 'if-match': '"1"' },
      });
      expectStatus(paid.status, 200, 'pay');
      const stale = await fetchJson(`${orderHttp}/orders/${order.orderId}/ship`, {
        method: 'POST',
        headers: { 'if-match': '"1"' },
      });
      expectStatus(stale.status, 409, 'ship with a stale version');
      return { paid: paid.body['status'], stale: stale.body['detail'] };
    },
    (r) => `pay: ${String(r.paid)}; stale ship: 409 ${String(r.stale)}`,
  );

  await step(
    "Event sourcing: the order's history, one event per change",
    `GET ${orderHttp}/orders/${order.orderId}/events`,
    async () =>
      (await fetchJson(`${orderHttp}/orders/${order.orderId}/events`)).body as {
        events: { version: number; type: string }[];
      },
    (h) => h.events.map((e) => `v${e.version} ${e.type}`).join(', '),
  );

  await step(
    'Event sourcing: rebuild the read model from every stream and compare it with the live one',
    `node apps/order-service/dist/rebuild.js (DATABASE_URL=${ordersUrl.replace(/:[^:@/]+@/, ':***@')})`,
    async () => {
      const { stdout } = await promisify(execFile)(process.execPath, [REBUILD], {
        env: { PATH: env['PATH'] ?? '', DATABASE_URL: ordersUrl },
      });
      if (!stdout.includes(' 0 rows differ')) throw new Error(stdout.trim());
      return stdout.trim();
    },
    (out) => out,
  );

  print(
    '\nDone: REST, gRPC, Kafka events, the shared database and event sourcing, each shown once.',
  );
  return steps;
}
