import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCES, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import { localTokens } from './local-tokens.js';
import { createTokenVerifier } from './verifier.js';

let issuer: RunningTokenIssuer;
beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random', operators: ['ops-9'] });
}, 30_000);
afterAll(async () => {
  await issuer?.stop();
});

const verifierFor = (api: keyof typeof RESOURCES) =>
  createTokenVerifier({ issuer: issuer.url, audience: RESOURCES[api] });

describe("local tokens (the repository's own clients)", () => {
  it('signs a user in and gets a token the API accepts as that user, reused while it is fresh', async () => {
    const tokens = localTokens({ issuerUrl: issuer.url });
    const token = await tokens.user('u-local-1');
    const principal = await verifierFor('order-service').authenticate(`Bearer ${token}`);
    expect(principal).toMatchObject({ kind: 'user', subject: 'u-local-1', roles: [] });
    expect(await tokens.user('u-local-1')).toBe(token);
    // End users never get tokens for user-service: the issuer's refusal is named.
    await expect(tokens.user('u-local-1', 'user-service')).rejects.toThrow(
      /refused to sign u-local-1 in for user-service: invalid_target/,
    );
  });

  it("gives an operator's token the operator role", async () => {
    const token = await localTokens({ issuerUrl: issuer.url }).user('ops-9');
    const principal = await verifierFor('order-service').authenticate(`Bearer ${token}`);
    expect(principal?.roles).toEqual(['operator']);
  });

  it("gets a service client's token for its callee, and names the clients when one is unknown", async () => {
    const tokens = localTokens({ issuerUrl: issuer.url });
    const token = await tokens.service('tools', 'user-service');
    const principal = await verifierFor('user-service').authenticate(`Bearer ${token}`);
    expect(principal).toMatchObject({ kind: 'service', subject: 'tools' });
    await expect(tokens.service('nobody', 'user-service')).rejects.toThrow(
      /no client 'nobody'; it knows .*tools/,
    );
  });
});
