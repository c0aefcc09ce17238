import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * cfn-lint, AWS's CloudFormation linter, from PyPI. It knows every resource
 * type's properties and the values AWS accepts (engine versions, runtimes),
 * which no hand-written check here can keep up with.
 */
export const CFN_LINT_VERSION = '1.58.0';

const RUN = 'import sys; from cfnlint.runner import main; sys.exit(main())';

/** Where cfn-lint can be run from, or why it cannot. */
export type CfnLint =
  | {
      readonly available: true;
      readonly python: string;
      readonly libDir: string;
      /** The environment Python and pip run with (PATH, proxies, pip settings). */
      readonly env: Env;
    }
  | { readonly available: false; readonly reason: string };

/** An environment handed to child processes. */
type Env = Readonly<Record<string, string | undefined>>;

function findPython(env: Env): string | undefined {
  for (const candidate of ['python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info[0])'], {
      encoding: 'utf8',
      env,
    });
    if (probe.status === 0 && probe.stdout.trim() === '3') return candidate;
  }
  return undefined;
}

/**
 * Installs the pinned cfn-lint into `<root>/node_modules/.cache/cfn-lint/<version>`
 * the first time (about 30 s, with pip), and reuses it afterwards. Safe when
 * two test processes ask at once: each installs into its own directory and
 * the first to finish publishes it with an atomic rename. Python and pip
 * run with `env`, the caller's environment (this package reads none itself).
 */
export function ensureCfnLint(root: string, env: Env): CfnLint {
  const python = findPython(env);
  if (python === undefined) {
    return { available: false, reason: 'no python3 on PATH; cfn-lint (from PyPI) needs Python' };
  }
  const cache = join(root, 'node_modules', '.cache', 'cfn-lint');
  const libDir = join(cache, CFN_LINT_VERSION);
  if (!existsSync(libDir)) {
    mkdirSync(cache, { recursive: true });
    const staging = `${libDir}.${String(process.pid)}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    const pip = spawnSync(
      python,
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        '--target',
        staging,
        `cfn-lint==${CFN_LINT_VERSION}`,
      ],
      { encoding: 'utf8', timeout: 300_000, env },
    );
    if (pip.status !== 0) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(
        `pip could not install cfn-lint==${CFN_LINT_VERSION}: ${(pip.stderr || String(pip.error)).trim()}`,
      );
    }
    try {
      renameSync(staging, libDir);
    } catch (error) {
      // Another process published it first; use that one.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(libDir)) throw error;
    }
  }
  return { available: true, python, libDir, env };
}

/** Runs cfn-lint over templates; `problems` is empty when they pass. */
export function runCfnLint(
  lint: Extract<CfnLint, { available: true }>,
  templates: readonly string[],
  options: { readonly ignoreChecks?: readonly string[] } = {},
): { exitCode: number; problems: string[] } {
  const args = ['-c', RUN, '--format', 'parseable'];
  for (const check of options.ignoreChecks ?? []) args.push('--ignore-checks', check);
  const result = spawnSync(lint.python, [...args, '--', ...templates], {
    encoding: 'utf8',
    env: { ...lint.env, PYTHONPATH: lint.libDir },
    timeout: 300_000,
  });
  if (result.status === null) throw new Error(`cfn-lint did not finish: ${String(result.error)}`);
  const problems = result.stdout.split('\n').filter((line) => line.trim() !== '');
  // Exit status is a bit mask: 2 errors, 4 warnings, 8 informational.
  if ((result.status & ~(2 | 4 | 8)) !== 0) {
    throw new Error(`cfn-lint failed to run (${String(result.status)}): ${result.stderr.trim()}`);
  }
  return { exitCode: result.status, problems };
}
