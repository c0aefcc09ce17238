import { describe, expect, it } from 'vitest';
import { createRoundRobin, grpcChannelTarget } from './balancing.js';

describe('grpcChannelTarget', () => {
  it('given one address, then it is the target as is, with no extra options', () => {
    expect(grpcChannelTarget(['user-service-grpc:50051'])).toEqual({
      target: 'user-service-grpc:50051',
      options: {},
    });
  });

  it('given several IPv4 addresses, then one ipv4: target balanced round robin', () => {
    const { target, options } = grpcChannelTarget(['127.0.0.1:50051', '127.0.0.1:50151']);
    expect(target).toBe('ipv4:127.0.0.1:50051,127.0.0.1:50151');
    expect(JSON.parse(options['grpc.service_config'] ?? '{}')).toEqual({
      loadBalancingConfig: [{ round_robin: {} }],
    });
  });

  it('given several IPv6 addresses, then one ipv6: target', () => {
    expect(grpcChannelTarget(['[::1]:50051', '[::1]:50151']).target).toBe(
      'ipv6:[::1]:50051,[::1]:50151',
    );
  });

  it('given none, then it says so', () => {
    expect(() => grpcChannelTarget([])).toThrow('grpcChannelTarget needs at least one address');
  });
});

describe('createRoundRobin', () => {
  it('given three addresses, then six picks give each twice, in turn', () => {
    const pick = createRoundRobin(['a', 'b', 'c']);
    expect(Array.from({ length: 6 }, () => pick())).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('given one address, then it is always that one', () => {
    const pick = createRoundRobin(['http://127.0.0.1:8081']);
    expect([pick(), pick()]).toEqual(['http://127.0.0.1:8081', 'http://127.0.0.1:8081']);
  });

  it('given none, then it says so', () => {
    expect(() => createRoundRobin([])).toThrow('createRoundRobin needs at least one address');
  });
});
