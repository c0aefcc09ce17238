/**
 * Money is exact everywhere: on the wire a decimal string with at most two
 * fraction digits ("19.99"), in code an integer number of minor units (1999).
 * Floating-point numbers never carry an amount.
 */

/** The pattern every amount on the wire matches: up to 12 integer digits, up to 2 fraction digits. */
export const MONEY_PATTERN = '^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,2})?$';
const MONEY = new RegExp(MONEY_PATTERN);

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
