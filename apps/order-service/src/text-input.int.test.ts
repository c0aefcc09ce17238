import { createRequire } from 'node:module';
import { status } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFieldPath } from '@comms/contracts';
import {
  descriptorSetBase64,
  GRPC_SERVICE_NAMES,
  OrderServiceService,
} from '@comms/contracts/grpc';
import { findFreePort } from '@comms/infra';
import { createLogger } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import {
  asLoneSurrogate,
  callWithBytes,
  camelPath,
  createTestDatabase,
  grpcTextInputs,
  methodOf,
  restRequest,
  restTextInputs,
  startServiceProcess,
  SURROGATE_MARKER,
  testInfra,
  uniqueName,
  UNSTORABLE_TEXT,
  withValueAt,
} from '@comms/testing';
import type { RestRequestParts, ServiceProcess, TestDatabase } from '@comms/testing';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { startOrderService } from './main.js';
import type { Orders } from './orders.js';

/**
 * Every text input of order-service, REST and gRPC, found from the service's
 * own OpenAPI document and proto descriptors, refuses text PostgreSQL cannot
 * store (NUL, a lone surrogate) with a 400 / INVALID_ARGUMENT naming the
 * field. The user is real, so without the rule each request would reach the
 * database.
 */

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');
const logger = createLogger('order-text-test', 'silent');

let usersDb: TestDatabase;
let ordersDb: TestDatabase;
let userService: ServiceProcess;
let service: Awaited<ReturnType<typeof startOrderService>>;
let app: HttpApp;
let grpcAddress: string;
let userId: string;
let orderId: string;

beforeAll(async () => {
  const { kafkaBrokers } = testInfra();
  usersDb = await createTestDatabase('order_text_users');
  ordersDb = await createTestDatabase('order_text');
  const [httpPort, grpcPort] = [await findFreePort(), await findFreePort()];
  userService = await startServiceProcess({
    entry: USER_SERVICE,
    env: {
      HOST: '127.0.0.1',
      PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      DATABASE_URL: usersDb.url,
      KAFKA_BROKERS: kafkaBrokers,
      KAFKA_CLIENT: testInfra().kafkaClient,
      LOG_LEVEL: 'warn',
    },
    healthUrl: `http://127.0.0.1:${httpPort}/healthz`,
  });
  const registered = await fetch(`http://127.0.0.1:${httpPort}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Text Buyer', email: `${uniqueName('buyer')}@example.com` }),
  });
  userId = ((await registered.json()) as { id: string }).id;

  const config = loadConfig({
    DATABASE_URL: ordersDb.url,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_CLIENT: testInfra().kafkaClient,
    LOG_LEVEL: 'silent',
    USER_SERVICE_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
    USER_CALL_TIMEOUT_MS: '5000',
    RATE_LIMIT_PER_MINUTE: '0',
  });
  service = await startOrderService({ ...config, PORT: 0, GRPC_PORT: 0 });
  app = service.app;
  grpcAddress = service.grpc?.address ?? '';
  const created = await app.inject({
    method: 'POST',
    url: '/orders',
    payload: { userId, items: [{ productId: 'book', quantity: 1, price: '9.99' }] },
  });
  expect(created.statusCode).toBe(201);
  orderId = created.json<{ orderId: string }>().orderId;
}, 90_000);

afterAll(async () => {
  expect(await service.stop()).toBe(0);
  await userService.stop();
  await ordersDb.drop();
  await usersDb.drop();
});

const item = { productId: 'book', quantity: 1, price: '9.99' };
const REST_BASELINES = (): Record<string, RestRequestParts> => ({
  'POST /orders': {
    headers: { 'idempotency-key': uniqueName('key') },
    body: { userId, items: [item] },
  },
  'GET /orders/{id}': { params: { id: orderId } },
  'GET /orders/{id}/events': { params: { id: orderId } },
  'GET /orders': { querystring: { userId } },
  'POST /orders/{id}/pay': { params: { id: orderId }, headers: { 'if-match': '"1"' }, body: {} },
  'POST /orders/{id}/cancel': {
    params: { id: orderId },
    headers: { 'if-match': '"1"' },
    body: { reason: 'changed my mind' },
  },
  'POST /orders/{id}/ship': { params: { id: orderId }, headers: { 'if-match': '"1"' }, body: {} },
});

// The routes' own description, read before the tests are collected: the
// document needs the routes, not a database.
const openApi = await (async () => {
  const built = await buildApp({ orders: {} as Orders, logger, readiness: {} });
  const document: unknown = (await built.inject({ method: 'GET', url: '/docs/json' })).json();
  await built.close();
  return document;
})();

describe('REST text inputs', () => {
  const { operations, inputs } = restTextInputs(openApi);

  it('has a baseline for every operation and finds text inputs', () => {
    expect(Object.keys(REST_BASELINES()).sort()).toEqual([...operations].sort());
    expect(inputs.map((i) => `${i.operation} ${formatFieldPath(i.part, i.path)}`)).toEqual(
      expect.arrayContaining([
        'POST /orders body.items[0].productId',
        'POST /orders headers.idempotency-key',
        'POST /orders/{id}/cancel body.reason',
        'POST /orders/{id}/cancel headers.if-match',
      ]),
    );
  });

  const cases = inputs.flatMap((input) =>
    Object.entries(UNSTORABLE_TEXT).map(([kind, text]) => ({ ...input, kind, text })),
  );
  it.each(cases)(
    '$operation refuses $kind in $part $path',
    async ({ operation, part, path, kind, text }) => {
      const baseline = REST_BASELINES()[operation] ?? {};
      const broken = { ...baseline, [part]: withValueAt(baseline[part] ?? {}, path, text) };
      const response = await app.inject(restRequest(operation, broken));
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = response.json<{
        code: string;
        detail: string;
        errors?: { field: string; message: string }[];
      }>();
      expect(problem.code).toBe('INVALID_ARGUMENT');
      const inUrl = part === 'params' || part === 'querystring';
      if (part === 'params' && kind === 'lone surrogate') {
        // ED A0 80 in the path is not a URL fastify can route: a 400 for the whole URL.
        expect(problem.detail).toMatch(/not a valid url/);
        return;
      }
      expect(problem.errors?.[0]?.field).toBe(formatFieldPath(part, path));
      expect(problem.errors?.[0]?.message).toMatch(
        inUrl && kind === 'lone surrogate'
          ? /percent-encoded UTF-8/
          : kind === 'NUL'
            ? /NUL \(U\+0000\)/
            : /unpaired surrogate/,
      );
    },
  );
});

describe('gRPC text inputs', () => {
  const definitions = loadFileDescriptorSetFromBuffer(Buffer.from(descriptorSetBase64, 'base64'));
  const { methods, inputs } = grpcTextInputs(definitions, GRPC_SERVICE_NAMES.order);
  const GRPC_BASELINES = (): Record<string, Record<string, unknown>> => ({
    CreateOrder: { userId, items: [item], idempotencyKey: uniqueName('key') },
    GetOrder: { orderId },
  });

  it('has a baseline for every RPC and finds text fields', () => {
    expect(Object.keys(GRPC_BASELINES()).sort()).toEqual([...methods].sort());
    expect(inputs.map((i) => `${i.method} ${formatFieldPath('', i.path)}`)).toEqual(
      expect.arrayContaining([
        'CreateOrder items[0].product_id',
        'CreateOrder idempotency_key',
        'GetOrder order_id',
      ]),
    );
  });

  it.each(inputs)('$method refuses NUL in $path, naming it', async ({ method, path }) => {
    const definition = methodOf(OrderServiceService, method);
    const request = withValueAt(GRPC_BASELINES()[method], camelPath(path), UNSTORABLE_TEXT.NUL);
    const answer = await callWithBytes(
      grpcAddress,
      definition.path,
      definition.requestSerialize(request as never),
    );
    expect(answer.code).toBe(status.INVALID_ARGUMENT);
    expect(answer.details).toContain(`${formatFieldPath('', path)} must not contain NUL (U+0000)`);
  });

  it.each(inputs)('$method refuses a lone surrogate in $path', async ({ method, path }) => {
    const definition = methodOf(OrderServiceService, method);
    const request = withValueAt(GRPC_BASELINES()[method], camelPath(path), `a${SURROGATE_MARKER}`);
    const bytes = asLoneSurrogate(definition.requestSerialize(request as never));
    const answer = await callWithBytes(grpcAddress, definition.path, bytes);
    expect(answer.code).toBe(status.INVALID_ARGUMENT);
    expect(answer.details).toMatch(/not valid UTF-8/);
  });
});
