import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, createLogger } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { checkLoadParams, LOAD_LIMITS, pointsOf } from './load.js';
import { createOrderGrpc } from './upstream.js';

const refusal = (input: Parameters<typeof checkLoadParams>[0]) => {
  try {
    checkLoadParams(input);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return { code: (error as AppError).code, message: (error as AppError).message };
  }
  throw new Error('accepted');
};

describe('checkLoadParams', () => {
  it('accepts the issue example, 50 orders/s for 10 s over REST and gRPC, and drops a repeated style', () => {
    expect(
      checkLoadParams({ ratePerSecond: 50, durationSeconds: 10, styles: ['rest', 'grpc', 'rest'] }),
    ).toEqual({ ratePerSecond: 50, durationSeconds: 10, styles: ['rest', 'grpc'] });
  });

  it.each<[string, Parameters<typeof checkLoadParams>[0], RegExp]>([
    [
      'a rate over the cap',
      { ratePerSecond: LOAD_LIMITS.maxRatePerSecond + 1, durationSeconds: 5, styles: ['rest'] },
      /^ratePerSecond must be a whole number of orders a second from 1 to 100, got 101$/,
    ],
    ['a zero rate', { ratePerSecond: 0, durationSeconds: 5, styles: ['rest'] }, /ratePerSecond/],
    [
      'a duration over the cap',
      { ratePerSecond: 1, durationSeconds: 31, styles: ['grpc'] },
      /^durationSeconds must be a whole number of seconds from 1 to 30, got 31$/,
    ],
    [
      'more orders than a short load places',
      { ratePerSecond: 100, durationSeconds: 30, styles: ['rest'] },
      /asks for 3000 orders per style; at most 1000/,
    ],
    [
      'no style',
      { ratePerSecond: 10, durationSeconds: 5, styles: [] },
      /styles must name at least one of rest, grpc/,
    ],
    [
      'an unknown style',
      { ratePerSecond: 10, durationSeconds: 5, styles: ['kafka'] },
      /styles must be among rest, grpc, got 'kafka'/,
    ],
  ])('refuses %s with INVALID_ARGUMENT, saying what is allowed', (_label, input, message) => {
    const { code, message: text } = refusal(input);
    expect(code).toBe('INVALID_ARGUMENT');
    expect(text).toMatch(message);
  });
});

describe('pointsOf', () => {
  it('gives every second of every style, an empty second as zero accepted with no latency', () => {
    const buckets = new Map([
      [
        'rest' as const,
        new Map([
          [0, { latencies: [30, 10, 20], errors: 1 }],
          [2, { latencies: [5], errors: 0 }],
        ]),
      ],
      ['grpc' as const, new Map([[1, { latencies: [4, 6], errors: 0 }]])],
    ]);
    expect(pointsOf(buckets, ['rest', 'grpc'], 3)).toEqual([
      { second: 0, style: 'rest', accepted: 3, errors: 1, p50Ms: 20, p95Ms: 30 },
      { second: 0, style: 'grpc', accepted: 0, errors: 0, p50Ms: null, p95Ms: null },
      { second: 1, style: 'rest', accepted: 0, errors: 0, p50Ms: null, p95Ms: null },
      { second: 1, style: 'grpc', accepted: 2, errors: 0, p50Ms: 4, p95Ms: 6 },
      { second: 2, style: 'rest', accepted: 1, errors: 0, p50Ms: 5, p95Ms: 5 },
      { second: 2, style: 'grpc', accepted: 0, errors: 0, p50Ms: null, p95Ms: null },
    ]);
  });
});

describe('POST /api/load', () => {
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

  it('refuses a rate over the cap with a 400 problem document before calling any service, and no run starts', async () => {
    const answer = await app.inject({
      method: 'POST',
      url: '/api/load',
      payload: { ratePerSecond: 5000, durationSeconds: 10, styles: ['rest'] },
    });
    expect(answer.statusCode).toBe(400);
    expect(answer.headers['content-type']).toContain('application/problem+json');
    expect(answer.json<{ detail: string }>().detail).toContain('from 1 to 100, got 5000');
    const state = await app.inject({ method: 'GET', url: '/api/load' });
    expect(state.json()).toMatchObject({ run: null, limits: LOAD_LIMITS });
  });
});
