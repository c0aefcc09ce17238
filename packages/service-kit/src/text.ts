import { findUnstorableText, formatFieldPath } from '@comms/contracts';
import { AppError } from './errors.js';

/**
 * The INVALID_ARGUMENT error for the first text in `value` that PostgreSQL
 * cannot store (NUL, an unpaired surrogate; the rule is @comms/contracts'
 * `findUnstorableText`), naming its field; undefined when there is none.
 * `fieldName` renames keys, e.g. to the proto's snake_case names.
 */
export function unstorableTextError(
  value: unknown,
  options: { readonly prefix?: string; readonly fieldName?: (key: string) => string } = {},
): AppError | undefined {
  const found = findUnstorableText(value);
  if (found === undefined) return undefined;
  const rename = options.fieldName;
  const path =
    rename === undefined
      ? found.path
      : found.path.map((part) => (typeof part === 'string' ? rename(part) : part));
  const field = formatFieldPath(options.prefix ?? '', path);
  return new AppError('INVALID_ARGUMENT', `${field} ${found.reason}`, [
    { field, message: found.reason },
  ]);
}

/** `productId` -> `product_id`: a generated message's field as the proto names it. */
export function protoFieldName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * The INVALID_ARGUMENT error for the first query parameter whose value is
 * not percent-encoded UTF-8 (such as `%ED%A0%80`, a lone surrogate): the
 * query parser would otherwise keep it as raw text and move on.
 */
export function undecodableQueryError(url: string): AppError | undefined {
  const start = url.indexOf('?');
  if (start < 0) return undefined;
  for (const pair of url.slice(start + 1).split('&')) {
    const [key = '', value = ''] = pair.split('=', 2);
    try {
      decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      let name = key;
      try {
        name = decodeURIComponent(key);
      } catch {
        // the key is broken too: name it as sent
      }
      const field = formatFieldPath('querystring', [name]);
      const message = 'must be percent-encoded UTF-8 text';
      return new AppError('INVALID_ARGUMENT', `${field} ${message}`, [{ field, message }]);
    }
  }
  return undefined;
}
