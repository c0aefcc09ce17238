import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { OrderServiceClient, UserServiceClient } from '@comms/contracts/grpc';
import type { CreateOrderResponse, ValidateUserResponse } from '@comms/contracts/grpc';
import { bearer, localTokens } from '@comms/auth';
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
  // The local token issuer npm start runs; every call below carries a token from it.
  const issuerUrl = env['AUTH_ISSUER_URL'] ?? 'http://127.0.0.1:8084';
  const tokens = localTokens({ issuerUrl });
  /** gRPC metadata carrying a bearer token. */
  const metadataOf = (token: string) => {
    const metadata = new Metadata();
    metadata.set('authorization', bearer(token).authorization);
    return metadata;
  };
  /** A token shortened for printing: its claims matter, not its bytes. */
  const claimsOf = (token: string) => {
    const claims = JSON.parse(
      Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    const roles = Array.isArray(claims['roles']) ? (claims['roles'] as string[]) : [];
    return `sub ${String(claims['sub'])}, aud ${String(claims['aud'])}${roles.length === 0 ? '' : `, roles ${roles.join(' ')}`}, expires in ${String(Number(claims['exp']) - Math.floor(Date.now() / 1000))} s`;
  };
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

  const backOffice = await step(
    "Identity: a back office's own token for user-service (client credentials)",
    `POST ${issuerUrl}/token grant_type=client_credentials resource=urn:comms:user-service (as client 'tools')`,
    () => tokens.service('tools', 'user-service'),
    (token) => `access token (${claimsOf(token)})`,
  );

  const user = await step(
    'REST: register a user with user-service',
    `POST ${userHttp}/users {"name":"Ada Lovelace","email":"ada+<time>@example.com"}  Authorization: Bearer <back office>`,
    async () => {
      const r = await postJson(
        `${userHttp}/users`,
        { name: 'Ada Lovelace', email: `ada+${Date.now()}@example.com` },
        bearer(backOffice),
      );
      expectStatus(r.status, 201, 'POST /users');
      return r.body as { id: string; email: string };
    },
    (u) => `201 ${JSON.stringify(u)}`,
  );

  const users = new UserServiceClient(userGrpc, credentials.createInsecure());
  await step(
    'gRPC: ask user-service whether the user may order (ValidateUser)',
    `user.v1.UserService/ValidateUser at ${userGrpc} {user_id: ${user.id}}  metadata authorization: Bearer <back office>`,
    () =>
      new Promise<ValidateUserResponse>((resolve, reject) =>
        users.validateUser(
          { userId: user.id },
          metadataOf(backOffice),
          (e: ServiceError | null, r) => (e ? reject(e) : resolve(r)),
        ),
      ),
    (r) => JSON.stringify(r),
  );
  users.close();

  const signedIn = await step(
    'Identity: the user signs in (authorization code with PKCE), one token per API',
    `GET ${issuerUrl}/auth?client_id=comms-cli&resource=urn:comms:order-service&code_challenge=... -> sign-in -> POST ${issuerUrl}/token`,
    async () => ({
      orders: await tokens.user(user.id, 'order-service'),
      notifications: await tokens.user(user.id, 'notification-service'),
    }),
    (t) =>
      `order-service: ${claimsOf(t.orders)}; notification-service: ${claimsOf(t.notifications)}`,
  );
  const asUser = bearer(signedIn.orders);

  const anonymous = await step(
    'Identity: the same call without a token is refused',
    `POST ${orderHttp}/orders (no Authorization header)`,
    async () => {
      const response = await fetch(`${orderHttp}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: user.id, items: [] }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as Record<string, unknown>;
      const challenge = response.headers.get('www-authenticate');
      // Under `npm start -- --no-auth` the services are open: the empty order is refused for itself.
      if (challenge === null) return { status: response.status, challenge, detail: body['detail'] };
      expectStatus(response.status, 401, 'POST /orders without a token');
      return { status: response.status, challenge, detail: body['detail'] };
    },
    (r) =>
      r.challenge === null
        ? `${String(r.status)} ${String(r.detail)} (the services run open: npm start -- --no-auth)`
        : `401 ${String(r.detail)}; WWW-Authenticate: ${r.challenge}`,
  );

  // No challenge: the services run without authentication (npm start -- --no-auth).
  const open = anonymous.challenge === null;

  // Listen for notifications before placing orders, as a browser would.
  const controller = new AbortController();
  const stream = await fetch(`${notificationHttp}/notifications/stream?userId=${user.id}`, {
    headers: bearer(signedIn.notifications),
    signal: controller.signal,
  });
  if (stream.status !== 200)
    throw new Error(
      `GET /notifications/stream answered ${String(stream.status)}: ${await stream.text()}`,
    );
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
    `POST ${orderHttp}/orders {"userId":"${user.id}","items":[{"productId":"book","quantity":2,"price":"19.99"}]}  Authorization: Bearer <user>`,
    async () => {
      const r = await postJson(
        `${orderHttp}/orders`,
        { userId: user.id, items: [{ productId: 'book', quantity: 2, price: '19.99' }] },
        asUser,
      );
      expectStatus(r.status, 201, 'POST /orders');
      return r.body as { orderId: string };
    },
    (o) => `201 ${JSON.stringify(o)}`,
  );

  await step(
    'Identity: another user may not read that order',
    `GET ${orderHttp}/orders/${order.orderId}  Authorization: Bearer <user 'someone-else'>`,
    async () => {
      const other = await fetchJson(`${orderHttp}/orders/${order.orderId}`, {
        headers: bearer(await tokens.user('someone-else')),
      });
      // Without authentication nobody is checked: the order is anyone's to read.
      expectStatus(other.status, open ? 200 : 403, "GET another user's order");
      return { status: other.status, detail: other.body['detail'] };
    },
    (r) =>
      open ? '200 (the services run open: npm start -- --no-auth)' : `403 ${String(r.detail)}`,
  );

  const orders = new OrderServiceClient(orderGrpc, credentials.createInsecure());
  await step(
    'gRPC: place another order through order.v1.OrderService',
    `order.v1.OrderService/CreateOrder at ${orderGrpc}  metadata authorization: Bearer <user>`,
    () =>
      new Promise<CreateOrderResponse>((resolve, reject) =>
        orders.createOrder(
          {
            userId: user.id,
            items: [{ productId: 'pen', quantity: 3, price: '0.10' }],
            idempotencyKey: '',
          },
          metadataOf(signedIn.orders),
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
            actor?: string | null;
          },
      );
    },
    (n) =>
      n
        .map(
          (x) =>
            `"${x.subject}" to ${x.recipientEmail}${typeof x.actor === 'string' ? ` (caused by ${x.actor})` : ''}`,
        )
        .join('; '),
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
    'Event sourcing: the user pays with the version read (If-Match), then an operator ships with a stale one',
    `POST ${orderHttp}/orders/${order.orderId}/pay  If-Match: "1" (as the user); then /ship with If-Match: "1" (as user 'operator')`,
    async () => {
      const paid = await fetchJson(`${orderHttp}/orders/${order.orderId}/pay`, {
        method: 'POST',
        headers: { 'if-match': '"1"', ...asUser },
      });
      expectStatus(paid.status, 200, 'pay');
      const stale = await fetchJson(`${orderHttp}/orders/${order.orderId}/ship`, {
        method: 'POST',
        headers: { 'if-match': '"1"', ...bearer(await tokens.user('operator')) },
      });
      expectStatus(stale.status, 409, 'ship with a stale version');
      return { paid: paid.body['status'], stale: stale.body['detail'] };
    },
    (r) => `pay: ${String(r.paid)}; stale ship: 409 ${String(r.stale)}`,
  );

  await step(
    "Event sourcing: the order's history, one event per change, with who caused it",
    `GET ${orderHttp}/orders/${order.orderId}/events`,
    async () =>
      (await fetchJson(`${orderHttp}/orders/${order.orderId}/events`, { headers: asUser }))
        .body as {
        events: { version: number; type: string; actor?: string | null }[];
      },
    (h) =>
      h.events
        .map((e) => `v${e.version} ${e.type}${typeof e.actor === 'string' ? ` by ${e.actor}` : ''}`)
        .join(', '),
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
    '\nDone: REST, gRPC, Kafka events, the shared database and event sourcing, each shown once, every call with a token from the issuer.',
  );
  return steps;
}
