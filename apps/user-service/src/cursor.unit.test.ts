import { describe, expect, it } from 'vitest';
import { CURSOR_PATTERN, decodeCursor, encodeCursor } from './users.js';

const pattern = new RegExp(CURSOR_PATTERN);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Whether the service made this cursor: it decodes, and encodes back to the same text. */
function made(cursor: string): boolean {
  try {
    return encodeCursor(decodeCursor(cursor)) === cursor;
  } catch {
    return false;
  }
}

describe('the cursor pattern', () => {
  // Sequence numbers of every length, with every digit in every position of a group.
  const seqs = [
    ...Array.from({ length: 1000 }, (_, n) => String(n)),
    ...Array.from({ length: 18 }, (_, i) => '9'.repeat(i + 1)),
    ...Array.from({ length: 18 }, (_, i) => '1'.padEnd(i + 1, '0')),
    ...Array.from({ length: 200 }, (_, i) => String((i * 7_919_000_003_137) % 1e18)),
  ];

  it('matches every cursor the service makes', () => {
    expect(seqs.map(encodeCursor).filter((cursor) => !pattern.test(cursor))).toEqual([]);
  });

  it('matches nothing else: every one-character change, cut or addition agrees with decoding', () => {
    const wrong: string[] = [];
    for (const seq of seqs.filter((_, i) => i % 7 === 0)) {
      const cursor = encodeCursor(seq);
      const variants = [cursor.slice(0, -1), `${cursor}A`, `${cursor}==`, ` ${cursor}`];
      for (let i = 0; i < cursor.length; i++)
        for (const char of ALPHABET) variants.push(cursor.slice(0, i) + char + cursor.slice(i + 1));
      for (const variant of variants)
        if (pattern.test(variant) !== made(variant)) wrong.push(`${seq}: ${variant}`);
    }
    expect(wrong).toEqual([]);
  });

  it('refuses what is not a cursor', () => {
    expect(pattern.test(''), 'empty: the first page').toBe(true);
    for (const text of [
      'Zm9v',
      encodeCursor('').slice(0, 3),
      Buffer.from('u:1234567890123456789').toString('base64url'),
    ])
      expect(pattern.test(text), text).toBe(false);
  });
});
