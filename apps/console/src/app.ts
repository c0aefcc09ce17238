import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Type from 'typebox';
import { MAX_ITEM_QUANTITY, MAX_ORDER_ITEMS, MONEY_PATTERN } from '@comms/contracts';
import { AppError, createHttpApp } from '@comms/service-kit';
import type { HttpApp, Logger, ReadinessChecks } from '@comms/service-kit';
import type { Config } from './config.js';
import { actingLabel, createCredentials } from './credentials.js';
import type { Acting, Credentials } from './credentials.js';
import { registerFaults } from './faults.js';
import { registerKafkaPanel } from './kafka-panel.js';
import { registerLoad } from './load.js';
import { registerRebuild } from './rebuild.js';
import type { SpanSource } from './spans.js';
import { buildTimeline } from './timeline.js';
import type { Action, StoredEvent, StoredNotification } from './timeline.js';
import { callRest, newTrace, parseUserCheck } from './upstream.js';
import type { Answer, OrderGrpc } from './upstream.js';

/**
 * The page: plain files, served as they are (see README: no bundler). The
 * build copies them into dist; run from source (the tests), they are in public/.
 */
const BUILT_PUBLIC = new URL('./public/', import.meta.url);
const PUBLIC_DIR = fileURLToPath(
  existsSync(BUILT_PUBLIC) ? BUILT_PUBLIC : new URL('../public/', import.meta.url),
);
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
// Everything the page loads comes from this origin: no CDN, no outside fonts.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Actions remembered for their timelines; the oldest are forgotten first. */
const MAX_ACTIONS = 1_000;

const Uuid = Type.String({ format: 'uuid' });
const Item = Type.Object(
  {
    productId: Type.String({ minLength: 1, maxLength: 100 }),
    quantity: Type.Integer({ minimum: 1, maximum: MAX_ITEM_QUANTITY }),
    price: Type.String({ pattern: MONEY_PATTERN }),
  },
  { additionalProperties: false },
);

/** Builds the console's HTTP app (the page and its API) without listening. */
export async function buildApp(deps: {
  config: Config;
  grpc: OrderGrpc;
  spans: SpanSource | undefined;
  logger: Logger;
  readiness: ReadinessChecks;
  /** The tokens the console's calls carry; default: from AUTH_ISSUER_URL (none without it). */
  credentials?: Credentials;
}): Promise<HttpApp> {
  const { config, grpc, spans } = deps;
  const timeoutMs = config.UPSTREAM_TIMEOUT_MS;
  const credentials = deps.credentials ?? createCredentials(config.AUTH_ISSUER_URL, { timeoutMs });
  const app = await createHttpApp({
    title: 'console',
    description:
      "The web console's backend-for-frontend: it serves the page and calls the services for it over REST, gRPC and SSE.",
    logger: deps.logger,
    readiness: deps.readiness,
  });

  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of await readdir(PUBLIC_DIR)) {
    const type = TYPES[extname(name)];
    if (type !== undefined) files.set(name, { body: await readFile(`${PUBLIC_DIR}${name}`), type });
  }
  const serve = (name: string) => {
    const file = files.get(name);
    if (file === undefined) throw new AppError('NOT_FOUND', `no file /${name} in the console`);
    return file;
  };
  // The kit's hook sends `default-src 'none'` with every answer; the page's own
  // policy, set after it, lets it load its files and call its backend, nothing else.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.url === '/') reply.header('content-security-policy', CSP);
    done(null, payload);
  });
  // The page polls; its files and polls are logged only when something is wrong.
  app.get('/', { logLevel: 'warn' }, (_request, reply) => {
    const file = serve('index.html');
    return reply.type(file.type).send(file.body);
  });
  app.get(
    '/static/:file',
    {
      logLevel: 'warn',
      schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 100 }) }) },
    },
    (request, reply) => {
      const file = serve(request.params.file);
      return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
    },
  );

  /**
   * Passes a service's answer on: its status, its body (a problem document
   * stays one, a refused token included), and whom the console acted as.
   */
  const relay = (
    reply: {
      status(n: number): unknown;
      type(t: string): unknown;
      header(k: string, v: string): unknown;
      send(b: unknown): unknown;
    },
    answer: Answer,
    acting?: Acting,
  ) => {
    if (acting !== undefined && credentials.issuerUrl !== undefined)
      reply.header('x-acting-as', actingLabel(acting));
    reply.status(answer.status);
    reply.type(answer.headers.get('content-type') ?? 'application/json');
    return reply.send(answer.body);
  };
  const orders = (path: string) => `${config.orderServiceHttp}${path}`;
  const asConsole = (api: 'user-service' | 'notification-service'): Acting => ({
    kind: 'console',
    api,
  });

  /**
   * Whose each order is, for the orders this console placed or read: their
   * owner's token reads, pays and cancels them. Bounded like the actions.
   */
  const owners = new Map<string, string>();
  const own = (orderId: string, userId: unknown) => {
    if (typeof userId !== 'string') return;
    owners.delete(orderId);
    owners.set(orderId, userId);
    if (owners.size > MAX_ACTIONS) {
      const oldest = owners.keys().next().value;
      if (oldest !== undefined) owners.delete(oldest);
    }
  };
  /** Reads order-service as the order's owner when known, else as the operator (who reads any). */
  const readOrder = async (orderId: string, path = '') => {
    const owner = owners.get(orderId);
    const acting: Acting =
      owner === undefined ? { kind: 'operator' } : { kind: 'user', userId: owner };
    const answer = await credentials.call(acting, (headers) =>
      callRest('order-service', orders(`/orders/${orderId}${path}`), { headers, timeoutMs }),
    );
    if (path === '' && answer.status === 200)
      own(orderId, (answer.body as { userId?: unknown } | undefined)?.userId);
    return { answer, acting };
  };

  const userCheck = async () => {
    const answer = await callRest('order-service', orders('/metrics'), { timeoutMs }).catch(
      () => undefined,
    );
    return parseUserCheck(typeof answer?.body === 'string' ? answer.body : '');
  };

  const actions = new Map<string, Action>();
  const remember = (action: Action) => {
    actions.set(action.traceId, action);
    if (actions.size > MAX_ACTIONS) {
      const oldest = actions.keys().next().value;
      if (oldest !== undefined) actions.delete(oldest);
    }
  };
  const problemDetail = (body: unknown) =>
    typeof body === 'object' && body !== null && 'detail' in body ? String(body.detail) : undefined;

  // What the console talks to, and how.
  app.get('/api/info', { logLevel: 'warn' }, async () => ({
    endpointsMode: config.endpointsMode,
    services: {
      'order-service': { http: config.orderServiceHttp, grpc: config.orderServiceGrpc },
      'user-service': { http: config.userServiceHttp },
      'notification-service': { http: config.notificationServiceHttp },
    },
    userCheck: await userCheck(),
    spanSource: spans?.description ?? null,
    jaegerUrl: config.JAEGER_UI_URL ?? null,
    // Where the tokens come from; null: the console sends none.
    tokenIssuer: credentials.issuerUrl ?? null,
  }));

  app.post(
    '/api/users',
    {
      schema: {
        summary: 'Register a customer (REST to user-service)',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            email: Type.String({ minLength: 3, maxLength: 320 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) =>
      relay(
        reply,
        await credentials.call(asConsole('user-service'), (headers) =>
          callRest('user-service', `${config.userServiceHttp}/users`, {
            method: 'POST',
            body: request.body,
            headers,
            timeoutMs,
          }),
        ),
        asConsole('user-service'),
      ),
  );

  app.post(
    '/api/orders',
    {
      schema: {
        summary: 'Place an order over REST or gRPC; the answer names its trace',
        body: Type.Object(
          {
            via: Type.Union([Type.Literal('rest'), Type.Literal('grpc')]),
            userId: Uuid,
            items: Type.Array(Item, { minItems: 1, maxItems: MAX_ORDER_ITEMS }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { via, userId, items } = request.body;
      const { traceId, traceparent } = newTrace();
      const check = await userCheck();
      // The order is the customer's: placed with their token (signed in once, then cached).
      const acting: Acting = { kind: 'user', userId };
      // Signed in before the clock starts: the timeline times the order, not the sign-in.
      await credentials.headers(acting);
      const sentAt = Date.now();
      let status: number;
      let body: Record<string, unknown>;
      if (via === 'grpc') {
        const answer = await credentials.call(
          acting,
          (authorization) =>
            grpc.createOrder({ userId, items }, traceparent, timeoutMs, authorization),
          (answer) => !answer.ok && answer.code === 'UNAUTHENTICATED',
        );
        if (answer.ok) {
          status = 201;
          body = {
            orderId: answer.response.orderId,
            status: 'CREATED',
            userName: answer.response.userName,
            totalAmount: answer.response.totalAmount,
            // CreateOrder does not return the version; a new order's stream starts at 1.
            version: 1,
          };
        } else {
          status = answer.status;
          body = {
            type: 'about:blank',
            title: `gRPC ${answer.code}`,
            status,
            detail: answer.detail,
            code: answer.code,
          };
        }
      } else {
        const answer = await credentials.call(acting, (authorization) =>
          callRest('order-service', orders('/orders'), {
            method: 'POST',
            body: { userId, items },
            headers: { traceparent, ...authorization },
            timeoutMs,
          }),
        );
        status = answer.status;
        body = (
          typeof answer.body === 'object' && answer.body !== null
            ? answer.body
            : { detail: String(answer.body) }
        ) as Record<string, unknown>;
      }
      const answeredAt = Date.now();
      const ok = status < 400;
      if (ok) own(String(body['orderId']), userId);
      remember({
        traceId,
        orderId: ok ? String(body['orderId']) : undefined,
        command: 'create',
        via,
        sentAt,
        answeredAt,
        status,
        version: ok ? Number(body['version']) : undefined,
        userName: ok ? String(body['userName']) : undefined,
        validation: check.mode,
        refusal: ok ? undefined : problemDetail(body),
      });
      // The trace id in a header too: a problem document carries only its own fields.
      if (credentials.issuerUrl !== undefined) reply.header('x-acting-as', actingLabel(acting));
      return reply
        .status(status)
        .header('x-trace-id', traceId)
        .type(ok ? 'application/json' : 'application/problem+json')
        .send({ ...body, traceId, via, userCheck: check.mode ?? null });
    },
  );

  const IdParams = Type.Object({ id: Uuid });
  app.get(
    '/api/orders/:id',
    { schema: { summary: 'An order (REST)', params: IdParams } },
    async (request, reply) => {
      const { answer, acting } = await readOrder(request.params.id);
      return relay(reply, answer, acting);
    },
  );
  app.get(
    '/api/orders/:id/events',
    { schema: { summary: "An order's event stream (REST)", params: IdParams } },
    async (request, reply) => {
      const { answer, acting } = await readOrder(request.params.id, '/events');
      return relay(reply, answer, acting);
    },
  );

  app.post(
    '/api/orders/:id/:command',
    {
      schema: {
        summary:
          'Pay, ship or cancel with the version read (If-Match); a stale one is refused with 409',
        params: Type.Object({
          id: Uuid,
          command: Type.Union([Type.Literal('pay'), Type.Literal('ship'), Type.Literal('cancel')]),
        }),
        body: Type.Object(
          { expectedVersion: Type.Integer({ minimum: 1 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { id, command } = request.params;
      const { traceId, traceparent } = newTrace();
      // Shipping is the operator's; paying and cancelling the owner's (found by reading
      // the order as the operator when this console has not seen it yet).
      let acting: Acting = { kind: 'operator' };
      if (command !== 'ship') {
        if (!owners.has(id)) await readOrder(id);
        const owner = owners.get(id);
        if (owner !== undefined) acting = { kind: 'user', userId: owner };
      }
      await credentials.headers(acting);
      const sentAt = Date.now();
      const answer = await credentials.call(acting, (authorization) =>
        callRest('order-service', orders(`/orders/${id}/${command}`), {
          method: 'POST',
          body: {},
          headers: {
            traceparent,
            'if-match': `"${request.body.expectedVersion}"`,
            ...authorization,
          },
          timeoutMs,
        }),
      );
      const ok = answer.status < 400;
      const body = answer.body as Record<string, unknown> | undefined;
      remember({
        traceId,
        orderId: id,
        command,
        via: 'rest',
        sentAt,
        answeredAt: Date.now(),
        status: answer.status,
        version: ok ? Number(body?.['version']) : undefined,
        userName: undefined,
        validation: undefined,
        refusal: ok ? undefined : problemDetail(body),
      });
      reply.header('x-trace-id', traceId);
      return relay(reply, answer, acting);
    },
  );

  app.get(
    '/api/timeline/:traceId',
    {
      logLevel: 'warn',
      schema: {
        summary: "One action's hops, each from a real observation",
        params: Type.Object({ traceId: Type.String({ pattern: '^[0-9a-f]{32}$' }) }),
      },
    },
    async (request) => {
      const action = actions.get(request.params.traceId);
      if (action === undefined)
        throw new AppError(
          'NOT_FOUND',
          `the console placed nothing with trace ${request.params.traceId}`,
        );
      let events: StoredEvent[] = [];
      let notifications: StoredNotification[] = [];
      if (action.orderId !== undefined && action.status < 400) {
        const [{ answer: history }, feed] = await Promise.all([
          readOrder(action.orderId, '/events'),
          credentials.call(asConsole('notification-service'), (headers) =>
            callRest(
              'notification-service',
              `${config.notificationServiceHttp}/notifications?orderId=${action.orderId}&limit=200`,
              { headers, timeoutMs },
            ),
          ),
        ]);
        if (history.status === 200) events = (history.body as { events: StoredEvent[] }).events;
        if (feed.status === 200)
          notifications = (feed.body as { items: StoredNotification[] }).items;
      }
      return buildTimeline({
        action,
        events,
        notifications,
        spans: spans === undefined ? undefined : await spans.trace(action.traceId),
        spanSource: spans?.description ?? 'CONSOLE_SPANS_DIR is not set',
      });
    },
  );

  registerRebuild(app, config, credentials);
  registerLoad(app, { config, grpc, credentials });

  registerKafkaPanel(app, config, credentials);
  registerFaults(app, config);

  // Kafka, as notification-service's consumer sees it: lag per partition.
  app.get('/api/kafka/lag', { logLevel: 'warn' }, async (_request, reply) =>
    relay(
      reply,
      await credentials.call(asConsole('notification-service'), (headers) =>
        callRest('notification-service', `${config.notificationServiceHttp}/consumer/lag`, {
          headers,
          timeoutMs,
        }),
      ),
      asConsole('notification-service'),
    ),
  );

  // The live feed: one upstream stream per page, relayed byte for byte.
  const streams = new Set<AbortController>();
  app.addHook('preClose', (done) => {
    for (const stream of streams) stream.abort();
    done();
  });
  app.get('/api/stream', async (request, reply) => {
    const abort = new AbortController();
    const lastEventId = request.headers['last-event-id'];
    // Checked when the stream opens; it ends when the token expires, and the page's
    // EventSource reconnects (Last-Event-ID) through here with a fresh one.
    const open = async (authorization: Record<string, string>) => {
      let response: Response;
      try {
        response = await fetch(`${config.notificationServiceHttp}/notifications/stream`, {
          headers: {
            ...authorization,
            accept: 'text/event-stream',
            ...(typeof lastEventId === 'string' ? { 'last-event-id': lastEventId } : {}),
          },
          signal: abort.signal,
        });
      } catch (error) {
        throw new AppError(
          'UNAVAILABLE',
          `notification-service's stream did not open: ${(error as Error).message}`,
        );
      }
      if (response.status === 200 && response.body !== null)
        return { status: 200, stream: response.body, refusal: undefined };
      // Read whole, so a retry with a fresh token starts clean.
      const text = await response.text().catch(() => '');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: passed on as text.
      }
      return {
        status: response.status,
        stream: undefined,
        refusal: { status: response.status, body, headers: response.headers },
      };
    };
    const upstream = await credentials.call(asConsole('notification-service'), open);
    if (upstream.stream === undefined) {
      abort.abort();
      // A refusal (a token refused: 401, 403) is passed on as the service's problem document;
      // an EventSource does not retry after one, so the page says the stream dropped.
      if (upstream.status >= 400 && upstream.status < 500)
        return relay(reply, upstream.refusal, asConsole('notification-service'));
      throw new AppError(
        'UNAVAILABLE',
        `notification-service's stream answered ${upstream.status}`,
      );
    }
    streams.add(abort);
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    request.raw.on('close', () => abort.abort());
    try {
      for await (const chunk of upstream.stream) reply.raw.write(chunk);
    } catch {
      // The page left, or the console is closing; either way the relay ends.
    } finally {
      streams.delete(abort);
      reply.raw.end();
    }
  });

  return app;
}
