import { describe, expect, it } from 'vitest';
import { parseBrokers } from './brokers.js';

describe('parseBrokers', () => {
  it('splits and trims a list of host:port', () => {
    expect(parseBrokers('127.0.0.1:9092, kafka-2.internal:19092,[::1]:9092')).toEqual([
      '127.0.0.1:9092',
      'kafka-2.internal:19092',
      '[::1]:9092',
    ]);
  });

  it.each(['', 'localhost', 'kafka://h:9092', 'h:0', 'h:70000', 'h:9092,,h2:9092'])(
    'rejects %j with the variable name and the expected format',
    (value) => {
      expect(() => parseBrokers(value, 'KAFKA_BROKERS')).toThrow(
        /^KAFKA_BROKERS must be a comma-separated list of host:port/,
      );
    },
  );
});
