import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { createOrderGrpc } from './upstream.js';

describe('the console outside npm start', () => {
  let app: HttpApp;
  const grpc = createOrderGrpc('127.0.0.1:1');
  beforeAll(async () => {
    app = await buildApp({
      config: loadConfig({}),
      grpc,
      spans: undefined,
      logger: createLogger('console', 'silent'),
      readiness: {},
    });
  });
  afterAll(async () => {
    await app.close();
    grpc.close();
  });

  it('refuses fault actions, saying they need npm start, and shows the panel as unavailable', async () => {
    const refused = await app.inject({ method: 'POST', url: '/api/faults/user-service/stop' });
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json<{ detail: string }>().detail).toContain(
      'only available when the system runs under npm start',
    );
    const panel = await app.inject({ method: 'GET', url: '/api/faults' });
    expect(panel.json()).toMatchObject({ available: false });
  });

  it('serves the page under a policy that allows nothing from outside its origin', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>comms console</title>');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await app.inject({ method: 'GET', url: '/static/console.js' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/static/..%2Fapp.js' })).statusCode).toBe(404);
  });

  it('answers 503 naming the token issuer when it gives no token, and sends nothing on without one', async () => {
    // Port 1: nothing listens there, so the issuer never answers.
    const withIssuer = await buildApp({
      config: loadConfig({ AUTH_ISSUER_URL: 'http://127.0.0.1:1', UPSTREAM_TIMEOUT_MS: '1000' }),
      grpc,
      spans: undefined,
      logger: createLogger('console', 'silent'),
      readiness: {},
    });
    try {
      const info = await withIssuer.inject({ method: 'GET', url: '/api/info' });
      expect(info.json()).toMatchObject({ tokenIssuer: 'http://127.0.0.1:1' });
      const refused = await withIssuer.inject({
        method: 'POST',
        url: '/api/users',
        payload: { name: 'Ada', email: 'ada@example.com' },
      });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.json<{ detail: string }>().detail).toContain(
        'the token issuer at http://127.0.0.1:1 gave no token for the console (its own token for user-service)',
      );
    } finally {
      await withIssuer.close();
    }
    expect((await app.inject({ method: 'GET', url: '/api/info' })).json()).toMatchObject({
      tokenIssuer: null,
    });
  });
});
