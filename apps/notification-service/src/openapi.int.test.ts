// notification-service's REST contract, kept: docs/openapi/notification-service.json is the
// OpenAPI document the service serves at GET /docs/json, committed so that a
// change to it is seen in review. After a deliberate change to the routes:
//   cd apps/notification-service && npx vitest run src/openapi.int.test.ts -u
// docs/openapi/baseline/notification-service.json is the published document: oasdiff's
// breaking check refuses a change that would break its clients. Copy the
// document over it only when publishing a new API on purpose (docs/contracts.md).
// The document is the default one, AUTH_ISSUER_URL unset: the bearer scheme is
// declared and each secured route lists it beside the empty requirement (a token
// is optional then); with AUTH_ISSUER_URL set the served document requires it.
import { afterAll, beforeAll, expect } from 'vitest';
import { createTestDatabase, describeOpenApiContract, testInfra, uniqueName } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { loadConfig } from './config.js';
import { startNotificationService } from './main.js';

let db: TestDatabase;
let service: Awaited<ReturnType<typeof startNotificationService>>;

beforeAll(async () => {
  db = await createTestDatabase('notification_openapi');
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: testInfra().kafkaBrokers,
    KAFKA_CLIENT: testInfra().kafkaClient,
    LOG_LEVEL: 'silent',
    // Its own topics and group: this test must not consume anyone else's events.
    USERS_TOPIC: uniqueName('users'),
    ORDERS_TOPIC: uniqueName('orders'),
    DLQ_TOPIC: uniqueName('dlq'),
    CONSUMER_GROUP: uniqueName('notifications'),
    USER_SERVICE_HTTP_URL: 'http://127.0.0.1:9',
  });
  service = await startNotificationService({ ...config, PORT: 0 });
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
  await db.drop();
});

describeOpenApiContract('notification-service', () =>
  service.app.inject({ method: 'GET', url: '/docs/json' }),
);
