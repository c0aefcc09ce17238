import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { testingEnv } from './config.js';

const run = promisify(execFile);

/** grpcurl, the gRPC client most people reach for first; pinned so every run tests the same client. */
export const GRPCURL_MODULE = 'github.com/fullstorydev/grpcurl/cmd/grpcurl';
/** The grpcurl release the tests use. */
export const GRPCURL_VERSION = 'v1.9.4';

const CACHE = fileURLToPath(new URL('../../../node_modules/.cache/tools/', import.meta.url));

/** oasdiff, the OpenAPI diff tool whose breaking-change rules the REST contract tests apply; pinned. */
export const OASDIFF_MODULE = 'github.com/oasdiff/oasdiff';
/** The oasdiff release the tests use. */
export const OASDIFF_VERSION = 'v1.38.0';

/**
 * Path to a grpcurl binary: `$GRPCURL` when set, else the pinned release,
 * built once with `go install` from the Go module proxy into
 * `node_modules/.cache/tools/` (about a minute the first time). Fails with
 * what to install when there is no Go.
 *
 * Tests run it as an outside client would: it shares none of this
 * project's code or assumptions, so what it can discover through server
 * reflection is what grpcurl, grpcui, Postman and Evans users get.
 */
export async function grpcurl(): Promise<string> {
  const { grpcurl: given } = testingEnv();
  if (given !== undefined) return given;
  return goInstalled(GRPCURL_MODULE, GRPCURL_VERSION, 'grpcurl', {
    needed: 'the gRPC reflection tests need grpcurl',
    instead: 'or set GRPCURL to a grpcurl binary',
  });
}

/**
 * Path to an oasdiff binary, the pinned release built as {@link grpcurl}
 * is (once, from the Go module proxy). The REST contract tests run its
 * `breaking` check, a kept tool's rules rather than a hand-written differ.
 */
export async function oasdiff(): Promise<string> {
  return goInstalled(OASDIFF_MODULE, OASDIFF_VERSION, 'oasdiff', {
    needed: 'the REST breaking-change checks need oasdiff',
  });
}

/** What oasdiff's `breaking` check says of a change from one OpenAPI document to another. */
export interface OpenApiBreaking {
  /** True when it found a change of severity error: a client of `base` would break. */
  readonly breaking: boolean;
  /** Its report, one change per entry, as text. */
  readonly report: string;
}

/**
 * Runs `oasdiff breaking base revision` (file paths) with the pinned
 * oasdiff. Fails when oasdiff cannot compare them at all (a missing or
 * invalid document).
 */
export async function openApiBreakingChanges(
  base: string,
  revision: string,
): Promise<OpenApiBreaking> {
  const binary = await oasdiff();
  try {
    const { stdout } = await run(binary, ['breaking', base, revision, '--fail-on', 'ERR'], {
      timeout: 120_000,
    });
    return { breaking: false, report: stdout };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    // 1: breaking changes found; anything else: it could not compare.
    if (code === 1) return { breaking: true, report: `${stdout ?? ''}${stderr ?? ''}` };
    throw new Error(`oasdiff breaking ${base} ${revision} failed: ${stderr ?? String(error)}`);
  }
}

/** ghz, the gRPC load tool the bench (npm run bench) drives its gRPC cases with; pinned. */
export const GHZ_MODULE = 'github.com/bojand/ghz/cmd/ghz';
/** The ghz release the bench uses. */
export const GHZ_VERSION = 'v0.120.0';

/**
 * Path to a ghz binary, the pinned release built as {@link grpcurl} is
 * (once, from the Go module proxy, about three minutes the first time). The
 * bench loads its gRPC subjects and baselines with it, a load generator in
 * a process of its own that shares no code with what it measures.
 */
export async function ghz(): Promise<string> {
  return goInstalled(GHZ_MODULE, GHZ_VERSION, 'ghz', {
    needed: 'the gRPC benchmarks need ghz',
    instead: 'or pass --ghz with a ghz binary',
  });
}

/** A Go tool `go install`ed once into the cache, its path; fails saying what to install. */
async function goInstalled(
  module: string,
  version: string,
  name: string,
  why: { readonly needed: string; readonly instead?: string },
): Promise<string> {
  const { all } = testingEnv();
  const dir = join(CACHE, `${name}-${version}`);
  const binary = join(dir, name);
  if (await exists(binary)) return binary;

  await mkdir(CACHE, { recursive: true });
  // Built into a directory of its own, then moved in place in one step, so
  // test files that ask at the same time never run a half-written binary.
  const scratch = await mkdtemp(join(CACHE, `${name}-build-`));
  try {
    await run('go', ['install', `${module}@${version}`], {
      env: { ...all, GOBIN: scratch, CGO_ENABLED: '0' },
      timeout: 600_000,
    }).catch((error: unknown) => {
      const { code, stderr } = error as { code?: string; stderr?: string };
      throw new Error(
        code === 'ENOENT'
          ? `${why.needed}: install Go 1.22 or newer (it is built with 'go install ${module}@${version}')${why.instead === undefined ? '' : `, ${why.instead}`}`
          : `go install ${module}@${version} failed: ${stderr ?? String(error)}`,
      );
    });
    await rename(scratch, dir).catch(async (error: unknown) => {
      // Another test file finished first: use its binary.
      if (!(await exists(binary))) throw error;
    });
    return binary;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** `buf`, from the @bufbuild/buf package the contracts package already builds with. */
export function buf(): string {
  return fileURLToPath(new URL('../../../node_modules/.bin/buf', import.meta.url));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
