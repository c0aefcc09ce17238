import { describe, expect, it } from 'vitest';
import { Compile } from 'typebox/compile';
import { CreateUserRequest } from './grpc.js';
import {
  findUnstorableText,
  formatFieldPath,
  NON_BLANK_PATTERN,
  NonBlankText,
  STORABLE_TEXT_PATTERN,
  Text,
  unstorableReason,
} from './text.js';

const storable = ['', 'plain', 'Zoë Ångström', '東京', 'emoji 😀 pair', '\ufffd', 'tab\tnewline\n'];
const unstorable = [
  'a\u0000b',
  '\u0000',
  'lone high \ud800',
  '\udc00 lone low',
  'swapped \ude00\ud83d',
];

describe('storable text', () => {
  it.each(storable)('accepts %j in the function, the pattern and the TypeBox type', (text) => {
    expect(unstorableReason(text)).toBeUndefined();
    expect(new RegExp(STORABLE_TEXT_PATTERN, 'u').test(text)).toBe(true);
    expect(new RegExp(STORABLE_TEXT_PATTERN).test(text)).toBe(true);
    expect(Compile(Text()).Check(text)).toBe(true);
  });

  it.each(unstorable)('refuses %j in the function, the pattern and the TypeBox type', (text) => {
    expect(unstorableReason(text)).toMatch(/NUL \(U\+0000\)|unpaired surrogate/);
    expect(new RegExp(STORABLE_TEXT_PATTERN, 'u').test(text)).toBe(false);
    expect(new RegExp(STORABLE_TEXT_PATTERN).test(text)).toBe(false);
    expect(Compile(Text()).Check(text)).toBe(false);
  });

  it('says what is wrong and where', () => {
    expect(unstorableReason('ab\u0000')).toBe('must not contain NUL (U+0000); found at index 2');
    expect(unstorableReason('a\ud800')).toBe(
      'must not contain an unpaired surrogate (U+D800), which is not Unicode text; found at index 1',
    );
  });

  it('finds the first unstorable text at any depth, keys included', () => {
    expect(findUnstorableText({ a: 'ok', items: [{ p: 'x' }, { p: 'y\u0000' }] })).toEqual({
      path: ['items', 1, 'p'],
      reason: 'must not contain NUL (U+0000); found at index 1',
    });
    expect(findUnstorableText({ data: { 'k\u0000': 1 } })).toEqual({
      path: ['data', 'k\u0000'],
      reason: 'is a field name that must not contain NUL (U+0000); found at index 1',
    });
    expect(findUnstorableText('\ud800')?.path).toEqual([]);
    expect(findUnstorableText({ n: 1, b: true, z: null, s: ['😀'] })).toBeUndefined();
  });

  it('names fields as paths, with unstorable keys escaped', () => {
    expect(formatFieldPath('body', ['items', 0, 'productId'])).toBe('body.items[0].productId');
    expect(formatFieldPath('', ['data', 'name'])).toBe('data.name');
    expect(formatFieldPath('', ['k\u0000'])).toBe('k\\u0000');
  });
});

describe('protobuf strings', () => {
  it('refuse bytes that are not UTF-8 instead of turning them into U+FFFD', () => {
    const bytes = Buffer.from(CreateUserRequest.encode({ name: 'aZZZb', email: 'e' }).finish());
    const at = bytes.indexOf('ZZZ');
    bytes.set([0xed, 0xa0, 0x80], at);
    expect(() => CreateUserRequest.decode(bytes)).toThrow(/not valid UTF-8/);
    expect(
      CreateUserRequest.decode(CreateUserRequest.encode({ name: 'Zoë 😀', email: 'e' }).finish())
        .name,
    ).toBe('Zoë 😀');
  });
});

describe('non-blank text', () => {
  it('matches a character exactly when trim() keeps it, with or without the u flag', () => {
    const plain = new RegExp(NON_BLANK_PATTERN);
    const unicode = new RegExp(NON_BLANK_PATTERN, 'u');
    const disagree: string[] = [];
    for (let unit = 0; unit <= 0xffff; unit++) {
      const char = String.fromCharCode(unit);
      const kept = char.trim() !== '';
      if (
        plain.test(char) !== kept ||
        (unit < 0xd800 || unit > 0xdfff ? unicode.test(char) !== kept : false)
      )
        disagree.push(unit.toString(16));
    }
    expect(disagree).toEqual([]);
  });

  it('refuses blank text and unstorable text alike', () => {
    const check = Compile(NonBlankText({ minLength: 1, maxLength: 5 }));
    expect(['a', ' a ', '\u3000x'].map((text) => check.Check(text))).toEqual([true, true, true]);
    expect([' ', '\t\n', '\ufeff', 'a\u0000', 'abcdef'].map((text) => check.Check(text))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
