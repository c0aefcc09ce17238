import Type from 'typebox';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseEnv } from './config.js';
import { AppError, toGrpcError } from './errors.js';
import { BEARER_SECURITY, createHttpApp, ProblemSchema } from './http.js';

async function app(ready = true) {
  const http = await createHttpApp({
    title: 'test',
    logger: pino({ level: 'silent' }),
    readiness: { db: () => (ready ? Promise.resolve() : Promise.reject(new Error('db down'))) },
    bodyLimit: 1024,
  });
  http.post(
    '/things',
    {
      schema: {
        body: Type.Object(
          { name: Type.String({ minLength: 1 }), count: Type.Integer() },
          { additionalProperties: false },
        ),
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1 })) }),
      },
    },
    (request) => ({ ...request.body, limit: request.query.limit ?? null }),
  );
  http.get('/boom', () => {
    throw new Error('SELECT secret FROM users');
  });
  http.get('/db-away', () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  });
  http.get('/missing', () => {
    throw new AppError('NOT_FOUND', 'thing 7 not found');
  });
  await http.ready();
  return http;
}

describe('HTTP conventions', () => {
  it('sends protective headers with every answer, errors included', async () => {
    const http = await app();
    for (const url of ['/healthz', '/boom', '/nowhere']) {
      const response = await http.inject({ method: 'GET', url });
      expect(response.headers, url).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      });
    }
    // The OpenAPI UI loads its own scripts, so it keeps the browser's default policy.
    const docs = await http.inject({ method: 'GET', url: '/docs/json' });
    expect(docs.headers['content-security-policy']).toBeUndefined();
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
  });

  it('limits requests per client when asked, with a 429 problem and Retry-After; probes are never limited', async () => {
    const http = await createHttpApp({
      title: 'test',
      logger: pino({ level: 'silent' }),
      readiness: {},
      rateLimitPerMinute: 3,
    });
    http.get('/things', () => ({ ok: true }));
    await http.ready();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await http.inject({ method: 'GET', url: '/things' })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await http.inject({ method: 'GET', url: '/things' });
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.json()).toMatchObject({ status: 429, code: 'RESOURCE_EXHAUSTED' });
    // Another client has its own budget, and probes pass whatever the count.
    const other = await http.inject({ method: 'GET', url: '/things', remoteAddress: '10.0.0.2' });
    expect(other.statusCode).toBe(200);
    expect((await http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('answers /metrics with a 404 problem when no telemetry runs in the process', async () => {
    const response = await (await app()).inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it.each([
    ['a wrong type', { name: 'a', count: '3' }, 'body.count must be integer'],
    ['a missing field', { name: 'a' }, 'body.count is required'],
    ['an unknown field', { name: 'a', count: 1, admin: true }, 'body.admin is not a known field'],
  ])('answers %s with a 400 problem naming the field', async (_label, payload, detail) => {
    const response = await (await app()).inject({ method: 'POST', url: '/things', payload });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', detail });
  });

  it('coerces query parameters but not bodies', async () => {
    const response = await (
      await app()
    ).inject({
      method: 'POST',
      url: '/things?limit=5',
      payload: { name: 'a', count: 2 },
    });
    expect(response.json()).toEqual({ name: 'a', count: 2, limit: 5 });
  });

  it.each([
    [
      'malformed JSON',
      { payload: '{"name":', headers: { 'content-type': 'application/json' } },
      400,
    ],
    ['an oversized body', { payload: { name: 'x'.repeat(5000), count: 1 } }, 413],
    [
      'an unsupported media type',
      { payload: 'name=a', headers: { 'content-type': 'text/csv' } },
      415,
    ],
  ])('answers %s with a 4xx problem', async (_label, request, status) => {
    const response = await (await app()).inject({ method: 'POST', url: '/things', ...request });
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('hides internals of unexpected errors', async () => {
    const response = await (await app()).inject({ method: 'GET', url: '/boom' });
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toMatch(/SELECT|secret|at /);
    expect(response.json()).toMatchObject({ code: 'INTERNAL', detail: 'internal error' });
  });

  it('answers 503 with Retry-After when the database is away, without its address', async () => {
    const response = await (await app()).inject({ method: 'GET', url: '/db-away' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body).not.toMatch(/ECONNREFUSED|5432/);
    expect(response.json()).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('maps domain errors and unknown routes to problems', async () => {
    const http = await app();
    expect((await http.inject({ method: 'GET', url: '/missing' })).json()).toMatchObject({
      status: 404,
      detail: 'thing 7 not found',
    });
    expect((await http.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);
  });

  it('answers a method a path does not have with 405, Allow naming the ones it has', async () => {
    const http = await app();
    for (const method of ['DELETE', 'PUT', 'OPTIONS', 'QUERY'] as const) {
      const response = await http.inject({ method, url: '/missing?x=1' });
      expect(response.statusCode, method).toBe(405);
      expect(response.headers['allow'], method).toBe('GET, HEAD');
      expect(response.headers['content-type'], method).toMatch(/^application\/problem\+json/);
      expect(response.json(), method).toMatchObject({
        status: 405,
        code: 'UNIMPLEMENTED',
        detail: `${method} is not a method of /missing; it allows GET, HEAD`,
      });
    }
    // A body the path could never take is not what the answer is about.
    const withBody = await http.inject({
      method: 'PATCH',
      url: '/things',
      payload: 'a,b',
      headers: { 'content-type': 'text/csv' },
    });
    expect(withBody.statusCode).toBe(405);
    expect(withBody.headers['allow']).toBe('POST');
    expect((await http.inject({ method: 'DELETE', url: '/nowhere' })).statusCode).toBe(404);
  });

  it('documents every error a route may answer as application/problem+json', async () => {
    const http = await createHttpApp({
      title: 'test',
      logger: pino({ level: 'silent' }),
      readiness: {},
      rateLimitPerMinute: 100,
    });
    const Other = Type.Object({ waiting: Type.Boolean() });
    http.get(
      '/things/:id',
      { schema: { response: { 200: Other, 404: ProblemSchema, 503: Other } } },
      () => ({ waiting: false }),
    );
    http.post('/things', { schema: { body: Type.Object({}), response: { 200: Other } } }, () => ({
      waiting: false,
    }));
    // A stream documents no responses: it keeps the default success answer.
    http.get('/stream', () => '');
    await http.ready();
    type Responses = Record<string, { description: string; content: Record<string, unknown> }>;
    const doc = (await http.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { responses: Responses }>>;
    }>();
    const media = (responses: Responses) =>
      Object.fromEntries(
        Object.entries(responses).map(([status, r]) => [status, Object.keys(r.content)]),
      );
    const problem = ['application/problem+json'];
    expect(media(doc.paths['/things/{id}']!['get']!.responses)).toEqual({
      '200': ['application/json'],
      '400': problem,
      '404': problem,
      '429': problem,
      // A route's own schema for a status is kept, and its media type with it.
      '503': ['application/json'],
    });
    expect(media(doc.paths['/things']!['post']!.responses)).toEqual({
      '200': ['application/json'],
      '400': problem,
      '413': problem,
      '415': problem,
      '429': problem,
      '503': problem,
    });
    expect(doc.paths['/things']!['post']!.responses['413']!.description).toMatch(/larger/);
    expect(Object.keys(doc.paths['/stream']!['get']!.responses)).toEqual(['200']);
  });

  it.each([
    { required: true, security: [{ bearerAuth: [] }] },
    // Without an issuer the route takes no token; the document says a token is optional then.
    { required: false, security: [{ bearerAuth: [] }, {}] },
  ])(
    'declares the bearer scheme and, on a route that names it, 401 and 403 (required: $required)',
    async ({ required, security }) => {
      const http = await createHttpApp({
        title: 'test',
        logger: pino({ level: 'silent' }),
        readiness: {},
        bearerAuth: { description: 'when AUTH_ISSUER_URL is set', required },
      });
      const Ok = Type.Object({ ok: Type.Boolean() });
      http.get('/mine', { schema: { security: BEARER_SECURITY, response: { 200: Ok } } }, () => ({
        ok: true,
      }));
      http.get('/open', { schema: { response: { 200: Ok } } }, () => ({ ok: true }));
      await http.ready();
      const doc = (await http.inject({ method: 'GET', url: '/docs/json' })).json<{
        components: { securitySchemes?: Record<string, unknown> };
        paths: Record<
          string,
          { get: { security?: unknown; responses: Record<string, { description: string }> } }
        >;
      }>();
      expect(doc.components.securitySchemes).toEqual({
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'when AUTH_ISSUER_URL is set',
        },
      });
      const mine = doc.paths['/mine']!.get;
      expect(mine.security).toEqual(security);
      expect(Object.keys(mine.responses)).toEqual(['200', '400', '401', '403', '503']);
      expect(mine.responses['401']!.description).toMatch(/WWW-Authenticate/);
      expect(mine.responses['403']!.description).toMatch(/names it/);
      const open = doc.paths['/open']!.get;
      expect(open.security).toBeUndefined();
      expect(Object.keys(open.responses)).toEqual(['200', '400', '503']);
    },
  );

  it.each([true, false])(
    'authenticates the routes that name the bearer scheme, before the body, and hands the handler its principal (required: %s)',
    async (required) => {
      const calls: string[] = [];
      const http = await createHttpApp({
        title: 'test',
        logger: pino({ level: 'silent' }),
        readiness: {},
        bearerAuth: {
          description: 'when AUTH_ISSUER_URL is set',
          required,
          authenticate: (authorization, request) => {
            calls.push(`${request.method} ${request.url} ${authorization ?? '-'}`);
            if (authorization !== 'Bearer good')
              return Promise.reject(new AppError('UNAUTHENTICATED', 'no valid token'));
            return Promise.resolve({ subject: 'ada' });
          },
        },
      });
      const Body = Type.Object({ name: Type.String() }, { additionalProperties: false });
      http.post('/mine', { schema: { security: BEARER_SECURITY, body: Body } }, (request) => ({
        caller: http.principalOf(request)?.subject ?? null,
      }));
      http.get('/open', (request) => ({ caller: http.principalOf(request)?.subject ?? null }));
      await http.ready();
      const mine = (authorization?: string) =>
        http.inject({
          method: 'POST',
          url: '/mine',
          headers: authorization === undefined ? {} : { authorization },
          payload: { name: 'x' },
        });
      const open = await http.inject({
        method: 'GET',
        url: '/open',
        headers: { authorization: 'Bearer good' },
      });
      expect(open.json()).toEqual({ caller: null });
      if (!required) {
        // No issuer: nothing is checked, and nobody is named.
        expect((await mine()).json()).toEqual({ caller: null });
        expect(calls).toEqual([]);
        return;
      }
      expect((await mine('Bearer good')).json()).toEqual({ caller: 'ada' });
      // Refused before the body is read: a bad body without a token is 401, not 400.
      const refused = await http.inject({ method: 'POST', url: '/mine', payload: { nope: 1 } });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ code: 'UNAUTHENTICATED', detail: 'no valid token' });
      expect(calls).toEqual(['POST /mine Bearer good', 'POST /mine -']);
    },
  );

  it('reports readiness per dependency and serves the OpenAPI document', async () => {
    expect((await (await app(true)).inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(
      200,
    );
    const notReady = await (await app(false)).inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ status: 'not ready', checks: { db: 'db down' } });
    const docs = await (await app()).inject({ method: 'GET', url: '/docs/json' });
    expect(docs.json()).toMatchObject({ openapi: '3.1.0', paths: { '/things': {} } });
  });
});

describe('errors and configuration', () => {
  it('maps a code to its gRPC status with the field details', () => {
    const error = toGrpcError(
      new AppError('INVALID_ARGUMENT', 'bad input', [
        { field: 'email', message: 'must be an email' },
      ]),
    );
    expect(error.code).toBe(3);
    expect(error.details).toBe('bad input: email must be an email');
  });

  it('parses the environment with defaults and names a bad variable', () => {
    const schema = Type.Object({
      PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8081, description: 'HTTP port' }),
      DATABASE_URL: Type.String({
        minLength: 1,
        description: 'postgres://user:password@host:5432/db',
      }),
    });
    expect(parseEnv(schema, { DATABASE_URL: 'postgres://x' })).toEqual({
      PORT: 8081,
      DATABASE_URL: 'postgres://x',
    });
    expect(() => parseEnv(schema, {})).toThrow(
      'DATABASE_URL is required (postgres://user:password@host:5432/db)',
    );
    expect(() => parseEnv(schema, { DATABASE_URL: 'x', PORT: 'eighty' })).toThrow(
      /^PORT .*\(HTTP port\); got 'eighty'$/,
    );
  });
});
