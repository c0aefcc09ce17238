import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient } from './token-client.js';

// What the token client sends to the token endpoint, per issuer profile. The endpoint here only
// records the form and answers like Cognito's /oauth2/token would (Cognito is not reachable from
// here); token-client.int.test.ts runs against the real local issuer.

const forms: URLSearchParams[] = [];
let tokenUrl: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      forms.push(new URLSearchParams(body));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          access_token: `token-${String(forms.length)}`,
          expires_in: 3600,
          token_type: 'Bearer',
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/oauth2/token`;
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
});
afterAll(async () => {
  await close();
});

const USERS = 'urn:comms:user-service';

describe('token requests per profile', () => {
  it('rfc9068: names the callee by its resource indicator', async () => {
    forms.length = 0;
    const client = createTokenClient({ tokenUrl, clientId: 'order-service', clientSecret: 's' });
    await client.getToken(USERS);
    expect(Object.fromEntries(forms[0] ?? [])).toEqual({
      grant_type: 'client_credentials',
      resource: USERS,
    });
  });

  it('cognito: asks for the callee’s scope instead (no resource), one token per callee', async () => {
    forms.length = 0;
    const client = createTokenClient({
      tokenUrl,
      clientId: 'order-service',
      clientSecret: 's',
      profile: 'cognito',
      scopes: { [USERS]: `${USERS}/users` },
    });
    await expect(client.getToken(USERS)).resolves.toBe('token-1');
    await expect(client.getToken(USERS)).resolves.toBe('token-1');
    expect(forms.map((form) => Object.fromEntries(form))).toEqual([
      { grant_type: 'client_credentials', scope: `${USERS}/users` },
    ]);
    await expect(client.getToken('urn:comms:order-service')).rejects.toThrow(
      /no scope configured for urn:comms:order-service: the cognito profile asks for a callee's scope/,
    );
  });
});
