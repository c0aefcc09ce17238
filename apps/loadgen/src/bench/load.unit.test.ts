import { describe, expect, it } from 'vitest';
import { fromGhz, ghzArgs } from './load.js';
import type { GrpcLoadSpec } from './load.js';

describe('fromGhz', () => {
  const report = {
    endReason: 'timeout',
    count: 1_814,
    total: 1_002_433_984,
    latencyDistribution: [
      { percentage: 50, latency: 1_103_539 },
      { percentage: 95, latency: 5_045_541 },
      { percentage: 99, latency: 25_405_519 },
    ],
    statusCodeDistribution: { OK: 1_800, Unavailable: 4, NotFound: 10 },
    errorDistribution: {
      'rpc error: code = Unavailable desc = error reading from server: read tcp 127.0.0.1:1->127.0.0.1:2: use of closed network connection': 4,
      'rpc error: code = NotFound desc = no such user': 10,
    },
  };

  it('counts OK calls as samples, in milliseconds, and other statuses as errors', () => {
    expect(fromGhz('v', report, 4)).toEqual({
      name: 'v',
      requests: 1_800,
      errors: 10,
      durationMs: 1_002,
      rps: 1_795.6,
      p50Ms: 1.104,
      p95Ms: 5.046,
      p99Ms: 25.406,
    });
  });

  it('drops only the calls ghz cut off at its deadline, at most one per worker', () => {
    expect(fromGhz('v', report, 2).errors).toBe(12);
    expect(fromGhz('v', { ...report, endReason: 'normal' }, 4).errors).toBe(14);
  });

  it('also drops a call cancelled as ghz closes its connection at the deadline', () => {
    const closing = {
      ...report,
      statusCodeDistribution: { OK: 1_800, Canceled: 1 },
      errorDistribution: {
        'rpc error: code = Canceled desc = grpc: the client connection is closing': 1,
      },
    };
    expect(fromGhz('v', closing, 4).errors).toBe(0);
    expect(fromGhz('v', { ...closing, endReason: 'normal' }, 4).errors).toBe(1);
  });
});

describe('ghzArgs', () => {
  const spec: GrpcLoadSpec = {
    name: 'v',
    address: '127.0.0.1:1',
    proto: 'user.proto',
    importPaths: ['proto'],
    call: 'user.v1.UserService.ValidateUser',
    data: { user_id: 'u' },
    concurrency: 4,
    durationMs: 1_000,
  };

  it('sends the token as metadata with every call', () => {
    const args = ghzArgs({ ...spec, metadata: { authorization: 'Bearer t' } }, 'out.json');
    expect(args.slice(args.indexOf('--metadata'), args.indexOf('--metadata') + 2)).toEqual([
      '--metadata',
      '{"authorization":"Bearer t"}',
    ]);
    expect(args.at(-1)).toBe('127.0.0.1:1');
  });

  it('sends no metadata for a side without a token (the baselines)', () => {
    expect(ghzArgs(spec, 'out.json')).not.toContain('--metadata');
    expect(ghzArgs({ ...spec, metadata: {} }, 'out.json')).not.toContain('--metadata');
  });
});
