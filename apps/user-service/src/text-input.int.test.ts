import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  descriptorSetBase64,
  GRPC_SERVICE_NAMES,
  UserServiceClient,
  UserServiceService,
} from '@comms/contracts/grpc';
import type { Pool } from '@comms/postgres';
import { createLogger } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import {
  createTestDatabase,
  describeGrpcTextInputs,
  describeRestTextInputs,
  openApiDocument,
  restRequest,
  testInfra,
} from '@comms/testing';
import type { RestRequestParts, TestDatabase } from '@comms/testing';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { startUserService } from './main.js';
import { createUsers } from './users.js';

/**
 * Every text input of user-service, REST and gRPC, found from the service's
 * own OpenAPI document and proto descriptors, refuses text PostgreSQL cannot
 * store (NUL, a lone surrogate) with a 400 / INVALID_ARGUMENT naming the field.
 */

let db: TestDatabase;
let service: Awaited<ReturnType<typeof startUserService>>;
let pool: Pool;
let app: HttpApp;
let grpcAddress: string;
let userId: string;

beforeAll(async () => {
  db = await createTestDatabase('user_text');
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: testInfra().kafkaBrokers,
    KAFKA_CLIENT: testInfra().kafkaClient,
    LOG_LEVEL: 'silent',
  });
  service = await startUserService({ ...config, PORT: 0, GRPC_PORT: 0 });
  ({ app, pool } = service);
  grpcAddress = service.grpc?.address ?? '';
  const created = await app.inject({
    method: 'POST',
    url: '/users',
    payload: { name: 'Existing', email: 'existing@example.com' },
  });
  expect(created.statusCode).toBe(201);
  userId = created.json<{ id: string }>().id;
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
  await db.drop();
});

const REST_BASELINES = (): Record<string, RestRequestParts> => ({
  'POST /users': { body: { name: 'Text Tester', email: 'text.tester@example.com' } },
  'GET /users/{id}': { params: { id: userId } },
  'GET /users': { querystring: { limit: '5' } },
  'POST /users/{id}/deactivate': { params: { id: userId } },
});

// The routes' own description, read before the tests are collected: the
// document needs the routes, not a database.
const openApi = await openApiDocument(() =>
  buildApp({
    users: createUsers({ pool: {} as Pool }),
    logger: createLogger('user-text-doc', 'silent'),
    readiness: {},
  }),
);

describeRestTextInputs({
  openApi,
  baselines: REST_BASELINES,
  expected: ['POST /users body.name', 'POST /users body.email'],
  app: () => app,
});

describeGrpcTextInputs({
  descriptorSetBase64,
  serviceName: GRPC_SERVICE_NAMES.user,
  definition: UserServiceService,
  baselines: () => ({
    GetUser: { userId },
    ValidateUser: { userId },
    CreateUser: { name: 'Grpc Tester', email: 'grpc.tester@example.com' },
    ListUsers: { limit: 5, cursor: '' },
    DeactivateUser: { userId },
  }),
  expected: ['CreateUser name', 'CreateUser email', 'GetUser user_id'],
  address: () => grpcAddress,
});

describe('text that only looks unusual', () => {
  it('stores text that only looks unusual, unchanged', async () => {
    const response = await app.inject(
      restRequest('POST /users', {
        body: { name: 'Zoë 😀 東京 \ufffd', email: 'zoe@example.com' },
      }),
    );
    expect(response.statusCode).toBe(201);
    const id = response.json<{ id: string }>().id;
    const stored = await pool.query<{ name: string }>('SELECT name FROM users WHERE id = $1', [id]);
    expect(stored.rows[0]?.name).toBe('Zoë 😀 東京 \ufffd');
  });

  it('the generated client cannot even send a lone surrogate: it writes U+FFFD', async () => {
    const client = new UserServiceClient(grpcAddress, credentials.createInsecure());
    const created = await new Promise<{ user?: { name: string } }>((resolve, reject) =>
      client.createUser({ name: 'x\ud800', email: 'fffd@example.com' }, (error, response) =>
        error === null ? resolve(response) : reject(error),
      ),
    );
    client.close();
    expect(created.user?.name).toBe('x\ufffd');
  });
});
