/**
 * Money is exact everywhere: on the wire a decimal string with at most two
 * fraction digits ("19.99"), in code an integer number of minor units (1999).
 * Floating-point numbers never carry an amount.
 */
import { MAX_ITEM_PRICE_MINOR } from './limits.js';

/** The pattern every amount on the wire matches: up to 12 integer digits, up to 2 fraction digits. */
export const MONEY_PATTERN = '^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,2})?$';
const MONEY = new RegExp(MONEY_PATTERN);

/**
 * The pattern of one order line's unit price: an amount greater than 0 and
 * at most {@link MAX_ITEM_PRICE_MINOR}, the range the decider enforces, so
 * that the REST document states it too. Built from the limit.
 */
export const ITEM_PRICE_PATTERN = positiveAmountPattern(MAX_ITEM_PRICE_MINOR);

/**
 * The pattern of amounts above 0 up to `maxMinor` minor units. A pattern
 * can say that plainly only for a limit that is a power of ten in whole
 * units (1,000,000.00), so any other limit is refused here, at load.
 */
function positiveAmountPattern(maxMinor: number): string {
  const whole = maxMinor / 100;
  const digits = Math.log10(whole);
  if (!Number.isInteger(digits) || digits < 1)
    throw new RangeError(
      `a price limit must be a power of ten in whole units (like 1000000.00) to be stated as a pattern; got ${formatMoney(maxMinor)}`,
    );
  // Below the limit: 0.01-0.99, or 1 to `digits` integer digits with optional cents.
  const below = `0\\.(?:0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,${digits - 1}}(?:\\.[0-9]{1,2})?`;
  // The limit itself, with zero cents at most.
  const limit = `${whole}(?:\\.00?)?`;
  return `^(?:${below}|${limit})$`;
}

/**
 * Parses a decimal string such as "19.99" into minor units (1999). Throws
 * when the text is not a non-negative amount with at most two decimals.
 */
export function parseMoney(text: string): number {
  if (!MONEY.test(text)) {
    throw new RangeError(
      `an amount must be a decimal string with at most two fraction digits, like "19.99"; got ${JSON.stringify(text)}`,
    );
  }
  const [whole = '0', fraction = ''] = text.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

/** Formats minor units (1999) as the wire's decimal string ("19.99"). */
export function formatMoney(minorUnits: number): string {
  if (!Number.isSafeInteger(minorUnits) || minorUnits < 0) {
    throw new RangeError(`minor units must be a non-negative safe integer; got ${minorUnits}`);
  }
  const whole = Math.floor(minorUnits / 100);
  const cents = String(minorUnits % 100).padStart(2, '0');
  return `${whole}.${cents}`;
}
