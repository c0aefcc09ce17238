import Type from 'typebox';
import type { TIntersect, TString, TStringOptions } from 'typebox';

/**
 * The one rule for text that enters the system: it must be text PostgreSQL
 * stores as given. PostgreSQL refuses NUL (U+0000) in `text` and in `jsonb`;
 * an unpaired UTF-16 surrogate (U+D800-U+DFFF on its own) has no UTF-8 form,
 * so Node would store it as U+FFFD (silently changed) and `jsonb` refuses
 * its `\ud800` escape. Both are refused at every entrance, naming the field:
 * the REST schemas and the request guard, gRPC requests, the event schemas.
 */

/**
 * JSON Schema `pattern` of storable text: any code point but NUL and unpaired
 * surrogates. Written to mean the same with or without the regex `u` flag
 * (a surrogate pair is matched whole either way).
 */
export const STORABLE_TEXT_PATTERN =
  '^(?:[^\\u0000\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$';

/** What a field with unstorable text is told, e.g. "must not contain NUL (U+0000); found at index 1". */
export function unstorableReason(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0) return `must not contain NUL (U+0000); found at index ${i}`;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1;
        continue;
      }
    }
    if (unit >= 0xd800 && unit <= 0xdfff) {
      const hex = unit.toString(16).toUpperCase();
      return `must not contain an unpaired surrogate (U+${hex}), which is not Unicode text; found at index ${i}`;
    }
  }
  return undefined;
}

/** Where unstorable text was found, and why it is refused. */
export interface UnstorableText {
  /** Property names and array indexes from the root of the value searched. */
  readonly path: readonly (string | number)[];
  /** The reason, as {@link unstorableReason} gives it; keys say they are field names. */
  readonly reason: string;
}

/**
 * The first unstorable text in a value (a string, or any depth of arrays and
 * plain objects, their keys included), or undefined when all of it can be
 * stored. Objects deeper than `maxDepth` are not searched.
 */
export function findUnstorableText(value: unknown, maxDepth = 32): UnstorableText | undefined {
  const search = (
    current: unknown,
    path: (string | number)[],
    depth: number,
  ): UnstorableText | undefined => {
    if (typeof current === 'string') {
      const reason = unstorableReason(current);
      return reason === undefined ? undefined : { path, reason };
    }
    if (current === null || typeof current !== 'object' || depth > maxDepth) return undefined;
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const found = search(current[i], [...path, i], depth + 1);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    for (const [key, item] of Object.entries(current)) {
      const keyReason = unstorableReason(key);
      if (keyReason !== undefined)
        return { path: [...path, key], reason: `is a field name that ${keyReason}` };
      const found = search(item, [...path, key], depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return search(value, [], 0);
}

/** `a\u0000b` with its NUL and surrogates written as escapes, safe to show. */
function escapeText(text: string): string {
  let shown = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    shown +=
      code === 0 || (code >= 0xd800 && code <= 0xdfff)
        ? `\\u${code.toString(16).padStart(4, '0')}`
        : char;
  }
  return shown;
}

/**
 * A path as the error messages name fields: `data.items[0].productId`.
 * Unstorable characters in a key are shown escaped (`\u0000`), never sent raw.
 */
export function formatFieldPath(prefix: string, path: readonly (string | number)[]): string {
  let text = prefix;
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else {
      const shown = unstorableReason(part) === undefined ? part : escapeText(part);
      text += text === '' ? shown : `.${shown}`;
    }
  }
  return text;
}

/**
 * JSON Schema `pattern` (unanchored) that text matches when it has something
 * besides whitespace: when `trim()` does not leave it empty. The class is
 * what `trim()` removes (ECMAScript's WhiteSpace and LineTerminator), written
 * as code points so that other regex engines read it the same.
 */
export const NON_BLANK_PATTERN =
  '[^\\u0009-\\u000d\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]';

/**
 * A {@link Text} that must also have something besides whitespace
 * ({@link NON_BLANK_PATTERN}), for fields the services trim and refuse when
 * nothing is left (a name, a product id). `blankMessage` is what a blank
 * value is told (the schema's `errorMessage`).
 */
export function NonBlankText(
  options: Omit<TStringOptions, 'pattern'> = {},
  blankMessage = 'must have a character besides whitespace',
): TIntersect<[TString, TString]> {
  return Type.Intersect([
    Text(options),
    Type.String({ pattern: NON_BLANK_PATTERN, errorMessage: blankMessage }),
  ]);
}

/**
 * A TypeBox string of storable text ({@link STORABLE_TEXT_PATTERN}). Fields
 * whose `format` or `pattern` already allows only such text (uuid, date-time,
 * money) need not use it.
 */
export function Text(options: Omit<TStringOptions, 'pattern'> = {}): TString {
  return Type.String({ ...options, pattern: STORABLE_TEXT_PATTERN });
}
