import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '@comms/infra';
import { RELIABILITY } from './config.js';

/**
 * Schemathesis, the property-based OpenAPI fuzzer, installed from PyPI into
 * infra/fuzz/.venv at the version pinned in infra/fuzz/requirements.txt.
 */

const FUZZ_HOME = fileURLToPath(new URL('../../../../infra/fuzz/', import.meta.url));
const VENV = join(FUZZ_HOME, '.venv');
const MARKER = join(VENV, '.installed');
const BIN = join(VENV, 'bin', 'schemathesis');

/** Runs one of the fuzzer's tools to completion, in the suites' tool environment. */
async function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs: number; env?: Readonly<Record<string, string>> },
): Promise<{ code: number | null; output: string }> {
  const result = await runCommand(command, args, {
    ...options,
    env: { ...RELIABILITY.toolEnv, ...options.env },
  });
  return {
    code: result.code,
    output:
      result.error === undefined ? result.output : `${result.output}\n${result.error.message}`,
  };
}

/** Makes sure the pinned schemathesis is installed; resolves with its executable. */
export async function ensureSchemathesis(log: (line: string) => void = () => undefined) {
  const requirements = await readFile(join(FUZZ_HOME, 'requirements.txt'));
  const hash = createHash('sha256').update(requirements).digest('hex');
  if ((await readFile(MARKER, 'utf8').catch(() => '')).trim() === hash) return BIN;

  const python = await run(
    'python3',
    ['-c', 'import sys, venv; print(sys.version_info >= (3, 11))'],
    {
      timeoutMs: 30_000,
    },
  );
  if (python.code !== 0 || !python.output.includes('True'))
    throw new Error(
      `the REST fuzzer needs Python 3.11+ with venv (python3 said: ${python.output.trim() || 'not found'}); install python3 and python3-venv`,
    );
  log('installing schemathesis into infra/fuzz/.venv (first run only)...');
  await rm(VENV, { recursive: true, force: true });
  for (const [command, args] of [
    ['python3', ['-m', 'venv', VENV]],
    [
      join(VENV, 'bin', 'pip'),
      ['install', '-q', '--disable-pip-version-check', '-r', join(FUZZ_HOME, 'requirements.txt')],
    ],
  ] as const) {
    const result = await run(command, args, { timeoutMs: 10 * 60_000 });
    if (result.code !== 0)
      throw new Error(
        `installing schemathesis failed (${command} ${args.join(' ')}):\n${result.output.trim().split('\n').slice(-15).join('\n')}`,
      );
  }
  await writeFile(MARKER, `${hash}\n`);
  return BIN;
}

/** What one fuzzing run of one OpenAPI document found. */
export interface FuzzResult {
  readonly exitCode: number | null;
  /** Test cases generated and sent. */
  readonly generated: number;
  readonly operations: number;
  /** Unique failures per check, by its code and title (`ST101 Server error`). */
  readonly failures: Readonly<Record<string, number>>;
  /** Errors that stopped cases from running (network errors, schema problems). */
  readonly errors: readonly string[];
  /**
   * Operations that answered nothing but 401 (schemathesis's "Authentication
   * failed" warning): the token given was not accepted there.
   */
  readonly onlyUnauthorized: readonly string[];
  /** The tail of schemathesis's own output, for a failing test's message. */
  readonly output: string;
}

/** The operations schemathesis's "Authentication failed" warning lists under 401. */
export function onlyUnauthorized(output: string): string[] {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => /^\s*401 Unauthorized \(\d+ operations?\):/.test(line));
  if (start < 0) return [];
  const found: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const item = /^\s+- (.+)$/.exec(line);
    if (item === null) break;
    found.push(item[1] ?? '');
  }
  return found;
}

interface JsonReport {
  exit_code?: number;
  failures?: { code?: string; title?: string; count?: number }[];
  errors?: { title?: string; count?: number }[];
  test_cases?: { generated?: number };
  operations?: { tested?: number };
}

/**
 * How the fuzzer is told about this system (docs/reliability.md, the fuzz
 * section, says why):
 * - no NUL in generated text: the storable-text pattern is one schemathesis
 *   cannot compile (its regex engine has no lone surrogates), so it drops
 *   the pattern and would send NUL, which every service refuses on purpose;
 *   the text-input tests cover NUL and lone surrogates instead;
 * - 422 is an answer to a valid request: FAILED_PRECONDITION depends on
 *   state the document cannot describe (an unknown user, a cancelled
 *   order), as 404 and 409 do.
 */
const CONFIG = `[generation]
allow-x00 = false

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
`;

/** The variable the configuration reads the caller's token from. */
const TOKEN_VARIABLE = 'COMMS_FUZZ_TOKEN';

/** The token for the documents' bearer scheme (service-kit names it bearerAuth). */
const BEARER_CONFIG = `
[auth.openapi.bearerAuth]
bearer = "\${${TOKEN_VARIABLE}}"
`;

/**
 * Fuzzes every operation of the OpenAPI document at `documentUrl` with all
 * of schemathesis's checks and all four phases (examples, coverage,
 * fuzzing, and stateful sequences through the links it infers), with a
 * fixed seed (unless `seed` is undefined) so a run can be repeated.
 */
export async function fuzzOpenApi(options: {
  bin: string;
  documentUrl: string;
  maxExamples: number;
  seed?: number;
  excludePaths?: readonly string[];
  /**
   * The caller's access token, given to schemathesis as the document's own
   * bearer scheme (`bearerAuth`, `[auth.openapi.bearerAuth]`) rather than a
   * plain `-H` header: so it sends the token only where an operation
   * declares the scheme, and its ignored_auth check can take it away (or
   * break it) to see each secured operation refuse the request. The token
   * travels in the environment, not on the command line.
   */
  bearer?: string;
}): Promise<FuzzResult> {
  const dir = await mkdtemp(join(tmpdir(), 'comms-fuzz-'));
  const report = join(dir, 'report.json');
  try {
    await writeFile(
      join(dir, 'schemathesis.toml'),
      options.bearer === undefined ? CONFIG : `${CONFIG}${BEARER_CONFIG}`,
    );
    const args = [
      '--no-color',
      '--config-file',
      join(dir, 'schemathesis.toml'),
      'run',
      options.documentUrl,
      '--checks',
      'all',
      '--phases',
      'examples,coverage,fuzzing,stateful',
      '--max-examples',
      String(options.maxExamples),
      '--generation-database',
      'none',
      '--request-timeout',
      '10',
      '--workers',
      '1',
      ...(options.seed === undefined ? [] : ['--seed', String(options.seed)]),
      ...(options.excludePaths ?? []).flatMap((path) => ['--exclude-path', path]),
      '--report',
      'json',
      '--report-json-path',
      report,
    ];
    const result = await run(options.bin, args, {
      cwd: dir,
      timeoutMs: 15 * 60_000,
      ...(options.bearer === undefined ? {} : { env: { [TOKEN_VARIABLE]: options.bearer } }),
    });
    const parsed = JSON.parse(await readFile(report, 'utf8').catch(() => '{}')) as JsonReport;
    const failures: Record<string, number> = {};
    for (const failure of parsed.failures ?? [])
      failures[`${failure.code ?? '?'} ${failure.title ?? ''}`.trim()] = failure.count ?? 1;
    return {
      exitCode: result.code,
      generated: parsed.test_cases?.generated ?? 0,
      operations: parsed.operations?.tested ?? 0,
      failures,
      errors: (parsed.errors ?? []).map((e) => `${e.title ?? '?'} ×${String(e.count ?? 1)}`),
      onlyUnauthorized: onlyUnauthorized(result.output),
      output: result.output.split('\n').slice(-300).join('\n'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
