import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * No credentials in the repository. The only passwords it holds are the
 * local development ones (`postgres:postgres`, a role named after itself),
 * which the docs name as such; real ones come from Secrets Manager on AWS.
 * Made-up keys in test fixtures say EXAMPLE.
 * The patterns are assembled at run time so this file does not match itself.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const PATTERNS: ReadonlyArray<[string, RegExp]> = [
  ['an AWS access key id', new RegExp(['(AKIA|ASIA)', '[0-9A-Z]{16}'].join(''))],
  ['an AWS secret access key', new RegExp(['aws_secret', '_access_key\\s*[=:]'].join(''), 'i')],
  ['a private key', new RegExp(['-----BEGIN ([A-Z]+ )?', 'PRIVATE KEY-----'].join(''))],
  ['a GitHub token', new RegExp(['gh[pousr]_', '[A-Za-z0-9]{36}'].join(''))],
  ['a Slack token', new RegExp(['xox[abprs]-', '[A-Za-z0-9-]{10,}'].join(''))],
  ['an npm token', new RegExp(['npm_', '[A-Za-z0-9]{36}'].join(''))],
];

describe('the repository', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && !file.endsWith('package-lock.json'));

  it('is a git checkout with files to check', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('holds no credentials', () => {
    const found: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), 'utf8');
      } catch {
        continue; // listed but absent (a deleted, uncommitted file)
      }
      for (const [what, pattern] of PATTERNS) {
        // Test fixtures use made-up keys marked EXAMPLE, as AWS's documentation does.
        const hits = [...text.matchAll(new RegExp(pattern.source, `${pattern.flags}g`))];
        if (hits.some((hit) => !hit[0].includes('EXAMPLE'))) found.push(`${file}: ${what}`);
      }
    }
    expect(found).toEqual([]);
  });
});
