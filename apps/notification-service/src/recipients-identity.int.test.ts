import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient, credentialFor } from '@comms/auth';
import { RESOURCES, SERVICE_CLIENTS, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { createPool, migrate } from '@comms/postgres';
import type { Pool } from '@comms/postgres';
import { createTestDatabase, startUserServiceProcess } from '@comms/testing';
import type { TestDatabase, TestUserService } from '@comms/testing';
import { MIGRATIONS } from './migrations.js';
import { createRecipients, RecipientUnknown } from './recipients.js';

// Service identity: the contact lookup against a user-service that accepts only notification-service.

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');
const USERS = RESOURCES['user-service'];
const SECRET = SERVICE_CLIENTS.find((c) => c.clientId === 'notification-service')?.clientSecret;

let issuer: RunningTokenIssuer;
let db: TestDatabase;
let pool: Pool;
let userService: TestUserService;
let userHttp: string;

const tokens = () =>
  createTokenClient({
    tokenUrl: `${issuer.url}/token`,
    clientId: 'notification-service',
    clientSecret: SECRET ?? '',
  });

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random' });
  db = await createTestDatabase('recipients');
  pool = createPool({ url: db.url, max: 2 });
  await migrate(pool, MIGRATIONS);
  userService = await startUserServiceProcess({
    entry: USER_SERVICE,
    database: 'recipients_users',
    env: { AUTH_ISSUER_URL: issuer.url, AUTH_CALLERS: 'notification-service' },
  });
  userHttp = userService.httpUrl;
}, 90_000);

afterAll(async () => {
  await userService?.stop();
  await issuer?.stop();
  await pool?.end();
  await db?.drop();
});

async function newUser(): Promise<{ id: string; email: string }> {
  return userService.register('Grace', { token: await tokens().getToken(USERS) });
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
