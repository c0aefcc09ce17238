import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCES, SERVICE_CLIENTS, signInAsUser } from '@comms/identity';
import { findFreePort } from './process-util.js';
import { createTokenIssuer } from './token-issuer.js';
import type { TokenIssuer } from './token-issuer.js';

// docker compose runs the issuer as http://token-issuer:8084 and publishes it on the host's
// 127.0.0.1:8084. What docker-compose.yml promises: a token fetched through the published port
// still carries the compose name as iss, the one the services expect. Here: the same issuer
// identifier, reached on loopback (no container runtime on this machine).

const COMPOSE_ISSUER = 'http://token-issuer:8084';
let issuer: TokenIssuer;
let reachedAt: string;

beforeAll(async () => {
  const port = await findFreePort();
  issuer = await createTokenIssuer({
    port,
    issuerUrl: COMPOSE_ISSUER,
    operators: ['operator'],
    accessTokenTtlSeconds: 300,
  });
  reachedAt = `http://127.0.0.1:${String(port)}`;
});
afterAll(async () => {
  await issuer?.close();
});

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;

describe('the issuer under its compose name, reached through another address', () => {
  it('signs a user in through the published port, and the token’s iss is the compose name', async () => {
    const { accessToken } = await signInAsUser({ issuerUrl: reachedAt, userId: 'ada' });
    expect(claimsOf(accessToken)).toMatchObject({
      iss: COMPOSE_ISSUER,
      sub: 'ada',
      aud: RESOURCES['order-service'],
    });
  });

  it('gives a service its client-credentials token with the same iss and the service marker', async () => {
    const client = SERVICE_CLIENTS.find((c) => c.clientId === 'order-service');
    const response = await fetch(`${reachedAt}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`order-service:${client?.clientSecret ?? ''}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        resource: RESOURCES['user-service'],
      }).toString(),
    });
    const body = (await response.json()) as { access_token: string };
    expect(claimsOf(body.access_token)).toMatchObject({
      iss: COMPOSE_ISSUER,
      sub: 'order-service',
      client_id: 'order-service',
      gty: 'client_credentials',
    });
  });
});
