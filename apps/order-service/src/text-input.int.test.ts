import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  descriptorSetBase64,
  GRPC_SERVICE_NAMES,
  OrderServiceService,
} from '@comms/contracts/grpc';
import { findFreePort } from '@comms/infra';
import { createLogger } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import {
  createTestDatabase,
  describeGrpcTextInputs,
  describeRestTextInputs,
  openApiDocument,
  startServiceProcess,
  testInfra,
  uniqueName,
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
  'POST /orders/{id}/rebuild': { params: { id: orderId } },
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
const openApi = await openApiDocument(() =>
  buildApp({ orders: {} as Orders, logger, readiness: {} }),
);

describeRestTextInputs({
  openApi,
  baselines: REST_BASELINES,
  expected: [
    'POST /orders body.items[0].productId',
    'POST /orders headers.idempotency-key',
    'POST /orders/{id}/cancel body.reason',
    'POST /orders/{id}/cancel headers.if-match',
  ],
  app: () => app,
});

describeGrpcTextInputs({
  descriptorSetBase64,
  serviceName: GRPC_SERVICE_NAMES.order,
  definition: OrderServiceService,
  baselines: () => ({
    CreateOrder: { userId, items: [item], idempotencyKey: uniqueName('key') },
    GetOrder: { orderId },
  }),
  expected: ['CreateOrder items[0].product_id', 'CreateOrder idempotency_key', 'GetOrder order_id'],
  address: () => grpcAddress,
});
