import { describe, expect, it } from 'vitest';
import { parseStartArgs } from './config.js';

describe('npm start options', () => {
  it('given no options, then every service runs once, with identity on', () => {
    expect(parseStartArgs([])).toEqual({ replicas: {}, auth: true });
  });

  it('given --no-auth, then the services run open', () => {
    expect(parseStartArgs(['--no-auth', '--replicas', 'order-service=2'])).toEqual({
      replicas: { 'order-service': 2 },
      auth: false,
    });
  });

  it('given --replicas with a space or with =, then the counts are read', () => {
    const expected = { replicas: { 'order-service': 2, 'notification-service': 2 }, auth: true };
    expect(parseStartArgs(['--replicas', 'order-service=2,notification-service=2'])).toEqual(
      expected,
    );
    expect(parseStartArgs(['--replicas=order-service=2,notification-service=2'])).toEqual(expected);
  });

  it.each<[string, string[], RegExp]>([
    [
      'an unknown service',
      ['--replicas', 'billing=2'],
      /unknown service 'billing'; known services: user-service, order-service, notification-service/,
    ],
    [
      'a count that is not a number',
      ['--replicas', 'order-service=many'],
      /order-service must run 1 to 9 instances \(a whole number\), got 'many'/,
    ],
    [
      'zero',
      ['--replicas', 'user-service=0'],
      /user-service must run 1 to 9 instances \(a whole number\), got '0'/,
    ],
    [
      'no value',
      ['--replicas'],
      /--replicas needs a value such as order-service=2; usage: npm start \[-- \[--replicas/,
    ],
    [
      'an option it does not know',
      ['--replica', 'order-service=2'],
      /npm start does not take '--replica'; usage:/,
    ],
  ])('given %s, then it says what is wrong', (_label, args, message) => {
    expect(() => parseStartArgs(args)).toThrow(message);
  });
});
