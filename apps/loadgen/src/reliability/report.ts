import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';

/** One line of a suite's table in docs/reliability.md. */
export interface ReportRow {
  readonly scenario: string;
  readonly injected: string;
  readonly expected: string;
  readonly counted: string;
  readonly passed: boolean;
}

/** A claim a scenario makes, and whether the counts bear it out. */
export interface Claim {
  readonly what: string;
  readonly ok: boolean;
}

/**
 * Adds a scenario's row to `rows` (expected: its claims; passed: all hold)
 * and returns the claims that did not hold, for the test to fail on.
 */
export function recordRow(
  rows: ReportRow[],
  row: Omit<ReportRow, 'passed' | 'expected'>,
  claims: readonly Claim[],
): string[] {
  const failed = claims.filter((c) => !c.ok).map((c) => c.what);
  rows.push({
    ...row,
    expected: claims.map((c) => c.what).join('; '),
    passed: failed.length === 0,
  });
  return failed;
}

/** docs/reliability.md at the repository root. */
export const RELIABILITY_DOC = fileURLToPath(
  new URL('../../../../docs/reliability.md', import.meta.url),
);

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown of one suite's last run. */
export function renderTable(rows: readonly ReportRow[], meta: { profile: string }): string {
  const date = new Date().toISOString().slice(0, 10);
  const passed = rows.filter((row) => row.passed).length;
  return [
    `Last run: ${date}, profile \`${meta.profile}\`, ${String(passed)} of ${String(rows.length)} passed.`,
    '',
    '| scenario | injected | expected | counted | result |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${cell(row.scenario)} | ${cell(row.injected)} | ${cell(row.expected)} | ${cell(row.counted)} | ${row.passed ? 'pass' : '**FAIL**'} |`,
    ),
  ].join('\n');
}

/**
 * Replaces the part of docs/reliability.md between
 * `<!-- suite:begin -->` and `<!-- suite:end -->` with this run's table,
 * formatted the way the repository's prettier check expects.
 */
export async function writeSuiteTable(
  suite: string,
  rows: readonly ReportRow[],
  meta: { profile: string },
): Promise<void> {
  if (rows.length === 0) return;
  const doc = await readFile(RELIABILITY_DOC, 'utf8');
  const begin = `<!-- ${suite}:begin -->`;
  const end = `<!-- ${suite}:end -->`;
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from)
    throw new Error(`docs/reliability.md has no ${begin} ... ${end} section`);
  const updated = `${doc.slice(0, from + begin.length)}\n\n${renderTable(rows, meta)}\n\n${doc.slice(to)}`;
  const options = (await resolveConfig(RELIABILITY_DOC)) ?? {};
  await writeFile(RELIABILITY_DOC, await format(updated, { ...options, parser: 'markdown' }));
}
