import { describe, expect, it } from 'vitest';
import { MAX_ITEM_PRICE_MINOR } from './limits.js';
import { formatMoney, ITEM_PRICE_PATTERN, MONEY_PATTERN, parseMoney } from './money.js';

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

describe('the item price pattern', () => {
  const pattern = new RegExp(ITEM_PRICE_PATTERN);
  const money = new RegExp(MONEY_PATTERN);
  const inRange = (text: string) =>
    money.test(text) && parseMoney(text) >= 1 && parseMoney(text) <= MAX_ITEM_PRICE_MINOR;

  it('accepts exactly the amounts above 0 up to the limit', () => {
    const limit = formatMoney(MAX_ITEM_PRICE_MINOR);
    const candidates = [
      ...['0', '0.0', '0.00', '0.01', '0.1', '0.10', '0.99', '1', '1.5', '19.99', '999999.99'],
      ...[limit, limit.slice(0, -1), limit.slice(0, -3), formatMoney(MAX_ITEM_PRICE_MINOR + 1)],
      ...['10000000', '1000001', '01', '-1', '1.999', '1e3', ' 1', ''],
    ];
    // Every amount with up to 8 integer digits, in steps that cross each boundary.
    for (let minor = 0; minor <= MAX_ITEM_PRICE_MINOR * 10; minor += minor < 1000 ? 1 : 99_991)
      candidates.push(formatMoney(minor), formatMoney(minor).replace(/\.?0+$/, ''));
    const wrong = candidates.filter((text) => pattern.test(text) !== inRange(text));
    expect(wrong).toEqual([]);
    expect(pattern.test(limit)).toBe(true);
    expect(pattern.test(formatMoney(MAX_ITEM_PRICE_MINOR + 1))).toBe(false);
  });
});
