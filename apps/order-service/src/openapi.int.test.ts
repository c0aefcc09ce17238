// order-service's REST contract, kept: docs/openapi/order-service.json is the
// OpenAPI document the service serves at GET /docs/json, committed so that a
// change to it is seen in review. After a deliberate change to the routes:
//   cd apps/order-service && npx vitest run src/openapi.int.test.ts -u
// docs/openapi/baseline/order-service.json is the published document: oasdiff's
// breaking check refuses a change that would break its clients. Copy the
// document over it only when publishing a new API on purpose (docs/contracts.md).
import { afterAll, beforeAll, expect } from 'vitest';
import { createTestDatabase, describeOpenApiContract, testInfra } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { loadConfig } from './config.js';
import { startOrderService } from './main.js';

let db: TestDatabase;
let service: Awaited<ReturnType<typeof startOrderService>>;

beforeAll(async () => {
  db = await createTestDatabase('order_openapi');
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: testInfra().kafkaBrokers,
    KAFKA_CLIENT: testInfra().kafkaClient,
    LOG_LEVEL: 'silent',
  });
  service = await startOrderService({ ...config, PORT: 0, GRPC_PORT: 0 });
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
  await db.drop();
});

describeOpenApiContract('order-service', () =>
  service.app.inject({ method: 'GET', url: '/docs/json' }),
);
