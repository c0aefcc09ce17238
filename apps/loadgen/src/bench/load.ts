// The bench's load generators, each in a process of its own: autocannon
// (HTTP) and a closed loop of pg statements through load-runner.js, and
// ghz (gRPC). The bench process only starts them and reads their figures.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runCommand } from '@comms/infra';
import type { Measurement } from '@comms/load';

/** HTTP load from autocannon, `concurrency` connections. */
export interface HttpLoadSpec {
  readonly kind: 'http';
  readonly name: string;
  /**
   * Several URLs share the connections: connection i keeps to URL i mod n
   * (autocannon's own spreading), so each instance gets its share of the
   * same connections, from the same single generator process.
   */
  readonly url: string | readonly string[];
  readonly method: 'GET' | 'POST';
  readonly body?: string;
  /** Sent with every request, such as `authorization` (a bearer token). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly concurrency: number;
  readonly durationMs: number;
}

/** A closed loop of one statement, `concurrency` at a time, on a pool of `poolSize`. */
export interface PgLoadSpec {
  readonly kind: 'pg';
  readonly name: string;
  readonly url: string;
  readonly poolSize: number;
  readonly sql: string;
  readonly params: readonly string[];
  /** The parameter that gets a new UUID on every call (an insert's key). */
  readonly freshIdParam?: number;
  /** BEGIN, the statement, COMMIT. */
  readonly transaction: boolean;
  /** The row count each call must return, else it counts as an error. */
  readonly rows?: number;
  readonly concurrency: number;
  readonly durationMs: number;
}

export type LoadSpec = HttpLoadSpec | PgLoadSpec;

// The built file, whether this module runs from dist/ or (in tests) from src/.
const RUNNER = fileURLToPath(new URL('../../dist/bench/load-runner.js', import.meta.url));

/** What the classifier looks for in a command line to name the load generator. */
export const GENERATOR_MARKS = ['load-runner.js', '/ghz'] as const;

/** A trial that has finished in its child process, which waits for `release` to end. */
export interface FinishedLoad {
  readonly measurement: Measurement;
  /** Lets the child close its connections and exit; resolves once it has. */
  readonly release: () => Promise<void>;
}

/**
 * Runs one trial in a child process and resolves with its figures while the
 * child still holds its connections, so the CPU reading taken before
 * `release` still sees them.
 */
export function startLoad(spec: LoadSpec): Promise<FinishedLoad> {
  const child = spawn(process.execPath, [RUNNER, JSON.stringify(spec)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000));
  child.stderr.on('data', keep);
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), spec.durationMs + 60_000);
  const release = async () => {
    child.stdin.end();
    await exit;
    clearTimeout(timer);
  };
  return new Promise<FinishedLoad>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => {
      try {
        resolve({ measurement: JSON.parse(line) as Measurement, release });
      } catch {
        keep(Buffer.from(line));
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `the load runner (${spec.name}) exited with code ${String(code)}: ${output.slice(-2_000)}`,
        ),
      );
    });
  });
}

/** One unary method, called by ghz with the same JSON request every time. */
export interface GrpcLoadSpec {
  readonly name: string;
  /** host:port */
  readonly address: string;
  /** The .proto file that declares `call`, and where its imports are found. */
  readonly proto: string;
  readonly importPaths: readonly string[];
  /** package.Service.Method */
  readonly call: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** Metadata sent with every call, such as `authorization` (a bearer token). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly concurrency: number;
  readonly durationMs: number;
}

/** The part of ghz's JSON report (`-O json`) the bench reads; latencies in nanoseconds. */
export interface GhzReport {
  readonly endReason?: string;
  readonly count: number;
  readonly total: number;
  readonly latencyDistribution: ReadonlyArray<{ percentage: number; latency: number }> | null;
  readonly statusCodeDistribution?: Readonly<Record<string, number>> | null;
  readonly errorDistribution?: Readonly<Record<string, number>> | null;
}

// How a call fails when ghz itself closes the connection at the end of its
// duration while the call is still in flight.
const CUT_OFF =
  /use of closed network connection|transport is closing|context canceled|client connection is closing|code = Canceled/;

/**
 * ghz's report as a Measurement: OK calls are samples, every other status
 * an error, except the calls ghz cut off itself when its time was up (at
 * most one per worker), which are neither, as a closed loop awaits its
 * last calls instead.
 */
export function fromGhz(name: string, report: GhzReport, concurrency: number): Measurement {
  const statuses = report.statusCodeDistribution ?? {};
  const ok = statuses['OK'] ?? 0;
  const failed = Object.entries(statuses).reduce(
    (sum, [status, count]) => sum + (status === 'OK' ? 0 : count),
    0,
  );
  const cutOff =
    report.endReason === 'timeout'
      ? Math.min(
          concurrency,
          Object.entries(report.errorDistribution ?? {}).reduce(
            (sum, [message, count]) => sum + (CUT_OFF.test(message) ? count : 0),
            0,
          ),
        )
      : 0;
  const at = (percentage: number) => {
    const entry = (report.latencyDistribution ?? []).find((d) => d.percentage === percentage);
    return entry === undefined ? Number.NaN : Math.round(entry.latency / 1_000) / 1_000;
  };
  const durationMs = report.total / 1e6;
  return {
    name,
    requests: ok,
    errors: failed - cutOff,
    durationMs: Math.round(durationMs),
    rps: durationMs > 0 ? Math.round((ok / durationMs) * 1000 * 10) / 10 : 0,
    p50Ms: at(50),
    p95Ms: at(95),
    p99Ms: at(99),
  };
}

/**
 * ghz's arguments for one trial, its JSON report written to `out`; the
 * spec's metadata (a bearer token) goes with every call.
 */
export function ghzArgs(spec: GrpcLoadSpec, out: string): string[] {
  return [
    '--insecure',
    '--proto',
    spec.proto,
    '--import-paths',
    spec.importPaths.join(','),
    '--call',
    spec.call,
    '--data',
    JSON.stringify(spec.data),
    ...(spec.metadata === undefined || Object.keys(spec.metadata).length === 0
      ? []
      : ['--metadata', JSON.stringify(spec.metadata)]),
    '--concurrency',
    String(spec.concurrency),
    '--connections',
    '1',
    '--duration',
    `${String(Math.round(spec.durationMs))}ms`,
    '--format',
    'json',
    '--output',
    out,
    spec.address,
  ];
}

/**
 * One trial with ghz (`ghz` is its path): `concurrency` calls in flight on
 * one connection, as the grpc-js clients the services use keep one channel.
 */
export async function ghzLoad(ghz: string, spec: GrpcLoadSpec): Promise<Measurement> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-ghz-'));
  const out = join(dir, 'report.json');
  try {
    const { code, output, error } = await runCommand(ghz, ghzArgs(spec, out), {
      timeoutMs: spec.durationMs + 60_000,
    });
    if (code !== 0)
      throw new Error(
        `ghz (${spec.name}) failed with code ${String(code)}: ${error?.message ?? output.slice(-2_000)}`,
      );
    return fromGhz(
      spec.name,
      JSON.parse(await readFile(out, 'utf8')) as GhzReport,
      spec.concurrency,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
