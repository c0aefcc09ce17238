import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient, credentialFor } from '@comms/auth';
import { findFreePort, RESOURCES, SERVICE_CLIENTS, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { createPool, migrate } from '@comms/postgres';
import type { Pool } from '@comms/postgres';
import { createTestDatabase, startServiceProcess, testInfra, uniqueName } from '@comms/testing';
import type { ServiceProcess, TestDatabase } from '@comms/testing';
import { MIGRATIONS } from './migrations.js';
import { createRecipients, RecipientUnknown } from './recipients.js';

// Service identity: the contact lookup against a user-service that accepts only notification-service.

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');
const USERS = RESOURCES['user-service'];
const SECRET = SERVICE_CLIENTS.find((c) => c.clientId === 'notification-service')?.clientSecret;

let issuer: RunningTokenIssuer;
let usersDb: TestDatabase;
let db: TestDatabase;
let pool: Pool;
let userService: ServiceProcess;
let userHttp: string;

const tokens = () =>
  createTokenClient({
    tokenUrl: `${issuer.url}/token`,
    clientId: 'notification-service',
    clientSecret: SECRET ?? '',
  });

beforeAll(async () => {
  const { kafkaBrokers, kafkaClient } = testInfra();
  issuer = await startTokenIssuer({ port: 'random' });
  usersDb = await createTestDatabase('recipients_users');
  db = await createTestDatabase('recipients');
  pool = createPool({ url: db.url, max: 2 });
  await migrate(pool, MIGRATIONS);
  const [httpPort, grpcPort] = [await findFreePort(), await findFreePort()];
  userHttp = `http://127.0.0.1:${httpPort}`;
  userService = await startServiceProcess({
    entry: USER_SERVICE,
    env: {
      HOST: '127.0.0.1',
      PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      DATABASE_URL: usersDb.url,
      KAFKA_BROKERS: kafkaBrokers,
      KAFKA_CLIENT: kafkaClient,
      LOG_LEVEL: 'warn',
      AUTH_ISSUER_URL: issuer.url,
      AUTH_CALLERS: 'notification-service',
    },
    healthUrl: `${userHttp}/healthz`,
  });
}, 90_000);

afterAll(async () => {
  await userService?.stop();
  await issuer?.stop();
  await pool?.end();
  await db?.drop();
  await usersDb?.drop();
});

async function newUser(): Promise<{ id: string; email: string }> {
  const email = `${uniqueName('reader')}@example.com`;
  const response = await fetch(`${userHttp}/users`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await tokens().getToken(USERS)}`,
    },
    body: JSON.stringify({ name: 'Grace', email }),
  });
  expect(response.status).toBe(201);
  return { id: ((await response.json()) as { id: string }).id, email };
}

describe('contact lookup with service identity', () => {
  it('asks user-service with its own token and keeps the contact', async () => {
    const user = await newUser();
    const recipients = createRecipients({
      pool,
      userServiceUrl: userHttp,
      timeoutMs: 5_000,
      credential: credentialFor(tokens(), USERS),
    });
    await expect(recipients.find(user.id)).resolves.toEqual({
      userId: user.id,
      name: 'Grace',
      email: user.email,
    });
  });

  it('without a credential the event waits (RecipientUnknown naming the 401), nothing is kept', async () => {
    const user = await newUser();
    const recipients = createRecipients({ pool, userServiceUrl: userHttp, timeoutMs: 5_000 });
    const error = await recipients.find(user.id).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RecipientUnknown);
    expect((error as Error).message).toMatch(/user-service answered 401/);
    const kept = await pool.query('SELECT 1 FROM user_contacts WHERE user_id = $1', [user.id]);
    expect(kept.rowCount).toBe(0);
  });
});
