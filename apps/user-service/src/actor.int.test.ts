import { credentials, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '@comms/contracts';
import { UserServiceClient } from '@comms/contracts/grpc';
import type { CreateUserResponse, DeactivateUserResponse } from '@comms/contracts/grpc';
import { bearer, localTokens } from '@comms/auth';
import type { LocalTokens } from '@comms/auth';
import { startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { createTestDatabase, testInfra, uniqueName, watchEvents } from '@comms/testing';
import type { PublishedEvent, TestDatabase, WatchedEvents } from '@comms/testing';
import { loadConfig } from './config.js';
import { startUserService } from './main.js';

// Who caused each user event: the calling service's own identity, as the
// CloudEvents `actor` attribute, read back off the real `users` topic. One
// user-service with caller auth (AUTH_ISSUER_URL, the default AUTH_CALLERS),
// one without; real issuer, PostgreSQL and Kafka.

type UserService = Awaited<ReturnType<typeof startUserService>>;

let issuer: RunningTokenIssuer;
let tokens: LocalTokens;
const databases: TestDatabase[] = [];
let secured: UserService;
let open: UserService;
let watched: WatchedEvents;

async function start(name: string, auth: boolean): Promise<UserService> {
  const { kafkaBrokers, kafkaClient } = testInfra();
  const db = await createTestDatabase(name);
  databases.push(db);
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_CLIENT: kafkaClient,
    LOG_LEVEL: 'silent',
    OUTBOX_POLL_MS: '20',
    ...(auth ? { AUTH_ISSUER_URL: issuer.url } : {}),
  });
  return startUserService({ ...config, PORT: 0, GRPC_PORT: 0 });
}

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random' });
  tokens = localTokens({ issuerUrl: issuer.url });
  [secured, open] = await Promise.all([
    start('actor_users', true),
    start('actor_users_open', false),
  ]);
  watched = await watchEvents(TOPICS.users, { partitions: 3 });
}, 90_000);

afterAll(async () => {
  await watched?.close();
  await secured?.stop();
  await open?.stop();
  await issuer?.stop();
  for (const db of databases) await db.drop();
});

/** A service client's own token for user-service. */
const tokenOf = (clientId: 'tools' | 'console') => tokens.service(clientId, 'user-service');

/** The user's two events (registered, deactivated) as they reached the users topic. */
const onKafka = (userId: string) => watched.ofSubject(userId, 2);

/** Registers and deactivates a user over REST; its id. */
async function overRest(service: UserService, token: string | undefined): Promise<string> {
  const headers = token === undefined ? {} : bearer(token);
  const created = await service.app.inject({
    method: 'POST',
    url: '/users',
    headers,
    payload: { name: 'Ada', email: `${uniqueName('ada')}@example.com` },
  });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json<{ id: string }>().id;
  const deactivated = await service.app.inject({
    method: 'POST',
    url: `/users/${id}/deactivate`,
    headers,
  });
  expect(deactivated.statusCode, deactivated.body).toBe(200);
  return id;
}

/** Registers and deactivates a user over gRPC (CreateUser, DeactivateUser); its id. */
async function overGrpc(service: UserService, token: string | undefined): Promise<string> {
  const client = new UserServiceClient(service.grpc?.address ?? '', credentials.createInsecure());
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', bearer(token).authorization);
  try {
    const created = await new Promise<CreateUserResponse>((resolve, reject) =>
      client.createUser(
        { name: 'Grace', email: `${uniqueName('grace')}@example.com` },
        metadata,
        (e: ServiceError | null, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    const id = created.user?.id ?? '';
    await new Promise<DeactivateUserResponse>((resolve, reject) =>
      client.deactivateUser({ userId: id }, metadata, (e: ServiceError | null, r) =>
        e ? reject(e) : resolve(r),
      ),
    );
    return id;
  } finally {
    client.close();
  }
}

const typesAndActors = (published: readonly PublishedEvent[]) =>
  published.map((p) => ({ type: p.event.type, actor: p.event.actor }));

describe('with caller auth on, each user event names the calling service', () => {
  it('REST: the back office (tools) registering and deactivating is service:tools', async () => {
    const token = await tokenOf('tools');
    const events = await onKafka(await overRest(secured, token));
    expect(typesAndActors(events)).toEqual([
      { type: 'user.registered.v1', actor: 'service:tools' },
      { type: 'user.deactivated.v1', actor: 'service:tools' },
    ]);
    // Who, never how: no token travels with the event.
    for (const p of events) expect(p.value).not.toContain(token.split('.')[2]);
  });

  it('gRPC: the console registering and deactivating is service:console', async () => {
    const events = await onKafka(await overGrpc(secured, await tokenOf('console')));
    expect(typesAndActors(events)).toEqual([
      { type: 'user.registered.v1', actor: 'service:console' },
      { type: 'user.deactivated.v1', actor: 'service:console' },
    ]);
  });
});

describe('with caller auth off, user events name nobody', () => {
  it.each([
    ['REST', overRest],
    ['gRPC', overGrpc],
  ] as const)('%s: no actor attribute at all', async (_transport, change) => {
    const events = await onKafka(await change(open, undefined));
    expect(events.map((p) => p.event.type)).toEqual(['user.registered.v1', 'user.deactivated.v1']);
    for (const p of events) {
      expect(p.event).not.toHaveProperty('actor');
      expect(JSON.parse(p.value)).not.toHaveProperty('actor');
    }
  });
});
