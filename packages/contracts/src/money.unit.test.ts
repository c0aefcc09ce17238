import { describe, expect, it } from 'vitest';
import { formatMoney, parseMoney } from './money.js';

describe('money is exact', () => {
  it.each([
    ['0', 0],
    ['0.1', 10],
    ['19.99', 1999],
    ['1000000.01', 100000001],
  ])('parses %s as %d minor units and formats it back', (text, minor) => {
    expect(parseMoney(text)).toBe(minor);
    expect(parseMoney(formatMoney(minor))).toBe(minor);
  });

  it('adds amounts that floating point gets wrong', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(formatMoney(parseMoney('0.1') + parseMoney('0.2'))).toBe('0.30');
  });

  it.each(['', '-1', '1.999', '01.00', '1e3', ' 1', 'NaN'])('rejects %j', (text) => {
    expect(() => parseMoney(text)).toThrow(/decimal string with at most two fraction digits/);
  });
});
