import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '@comms/auth';
import { acquireSharedInfra } from '@comms/infra';
import type { SharedInfra } from '@comms/infra';
import { startSystem } from './system.js';
import type { RunningSystem } from './system.js';

/**
 * npm start's system brings the local token issuer up with the services,
 * the services require its tokens, and the issuer goes down with them.
 * curl plays the outside client, as the README's walkthrough does.
 */

let shared: SharedInfra;
let system: RunningSystem | undefined;
const log: string[] = [];

beforeAll(async () => {
  shared = await acquireSharedInfra();
  system = await startSystem({
    ports: 'random',
    // The default, spelled out: this file is about identity being on.
    auth: true,
    infraEnv: { DATABASE_URL: shared.databaseUrl, KAFKA_BROKERS: shared.kafkaBrokers },
    log: (line) => log.push(line),
  });
}, 180_000);
afterAll(async () => {
  await system?.stop();
  await shared?.release();
});

const running = (): RunningSystem => {
  if (system === undefined) throw new Error('the system did not start');
  return system;
};

/** curl's status line, headers and body for one request. */
async function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await promisify(execFile)('curl', [
    '--silent',
    '--show-error',
    '--max-time',
    '10',
    '--include',
    ...args,
  ]);
  const at = stdout.indexOf('\r\n\r\n');
  const headers = stdout.slice(0, at);
  return {
    status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(headers)?.[1]),
    headers,
    body: stdout.slice(at + 4),
  };
}

describe('the local system with identity on', () => {
  it('refuses curl without a token with 401 and a challenge, and serves it with one', async () => {
    const { services, tokens } = running();
    const orders = services['order-service'].http;
    const refused = await curl([`${orders}/orders?userId=anyone`]);
    expect(refused.status).toBe(401);
    expect(refused.headers).toMatch(/^www-authenticate: Bearer /im);
    expect(JSON.parse(refused.body)).toMatchObject({ status: 401 });
    // user-service refuses a caller without its own token too.
    expect((await curl([`${services['user-service'].http}/users?limit=1`])).status).toBe(401);

    // A back office registers the user (a service token); the user places an order as themself.
    const registered = await fetch(`${services['user-service'].http}/users`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...bearer(await tokens.service('tools', 'user-service')),
      },
      body: JSON.stringify({ name: 'Curl User', email: `curl-${Date.now()}@example.com` }),
    });
    expect(registered.status).toBe(201);
    const { id } = (await registered.json()) as { id: string };
    const placed = await curl([
      '-X',
      'POST',
      '-H',
      'content-type: application/json',
      '-H',
      `authorization: Bearer ${await tokens.user(id)}`,
      '--data',
      JSON.stringify({ userId: id, items: [{ productId: 'p-1', quantity: 1, price: '2.50' }] }),
      `${orders}/orders`,
    ]);
    expect(placed.status).toBe(201);
    expect(JSON.parse(placed.body)).toMatchObject({ status: 'CREATED', totalAmount: '2.50' });
  });

  it("runs the README's token walkthrough as written, with bash, curl and comms-infra token", async () => {
    const { services, issuer } = running();
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const readme = await readFile(`${root}README.md`, 'utf8');
    const marker = readme.indexOf('<!-- walkthrough:');
    const start = readme.indexOf('```sh\n', marker) + '```sh\n'.length;
    const block = readme.slice(start, readme.indexOf('```', start));
    expect(marker).toBeGreaterThan(0);
    expect(block).toMatch(/npm run -s token -- --client tools/);
    // Only the addresses differ from npm start's (random ports here), and the email is new per run.
    const script = block
      .replaceAll('localhost:8081', services['user-service'].http.replace('http://', ''))
      .replaceAll('localhost:8082', services['order-service'].http.replace('http://', ''))
      .replaceAll('npm run -s token --', `npm run -s token -- --issuer ${issuer.url}`)
      .replaceAll('ada@example.com', `ada.${String(Date.now())}@example.com`);
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: root,
      timeout: 60_000,
    });
    // pay, ship and the history, as curl printed them.
    expect(stdout).toMatch(/"status":"PAID"/);
    expect(stdout).toMatch(/"status":"SHIPPED"/);
    // The last answer is the history: {"orderId":...,"events":[...]}.
    const history = JSON.parse(stdout.slice(stdout.lastIndexOf('{"orderId"'))) as {
      events: { type: string; actor: string | null }[];
    };
    expect(history.events.map((e) => [e.type, e.actor?.split(':')[0]])).toEqual([
      ['order.created.v1', 'user'],
      ['order.paid.v1', 'user'],
      ['order.shipped.v1', 'user'],
    ]);
    expect(history.events[2]?.actor).toBe('user:operator');
  });

  it('runs the issuer beside the services and stops it with the system', async () => {
    const { issuer } = running();
    expect(log).toContain(`token issuer ready at ${issuer.url} (oidc-provider)`);
    const discovery = async () =>
      (await fetch(`${issuer.url}/.well-known/openid-configuration`).catch(() => undefined))
        ?.status;
    expect(await discovery()).toBe(200);
    await running().stop();
    system = undefined;
    expect(await discovery()).toBeUndefined();
  });
});
