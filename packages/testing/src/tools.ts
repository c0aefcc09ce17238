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
  const { grpcurl: given, all } = testingEnv();
  if (given !== undefined) return given;
  const dir = join(CACHE, `grpcurl-${GRPCURL_VERSION}`);
  const binary = join(dir, 'grpcurl');
  if (await exists(binary)) return binary;

  await mkdir(CACHE, { recursive: true });
  // Built into a directory of its own, then moved in place in one step, so
  // test files that ask at the same time never run a half-written binary.
  const scratch = await mkdtemp(join(CACHE, 'grpcurl-build-'));
  try {
    await run('go', ['install', `${GRPCURL_MODULE}@${GRPCURL_VERSION}`], {
      env: { ...all, GOBIN: scratch, CGO_ENABLED: '0' },
      timeout: 600_000,
    }).catch((error: unknown) => {
      const { code, stderr } = error as { code?: string; stderr?: string };
      throw new Error(
        code === 'ENOENT'
          ? `the gRPC reflection tests need grpcurl: install Go 1.22 or newer (it is built with 'go install ${GRPCURL_MODULE}@${GRPCURL_VERSION}'), or set GRPCURL to a grpcurl binary`
          : `go install ${GRPCURL_MODULE}@${GRPCURL_VERSION} failed: ${stderr ?? String(error)}`,
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
