import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { inject } from 'vitest';
import pg from 'pg';
import { withDatabase } from '@comms/postgres';
import { describeExit, quoteLines } from '@comms/infra';
import { pollUntil } from '@comms/resilience';

/** The run's PostgreSQL and Kafka, as provided by the global setup. */
export function testInfra(): {
  databaseUrl: string;
  kafkaBrokers: string;
  kafkaClient: 'kafkajs' | 'platformatic';
} {
  const infra = inject('commsInfra');
  if (infra === undefined) {
    throw new Error(
      "no test infra: add globalSetup: ['@comms/testing/global-setup'] to this package's vitest config",
    );
  }
  return infra;
}

/** A name no other test uses: `prefix-<random>`, safe as a topic or group id. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** A database that belongs to one test file. */
export interface TestDatabase {
  readonly name: string;
  /** Superuser URL of the new database. */
  readonly url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database for one test file; creating a database costs
 * milliseconds where starting a server costs seconds.
 */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const { databaseUrl } = testInfra();
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(databaseUrl, name),
    async drop() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** How long to wait before failing. Default 15 000 ms. */
  readonly timeoutMs?: number;
  /** Pause between checks. Default 50 ms. */
  readonly intervalMs?: number;
  /** What was awaited, for the failure ("user-service did not become ready"). */
  readonly message?: string;
  /**
   * A process the condition depends on: when it exits, waiting fails at
   * once (not at the deadline) with its exit code or signal and its last
   * output lines.
   */
  readonly process?: ChildProcess;
  /**
   * Everything the process printed so far, when the caller collects it.
   * Without it, waitFor keeps what the process prints while it waits.
   */
  readonly output?: () => string;
}

/** The last `count` non-empty lines of `text`, quoted as the launcher quotes them. */
function lastLines(text: string, count = 20): string {
  return quoteLines(
    text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-count),
  );
}

/**
 * Rejects once `child` has exited, naming its exit code or signal and its
 * last output lines; `cancel` detaches it. Collects output itself when the
 * caller does not.
 */
function failOnExit(
  child: ChildProcess,
  message: string,
  output: (() => string) | undefined,
): { gone: Promise<never>; failure: () => Error | undefined; cancel: () => void } {
  let seen = '';
  const collect = (chunk: Buffer) => {
    seen = (seen + chunk.toString('utf8')).slice(-20_000);
  };
  if (output === undefined) {
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }
  let onExit: () => void = () => undefined;
  let failure: Error | undefined;
  const gone = new Promise<never>((_, reject) => {
    onExit = () => {
      // 'exit' can come before the last output is read; give 'close' a moment.
      const closed = new Promise((resolve) => child.once('close', resolve));
      void Promise.race([closed, delay(250)]).then(() => {
        const text = output?.() ?? seen;
        failure = new Error(
          `${message}: the process (pid ${String(child.pid)}) ${describeExit(child.exitCode, child.signalCode)}; its last output:\n${lastLines(text)}`,
        );
        reject(failure);
      });
    };
    if (child.exitCode !== null || child.signalCode !== null) onExit();
    else child.once('exit', onExit);
  });
  gone.catch(() => undefined);
  return {
    gone,
    failure: () => failure,
    cancel() {
      child.off('exit', onExit);
      child.stdout?.off('data', collect);
      child.stderr?.off('data', collect);
    },
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `check` returns a value other than undefined, polling every
 * `intervalMs`; fails with `message` and the last error after `timeoutMs`,
 * or at once when the watched `process` exits.
 * Use it instead of sleeping: it waits only as long as needed.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const message = options.message ?? 'condition not met';
  const watch =
    options.process === undefined
      ? undefined
      : failOnExit(options.process, message, options.output);
  // The process's exit ends the wait at once: it races each check (so a
  // check that hangs cannot hide it) and aborts the pause between checks.
  const exited = new AbortController();
  watch?.gone.catch((failure: unknown) => exited.abort(failure));
  const orExit = <V>(pending: Promise<V>): Promise<V> =>
    watch === undefined ? pending : Promise.race([pending, watch.gone]);
  try {
    return await pollUntil(() => orExit(Promise.resolve().then(check)), {
      timeoutMs,
      intervalMs: options.intervalMs ?? 50,
      signal: exited.signal,
      transient: (error) => error === undefined || error !== watch?.failure(),
      onTimeout: (lastError) => {
        const last = lastError instanceof Error ? lastError.message : JSON.stringify(lastError);
        const suffix = lastError === undefined ? '' : `; last error: ${last}`;
        return new Error(`${message} within ${timeoutMs} ms${suffix}`);
      },
    });
  } finally {
    watch?.cancel();
  }
}
