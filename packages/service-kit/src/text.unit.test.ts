import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import Type from 'typebox';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from './http.js';
import type { HttpApp } from './http.js';
import { protoFieldName, unstorableTextError } from './text.js';

let http: HttpApp;
let port: number;

beforeAll(async () => {
  http = await createHttpApp({ title: 'test', logger: pino({ level: 'silent' }), readiness: {} });
  // A route with no text rule in its schema: the guard in front of every route refuses anyway.
  http.post(
    '/things/:id',
    {
      schema: {
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object({ q: Type.Optional(Type.String()) }),
        body: Type.Object({ items: Type.Array(Type.Object({ name: Type.String() })) }),
      },
    },
    (request) => ({ id: request.params.id, items: request.body.items, q: request.query.q ?? null }),
  );
  await http.listen({ host: '127.0.0.1', port: 0 });
  port = (http.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await http.close();
});

/** Sends raw bytes, as a client outside Node's own checks could, and reads the answer. */
function raw(bytes: Buffer): Promise<{ status: number; type: string; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      resolve({
        status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]),
        type: /content-type: ([^;\r\n]+)/i.exec(head)?.[1] ?? '',
        body: JSON.parse(body) as unknown,
      });
    });
    socket.end(bytes);
  });
}

function request(target: string, headers: string, body: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(
      `POST ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\n${headers}content-length: ${body.length}\r\n\r\n`,
      'latin1',
    ),
    body,
  ]);
}

const ok = Buffer.from('{"items":[{"name":"ok"}]}');

describe('text PostgreSQL cannot store, over REST', () => {
  it.each([
    [
      'NUL in a body field',
      '/things/1',
      '{"items":[{"name":"a\\u0000"}]}',
      'body.items[0].name',
      /NUL/,
    ],
    [
      'a lone surrogate in a body field',
      '/things/1',
      '{"items":[{"name":"\\ud800"}]}',
      'body.items[0].name',
      /unpaired surrogate/,
    ],
    ['NUL in a path parameter', '/things/a%00', undefined, 'params.id', /NUL/],
    ['NUL in a query parameter', '/things/1?q=%00', undefined, 'querystring.q', /NUL/],
    [
      'a lone surrogate, as if UTF-8, in a query parameter',
      '/things/1?q=%ED%A0%80',
      undefined,
      'querystring.q',
      /UTF-8/,
    ],
  ])('refuses %s with a 400 naming the field', async (_label, url, payload, field, reason) => {
    const response = await http.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: payload ?? ok.toString(),
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json<{ code: string; errors: { field: string; message: string }[] }>();
    expect(problem.code).toBe('INVALID_ARGUMENT');
    expect(problem.errors[0]?.field).toBe(field);
    expect(problem.errors[0]?.message).toMatch(reason);
  });

  it('refuses a header with NUL, whether Node parses it or not', async () => {
    const injected = await http.inject({
      method: 'POST',
      url: '/things/1',
      headers: { 'content-type': 'application/json', 'x-note': 'a\u0000b' },
      payload: ok.toString(),
    });
    expect(injected.statusCode).toBe(400);
    expect(injected.json<{ errors: { field: string }[] }>().errors[0]?.field).toBe(
      'headers.x-note',
    );

    const wire = await raw(request('/things/1', 'x-note: a\u0000b\r\n', ok));
    expect(wire).toMatchObject({ status: 400, type: 'application/problem+json' });
    expect(wire.body).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400 });
  });

  it('answers headers larger than Node accepts with a 431 problem document', async () => {
    const wire = await raw(request('/things/1', `x-big: ${'a'.repeat(20_000)}\r\n`, ok));
    expect(wire).toMatchObject({ status: 431, type: 'application/problem+json' });
    expect(wire.body).toMatchObject({ code: 'RESOURCE_EXHAUSTED', status: 431 });
  });

  it('refuses a body that is not UTF-8 instead of reading U+FFFD', async () => {
    const body = Buffer.from('{"items":[{"name":"aXXX"}]}');
    body.set([0xed, 0xa0, 0x80], body.indexOf('XXX'));
    const wire = await raw(request('/things/1', '', body));
    expect(wire).toMatchObject({ status: 400, type: 'application/problem+json' });
    expect(wire.body).toMatchObject({
      code: 'INVALID_ARGUMENT',
      detail: expect.stringMatching(/not UTF-8/) as unknown,
    });
  });

  it('answers a path that is not UTF-8 with a problem document', async () => {
    const wire = await raw(request('/things/%ED%A0%80', '', ok));
    expect(wire).toMatchObject({ status: 400, type: 'application/problem+json' });
    expect(wire.body).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('lets storable text through untouched, pairs of surrogates included', async () => {
    const response = await http.inject({
      method: 'POST',
      url: `/things/${encodeURIComponent('Zoë 😀')}?q=${encodeURIComponent('東京')}`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ items: [{ name: 'Zoë 😀 \ufffd' }] }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      id: 'Zoë 😀',
      q: '東京',
      items: [{ name: 'Zoë 😀 \ufffd' }],
    });
  });
});

describe('unstorableTextError', () => {
  it('names the field as the proto does when asked', () => {
    const error = unstorableTextError(
      { userId: 'u', items: [{ productId: 'a\u0000' }] },
      { fieldName: protoFieldName },
    );
    expect(error?.code).toBe('INVALID_ARGUMENT');
    expect(error?.violations).toEqual([
      { field: 'items[0].product_id', message: 'must not contain NUL (U+0000); found at index 1' },
    ]);
    expect(unstorableTextError({ fine: ['text'] })).toBeUndefined();
  });
});
