import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCfnLint, runCfnLint } from './cfn-lint.js';
import type { CfnLint } from './cfn-lint.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const templates = readdirSync(join(ROOT, 'copilot'), { recursive: true, encoding: 'utf8' })
  .filter((path) => /\/addons\/[^/]+\.yml$/.test(path) && !path.endsWith('addons.parameters.yml'))
  .map((path) => join(ROOT, 'copilot', path))
  .sort();

let lint: CfnLint;
const scratch = mkdtempSync(join(tmpdir(), 'cfn-lint-'));

beforeAll(() => {
  lint = ensureCfnLint(ROOT, process.env);
  if (!lint.available) console.warn(`cfn-lint checks skipped: ${lint.reason}`);
}, 300_000);
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('cfn-lint over the Copilot addon templates', () => {
  it('finds the addon templates', () => {
    expect(templates.length).toBe(8);
  });

  it('passes every template', (context) => {
    if (!lint.available) return context.skip(lint.reason);
    expect(runCfnLint(lint, templates).problems).toEqual([]);
  }, 120_000);

  it('would catch an engine version AWS no longer accepts', (context) => {
    if (!lint.available) return context.skip(lint.reason);
    const source = templates.find((t) => t.endsWith('user-service/addons/database.yml')) ?? '';
    const stale = join(scratch, 'database.yml');
    writeFileSync(
      stale,
      readFileSync(source, 'utf8').replace(/EngineVersion: '[^']+'/, "EngineVersion: '16.6'"),
    );
    const { problems } = runCfnLint(lint, [stale]);
    expect(problems.join('\n')).toMatch(/EngineVersion|Engine version/);
  }, 120_000);
});
