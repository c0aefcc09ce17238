import { credentials, status } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFieldPath } from '@comms/contracts';
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
  asLoneSurrogate,
  callWithBytes,
  camelPath,
  createTestDatabase,
  grpcTextInputs,
  methodOf,
  restRequest,
  restTextInputs,
  SURROGATE_MARKER,
  testInfra,
  UNSTORABLE_TEXT,
  withValueAt,
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
const openApi = await (async () => {
  const built = await buildApp({
    users: createUsers({ pool: {} as Pool }),
    logger: createLogger('user-text-doc', 'silent'),
    readiness: {},
  });
  const document: unknown = (await built.inject({ method: 'GET', url: '/docs/json' })).json();
  await built.close();
  return document;
})();

describe('REST text inputs', () => {
  const { operations, inputs } = restTextInputs(openApi);

  it('has a baseline for every operation and finds text inputs', () => {
    expect(Object.keys(REST_BASELINES()).sort()).toEqual([...operations].sort());
    expect(inputs.map((i) => `${i.operation} ${i.part}.${i.path.join('.')}`)).toEqual(
      expect.arrayContaining(['POST /users body.name', 'POST /users body.email']),
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
        errors?: { field: string; message: string }[];
      }>();
      expect(problem.code).toBe('INVALID_ARGUMENT');
      const inUrl = part === 'params' || part === 'querystring';
      if (inUrl && kind === 'lone surrogate' && part === 'params') {
        // ED A0 80 in the path is not a URL fastify can route: a 400 for the whole URL.
        expect(response.json<{ detail: string }>().detail).toMatch(/not a valid url/);
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
});

describe('gRPC text inputs', () => {
  const definitions = loadFileDescriptorSetFromBuffer(Buffer.from(descriptorSetBase64, 'base64'));
  const { methods, inputs } = grpcTextInputs(definitions, GRPC_SERVICE_NAMES.user);
  const GRPC_BASELINES = (): Record<string, Record<string, unknown>> => ({
    GetUser: { userId },
    ValidateUser: { userId },
    CreateUser: { name: 'Grpc Tester', email: 'grpc.tester@example.com' },
    ListUsers: { limit: 5, cursor: '' },
    DeactivateUser: { userId },
  });
  it('has a baseline for every RPC and finds text fields', () => {
    expect(Object.keys(GRPC_BASELINES()).sort()).toEqual([...methods].sort());
    expect(inputs.map((i) => `${i.method} ${i.path.join('.')}`)).toEqual(
      expect.arrayContaining(['CreateUser name', 'CreateUser email', 'GetUser user_id']),
    );
  });

  it.each(inputs)('$method refuses NUL in $path, naming it', async ({ method, path }) => {
    const definition = methodOf(UserServiceService, method);
    const request = withValueAt(GRPC_BASELINES()[method], camelPath(path), UNSTORABLE_TEXT.NUL);
    const bytes = definition.requestSerialize(request as never);
    const answer = await callWithBytes(grpcAddress, definition.path, bytes);
    expect(answer.code).toBe(status.INVALID_ARGUMENT);
    expect(answer.details).toContain(`${formatFieldPath('', path)} must not contain NUL (U+0000)`);
  });

  it.each(inputs)('$method refuses a lone surrogate in $path', async ({ method, path }) => {
    const definition = methodOf(UserServiceService, method);
    const request = withValueAt(GRPC_BASELINES()[method], camelPath(path), `a${SURROGATE_MARKER}`);
    const bytes = asLoneSurrogate(definition.requestSerialize(request as never));
    const answer = await callWithBytes(grpcAddress, definition.path, bytes);
    expect(answer.code).toBe(status.INVALID_ARGUMENT);
    expect(answer.details).toMatch(/not valid UTF-8/);
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
