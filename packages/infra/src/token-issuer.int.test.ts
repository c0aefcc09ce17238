import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './process-util.js';
import { RESOURCES, SERVICE_CLIENTS, signInAsUser } from '@comms/identity';
import { startTokenIssuer } from './token-issuer-process.js';
import type { RunningTokenIssuer } from './token-issuer-process.js';

let issuer: RunningTokenIssuer;

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random', operators: ['ops-1'] });
}, 30_000);
afterAll(async () => {
  await issuer?.stop();
});

const decode = (jwt: string, part: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[part] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;

async function clientCredentials(clientId: string, secret: string, resource: string) {
  const response = await fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('local token issuer', () => {
  it('signs a user in and issues a JWT access token for order-service whose sub is the user id', async () => {
    const token = await signInAsUser({ issuerUrl: issuer.url, userId: 'user-42' });
    const jwks = (await (await fetch(`${issuer.url}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(decode(token.accessToken, 0)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    expect(jwks.keys.map((key) => key.kid)).toContain(decode(token.accessToken, 0)['kid']);
    expect(decode(token.accessToken, 1)).toMatchObject({
      iss: issuer.url,
      sub: 'user-42',
      aud: RESOURCES['order-service'],
      client_id: 'comms-cli',
      roles: [],
    });
  });

  it('gives the operator role to the configured operators only', async () => {
    const token = await signInAsUser({ issuerUrl: issuer.url, userId: 'ops-1' });
    expect(decode(token.accessToken, 1)['roles']).toEqual(['operator']);
  });

  it('issues each service a token for each of its callees, one audience per token', async () => {
    for (const client of SERVICE_CLIENTS) {
      for (const callee of client.callees) {
        const { status, body } = await clientCredentials(
          client.clientId,
          client.clientSecret,
          RESOURCES[callee],
        );
        expect(status, `${client.clientId} -> ${callee}`).toBe(200);
        expect(decode(String(body['access_token']), 1)).toMatchObject({
          sub: client.clientId,
          client_id: client.clientId,
          aud: RESOURCES[callee],
        });
      }
    }
  });

  it('refuses a service a token for an API it does not call, and a wrong secret', async () => {
    const orderService = SERVICE_CLIENTS.find((client) => client.clientId === 'order-service');
    expect(orderService).toBeDefined();
    const other = await clientCredentials(
      'order-service',
      orderService?.clientSecret ?? '',
      RESOURCES['order-service'],
    );
    expect(other).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
    const wrongSecret = await clientCredentials(
      'order-service',
      'guess',
      RESOURCES['user-service'],
    );
    expect(wrongSecret).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  it('refuses a sign-in with a user id the form does not accept', async () => {
    await expect(signInAsUser({ issuerUrl: issuer.url, userId: 'a b<script>' })).rejects.toThrow(
      /login must be/,
    );
  });

  it('prints a user token from the command line (comms-infra token), and says what is wrong', async () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const ok = await run(process.execPath, [
      cli,
      'token',
      '--user',
      'user-7',
      '--issuer',
      issuer.url,
    ]);
    expect(ok.code).toBe(0);
    // Only the token, so $(comms-infra token ...) can go straight into a header.
    expect(ok.output).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(decode(ok.output.trim(), 1)).toMatchObject({
      sub: 'user-7',
      aud: RESOURCES['order-service'],
    });
    const bad = await run(process.execPath, [cli, 'token', '--user', 'u', '--api', 'user-service']);
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/--api must be one of order-service/);
  });

  it("prints a service client's own token from the command line (comms-infra token --client)", async () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const ok = await run(process.execPath, [
      cli,
      'token',
      '--client',
      'tools',
      '--api',
      'user-service',
      '--issuer',
      issuer.url,
    ]);
    expect(ok.code).toBe(0);
    expect(ok.output).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(decode(ok.output.trim(), 1)).toMatchObject({
      client_id: 'tools',
      aud: RESOURCES['user-service'],
    });
    const unknown = await run(process.execPath, [cli, 'token', '--client', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/--client must be one of .*tools/);
    const notItsCallee = await run(process.execPath, [
      cli,
      'token',
      '--client',
      'tools',
      '--api',
      'order-service',
    ]);
    expect(notItsCallee.code).toBe(1);
    expect(notItsCallee.output).toMatch(
      /--api must be one of user-service \(what client tools calls\)/,
    );
  });
});
