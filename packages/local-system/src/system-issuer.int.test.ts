import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireSharedInfra, signInAsUser } from '@comms/infra';
import type { SharedInfra } from '@comms/infra';
import { startSystem } from './system.js';
import type { RunningSystem } from './system.js';

/** npm start's system brings the local token issuer up with the services and takes it down with them. */

let shared: SharedInfra;
let system: RunningSystem | undefined;
const log: string[] = [];

beforeAll(async () => {
  shared = await acquireSharedInfra();
  system = await startSystem({
    ports: 'random',
    infraEnv: { DATABASE_URL: shared.databaseUrl, KAFKA_BROKERS: shared.kafkaBrokers },
    log: (line) => log.push(line),
  });
}, 180_000);
afterAll(async () => {
  await system?.stop();
  await shared?.release();
});

const discovery = async (url: string) =>
  (await fetch(`${url}/.well-known/openid-configuration`).catch(() => undefined))?.status;

describe('the local system and its token issuer', () => {
  it('runs the issuer beside the services, signs a user in, and stops it with the system', async () => {
    const running = system;
    if (running === undefined) throw new Error('the system did not start');
    const { url } = running.issuer;
    expect(log).toContain(`token issuer ready at ${url} (oidc-provider)`);
    expect(await discovery(url)).toBe(200);
    const { accessToken } = await signInAsUser({ issuerUrl: url, userId: 'user-1' });
    expect(accessToken.split('.')).toHaveLength(3);

    await running.stop();
    system = undefined;
    expect(await discovery(url)).toBeUndefined();
  });
});
