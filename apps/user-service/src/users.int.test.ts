import { credentials, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent, TOPICS } from '@comms/contracts';
import type { AnyEvent } from '@comms/contracts';
import { UserServiceClient, UserStatus } from '@comms/contracts/grpc';
import type {
  CreateUserRequest,
  CreateUserResponse,
  DeactivateUserRequest,
  DeactivateUserResponse,
  GetUserRequest,
  GetUserResponse,
  ValidateUserRequest,
  ValidateUserResponse,
} from '@comms/contracts/grpc';
import { createKafka } from '@comms/kafka';
import type { KafkaConsumer } from '@comms/kafka';
import type { OutboxRelay } from '@comms/outbox';
import { createPool, migrate } from '@comms/postgres';
import type { Pool } from '@comms/postgres';
import type { HttpApp } from '@comms/service-kit';
import { createTestDatabase, testInfra, uniqueName, waitFor } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { loadConfig } from './config.js';
import { startUserService } from './main.js';
import { MIGRATIONS } from './migrations.js';

let db: TestDatabase;
let service: Awaited<ReturnType<typeof startUserService>>;
let pool: Pool;
let app: HttpApp;
let client: UserServiceClient;
let relay: OutboxRelay;
let consumer: KafkaConsumer;
const events: AnyEvent[] = [];

beforeAll(async () => {
  db = await createTestDatabase('users');
  const { kafkaBrokers } = testInfra();
  const kafka = createKafka({
    brokers: kafkaBrokers.split(','),
    clientId: 'user-service-test',
    client: testInfra().kafkaClient,
  });
  const admin = await kafka.admin();
  await admin.ensureTopics([{ topic: TOPICS.users, partitions: 3 }]);
  await admin.close();

  // The service as server.ts starts it, on ports of its own. Its migrations run
  // beside a second instance's, at once: they are safe to run concurrently.
  const other = createPool({ url: db.url });
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_CLIENT: testInfra().kafkaClient,
    LOG_LEVEL: 'silent',
    OUTBOX_POLL_MS: '20',
  });
  [service] = await Promise.all([
    startUserService({ ...config, PORT: 0, GRPC_PORT: 0 }),
    migrate(other, MIGRATIONS),
  ]);
  await other.end();
  ({ app, pool, relay } = service);
  client = new UserServiceClient(service.grpc?.address ?? '', credentials.createInsecure());

  consumer = await kafka.consumer({ groupId: uniqueName('user-events'), topics: [TOPICS.users] });
  await consumer.run((message) => {
    events.push(parseEvent(message.value));
    return Promise.resolve();
  });
});

afterAll(async () => {
  client.close();
  await consumer.close();
  expect(await service.stop()).toBe(0);
  await db.drop();
});

const post = (url: string, payload?: Record<string, unknown>) =>
  app.inject({ method: 'POST', url, payload });
const get = (url: string) => app.inject({ method: 'GET', url });
const email = () => `${uniqueName('user')}@example.com`;

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
function promised<Req, Res>(invoke: (request: Req, callback: Callback<Res>) => unknown) {
  return (request: Req) =>
    new Promise<Res>((resolve, reject) => {
      invoke(request, (error, response) => (error ? reject(error) : resolve(response)));
    });
}
const rpc = {
  createUser: promised<CreateUserRequest, CreateUserResponse>((r, cb) => client.createUser(r, cb)),
  getUser: promised<GetUserRequest, GetUserResponse>((r, cb) => client.getUser(r, cb)),
  validateUser: promised<ValidateUserRequest, ValidateUserResponse>((r, cb) =>
    client.validateUser(r, cb),
  ),
  deactivateUser: promised<DeactivateUserRequest, DeactivateUserResponse>((r, cb) =>
    client.deactivateUser(r, cb),
  ),
};

async function counts() {
  const result = await pool.query<{ users: number; outbox: number }>(
    'SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM outbox)::int AS outbox',
  );
  return result.rows[0];
}

describe('REST', () => {
  it('registers, reads, pages and deactivates users', async () => {
    const created = await post('/users', { name: 'Ada Lovelace', email: email() });
    expect(created.statusCode).toBe(201);
    const user = created.json<{ id: string; status: string; createdAt: string }>();
    expect(created.headers['location']).toBe(`/users/${user.id}`);
    expect(user.status).toBe('active');

    expect((await get(`/users/${user.id}`)).json()).toEqual(user);

    for (let i = 0; i < 3; i++) await post('/users', { name: `Pager ${i}`, email: email() });
    const first = (await get('/users?limit=2')).json<{
      items: { id: string }[];
      nextCursor: string;
    }>();
    expect(first.items).toHaveLength(2);
    const second = (await get(`/users?limit=2&cursor=${first.nextCursor}`)).json<{
      items: { id: string }[];
    }>();
    expect(second.items.map((u) => u.id)).not.toContain(first.items[0]?.id);

    const deactivated = await post(`/users/${user.id}/deactivate`);
    expect(deactivated.json()).toMatchObject({ id: user.id, status: 'inactive' });
    expect((await post(`/users/${user.id}/deactivate`)).statusCode).toBe(200);
  });

  it('serves its OpenAPI document with every route', async () => {
    const docs = (await get('/docs/json')).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(docs.paths)).toEqual(
      expect.arrayContaining(['/users', '/users/{id}', '/users/{id}/deactivate']),
    );
  });
});

describe('bad input gets a 4xx problem and writes nothing', () => {
  const taken = `taken-${Date.now()}@example.com`;
  beforeAll(async () => {
    expect((await post('/users', { name: 'First', email: taken })).statusCode).toBe(201);
  });

  it.each<
    [
      string,
      () => Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }>,
      number,
      RegExp,
    ]
  >([
    ['a wrong type', () => post('/users', { name: 42, email: email() }), 400, /body\.name/],
    ['a missing field', () => post('/users', { name: 'No Mail' }), 400, /body\.email is required/],
    [
      'an unknown field',
      () => post('/users', { name: 'x', email: email(), admin: true }),
      400,
      /body\.admin is not a known field/,
    ],
    [
      'an email that is not one',
      () => post('/users', { name: 'x', email: 'not-an-email' }),
      400,
      /email/,
    ],
    ['an empty name', () => post('/users', { name: '', email: email() }), 400, /body\.name/],
    [
      'a blank name',
      () => post('/users', { name: '   ', email: email() }),
      400,
      /name must be 1-100 characters/,
    ],
    [
      'an oversized body',
      () => post('/users', { name: 'x'.repeat(70_000), email: email() }),
      413,
      /too large/i,
    ],
    [
      'malformed JSON',
      () =>
        app.inject({
          method: 'POST',
          url: '/users',
          payload: '{"name":',
          headers: { 'content-type': 'application/json' },
        }),
      400,
      /JSON/,
    ],
    [
      'a duplicate email',
      () => post('/users', { name: 'Second', email: taken.toUpperCase() }),
      409,
      /already exists/,
    ],
    ['a malformed id', () => get('/users/not-a-uuid'), 400, /params\.id/],
    ['an unknown id', () => get('/users/00000000-0000-4000-8000-000000000000'), 404, /not found/],
    [
      'an unknown id to deactivate',
      () => post('/users/00000000-0000-4000-8000-000000000000/deactivate'),
      404,
      /not found/,
    ],
    ['a bad limit', () => get('/users?limit=1000'), 400, /limit/],
    ['a forged cursor', () => get('/users?cursor=Zm9v'), 400, /cursor/],
  ])('%s', async (_label, send, statusCode, detail) => {
    const before = await counts();
    const response = await send();
    expect(response.statusCode).toBe(statusCode);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatch(detail);
    expect(await counts()).toEqual(before);
  });
});

describe('gRPC user.v1.UserService', () => {
  it('creates, gets and validates users', async () => {
    const { user } = await rpc.createUser({ name: 'Grace Hopper', email: email() });
    expect(user?.status).toBe(UserStatus.USER_STATUS_ACTIVE);
    const fetched = await rpc.getUser({ userId: user?.id ?? '' });
    expect(fetched.user?.email).toBe(user?.email);
    expect(await rpc.validateUser({ userId: user?.id ?? '' })).toEqual({
      valid: true,
      userName: 'Grace Hopper',
      errorMessage: '',
    });
    await rpc.deactivateUser({ userId: user?.id ?? '' });
    expect(await rpc.validateUser({ userId: user?.id ?? '' })).toMatchObject({
      valid: false,
      errorMessage: expect.stringMatching(/inactive/) as unknown,
    });
  });

  it('says valid: false for an unknown user, with the reason', async () => {
    const answer = await rpc.validateUser({ userId: '00000000-0000-4000-8000-000000000000' });
    expect(answer).toEqual({
      valid: false,
      userName: '',
      errorMessage: 'user 00000000-0000-4000-8000-000000000000 not found',
    });
  });

  it.each<[string, () => Promise<unknown>, status, RegExp]>([
    [
      'NOT_FOUND for an unknown id',
      () => rpc.getUser({ userId: '00000000-0000-4000-8000-000000000000' }),
      status.NOT_FOUND,
      /not found/,
    ],
    [
      'INVALID_ARGUMENT for a malformed id',
      () => rpc.getUser({ userId: 'x' }),
      status.INVALID_ARGUMENT,
      /id must be a UUID/,
    ],
    [
      'INVALID_ARGUMENT for a bad email',
      () => rpc.createUser({ name: 'x', email: 'nope' }),
      status.INVALID_ARGUMENT,
      /email must be an email address/,
    ],
    [
      'INVALID_ARGUMENT for a malformed id to validate',
      () => rpc.validateUser({ userId: '' }),
      status.INVALID_ARGUMENT,
      /user_id must be a UUID/,
    ],
  ])('%s', async (_label, send, code, details) => {
    const error = (await send().then(
      () => undefined,
      (e: unknown) => e,
    )) as ServiceError | undefined;
    expect(error?.code).toBe(code);
    expect(error?.details).toMatch(details);
  });
});

describe('user events', () => {
  it('publishes user.registered.v1 and user.deactivated.v1 to users, valid and keyed by the user id', async () => {
    const created = (await post('/users', { name: 'Event Person', email: email() })).json<{
      id: string;
    }>();
    await post(`/users/${created.id}/deactivate`);
    const mine = await waitFor(
      () => {
        const found = events.filter((e) => e.subject === created.id);
        return found.length >= 2 ? found : undefined;
      },
      { timeoutMs: 20_000, message: 'both events on the users topic' },
    );
    expect(mine.map((e) => e.type)).toEqual(['user.registered.v1', 'user.deactivated.v1']);
    expect(mine[0]).toMatchObject({
      source: '/user-service',
      data: { userId: created.id, name: 'Event Person' },
    });
    // Kafka may deliver before the relay has committed "published"; wait for it.
    await waitFor(async () => ((await relay.backlog()).rows === 0 ? true : undefined), {
      message: 'rows still marked unpublished',
    });
  });
});
