import { describe, expect, it } from 'vitest';
import { checkReplicas, defaultInstancePorts, parseReplicas } from './replicas.js';

describe('parseReplicas', () => {
  it('given counts per service, then each is read, spaces allowed', () => {
    expect(parseReplicas('order-service=2, notification-service = 3')).toEqual({
      'order-service': 2,
      'notification-service': 3,
    });
    expect(parseReplicas('user-service=1')).toEqual({ 'user-service': 1 });
  });

  it.each<[string, string, RegExp]>([
    [
      'an unknown service',
      'payment-service=2',
      /--replicas: unknown service 'payment-service'; known services: user-service, order-service, notification-service/,
    ],
    [
      'a count that is not a number',
      'order-service=two',
      /order-service must run 1 to 9 instances \(a whole number\), got 'two'/,
    ],
    [
      'zero',
      'order-service=0',
      /order-service must run 1 to 9 instances \(a whole number\), got '0'/,
    ],
    ['a negative count', 'order-service=-1', /got '-1'/],
    ['a fraction', 'order-service=1.5', /got '1.5'/],
    ['too many', 'order-service=10', /must run 1 to 9 instances/],
    ['no count', 'order-service=', /got ''/],
    [
      'no =',
      'order-service',
      /takes service=count pairs separated by commas, such as 'order-service=2,notification-service=2'; got 'order-service'/,
    ],
    ['a service twice', 'order-service=2,order-service=3', /--replicas names order-service twice/],
    ['nothing', '', /--replicas needs service=count pairs/],
  ])('given %s, then it says what is wrong', (_label, text, message) => {
    expect(() => parseReplicas(text)).toThrow(message);
  });
});

describe('checkReplicas', () => {
  it('refuses what parseReplicas refuses, given in code', () => {
    expect(() => checkReplicas({ 'order-service': 0 })).toThrow(
      "replicas: order-service must run 1 to 9 instances (a whole number), got '0'",
    );
    expect(() => checkReplicas({ ['payments' as 'order-service']: 1 })).toThrow(
      /unknown service 'payments'/,
    );
    expect(() => checkReplicas({ 'user-service': 2 })).not.toThrow();
  });
});

describe('defaultInstancePorts', () => {
  it('keeps the table ports for the first instance and steps by 100 for the others', () => {
    expect(defaultInstancePorts('order-service', 1)).toEqual({ http: 8082, grpc: 50052 });
    expect(defaultInstancePorts('order-service', 2)).toEqual({ http: 8182, grpc: 50152 });
    expect(defaultInstancePorts('notification-service', 3)).toEqual({ http: 8283 });
  });
});
