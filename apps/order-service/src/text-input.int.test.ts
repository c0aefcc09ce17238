import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  descriptorSetBase64,
  GRPC_SERVICE_NAMES,
  OrderServiceService,
} from '@comms/contracts/grpc';
import { createLogger } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import {
  createTestDatabase,
  describeGrpcTextInputs,
  describeRestTextInputs,
  openApiDocument,
  startUserServiceProcess,
  uniqueName,
} from '@comms/testing';
import type { RestRequestParts, TestDatabase, TestUserService } from '@comms/testing';
import { buildApp } from './app.js';
import type { startOrderService } from './main.js';
import type { Orders } from './orders.js';
import { startTestOrderService } from './test-support.js';

/**
 * Every text input of order-service, REST and gRPC, found from the service's
 * own OpenAPI document and proto descriptors, refuses text PostgreSQL cannot
 * store (NUL, a lone surrogate) with a 400 / INVALID_ARGUMENT naming the
 * field. The user is real, so without the rule each request would reach the
 * database.
 */

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');
const logger = createLogger('order-text-test', 'silent');

let ordersDb: TestDatabase;
let userService: TestUserService;
let service: Awaited<ReturnType<typeof startOrderService>>;
let app: HttpApp;
let grpcAddress: string;
let userId: string;
let orderId: string;

beforeAll(async () => {
  ordersDb = await createTestDatabase('order_text');
  userService = await startUserServiceProcess({
    entry: USER_SERVICE,
    database: 'order_text_users',
  });
  userId = (await userService.register('Text Buyer')).id;
  service = await startTestOrderService({ databaseUrl: ordersDb.url, userService });
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
