import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import autocannon from 'autocannon';
import { UserServiceClient, ValidateUserRequest } from '@comms/contracts/grpc';
import { startSystem } from '../system.js';
import type { RunningSystem } from '../system.js';
import { ECHO_SERVICE } from './echo.js';
import { closedLoop, summarise } from './measure.js';
import type { Measurement } from './measure.js';

/** How long and how hard to push each case. */
export interface BenchOptions {
  /** Per measured case. Quick mode: 10 s; long mode: 60 s. */
  readonly durationMs: number;
  /** Connections (HTTP) or calls in flight (gRPC), the same for subject and baseline. */
  readonly concurrency: number;
  /** Environment the infrastructure is chosen from (as for npm start). */
  readonly infraEnv?: Readonly<Record<string, string | undefined>>;
  /** Attach to a system that is already running instead of starting one (left running). */
  readonly system?: RunningSystem;
  readonly log?: (line: string) => void;
}

/** One style beside the raw baseline of its transport. */
export interface Comparison {
  readonly style: string;
  readonly question: string;
  readonly subject: Measurement;
  readonly baseline: Measurement;
  /** subject rps / baseline rps. */
  readonly ratio: number;
  /** The ratio the issue asks for, when it sets one. */
  readonly targetRatio?: number;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly mode: { readonly durationMs: number; readonly concurrency: number };
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly node: string;
    readonly platform: string;
    readonly infra: string;
  };
  readonly comparisons: readonly Comparison[];
}

// The built file, whether this module runs from dist/ or (in tests) from src/.
const BARE_SERVERS = fileURLToPath(new URL('../../dist/bench/bare-servers.js', import.meta.url));

async function startBareServers(): Promise<{ http: number; grpc: number; stop: () => void }> {
  const child = spawn(process.execPath, [BARE_SERVERS], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => {
      reject(new Error(`the bare baseline servers exited with code ${String(code)}`));
    });
  });
  const ports = JSON.parse(first) as { http: number; grpc: number };
  return { ...ports, stop: () => child.kill('SIGTERM') };
}

/** HTTP load with autocannon; every response time is kept for exact percentiles. */
async function httpLoad(name: string, url: string, options: BenchOptions): Promise<Measurement> {
  const latencies: number[] = [];
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url, connections: options.concurrency, duration: options.durationMs / 1000 },
      (error: unknown, finished: autocannon.Result) => {
        if (error === null || error === undefined) resolve(finished);
        else
          reject(
            error instanceof Error ? error : new Error(`autocannon: ${JSON.stringify(error)}`),
          );
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 400) latencies.push(responseTime);
    });
  });
  const errors = result.errors + result.timeouts + result.non2xx;
  return summarise(name, latencies, errors, performance.now() - started);
}

const unary = <T>(invoke: (done: (error: ServiceError | null, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => {
    invoke((error, value) => {
      if (error === null) resolve(value as T);
      else reject(error);
    });
  });

function compare(
  style: string,
  question: string,
  subject: Measurement,
  baseline: Measurement,
  targetRatio?: number,
): Comparison {
  const ratio = baseline.rps > 0 ? Math.round((subject.rps / baseline.rps) * 1000) / 1000 : 0;
  return targetRatio === undefined
    ? { style, question, subject, baseline, ratio }
    : { style, question, subject, baseline, ratio, targetRatio };
}

/**
 * Starts the real system (native PostgreSQL and Kafka unless the
 * environment names others) and bare baseline servers, measures each style
 * beside its baseline one after the other, and stops everything it started.
 */
export async function runBenchmarks(options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const owned = options.system === undefined;
  const system =
    options.system ??
    (await startSystem({
      ports: 'random',
      log,
      env: { LOG_LEVEL: 'warn' },
      ...(options.infraEnv === undefined ? {} : { infraEnv: options.infraEnv }),
    }));
  const bare = await startBareServers().catch(async (error: unknown) => {
    if (owned) await system.stop();
    throw error;
  });
  const comparisons: Comparison[] = [];
  try {
    const users = system.services['user-service'];
    const created = await fetch(`${users.http}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bench Mark', email: `bench-${Date.now()}@example.com` }),
    });
    if (created.status !== 201) throw new Error(`creating the bench user: ${created.status}`);
    const { id: userId } = (await created.json()) as { id: string };

    log(`REST: GET /users/:id vs bare fastify (${String(options.durationMs / 1000)} s each)`);
    const restBaseline = await httpLoad(
      'bare fastify GET /hello',
      `http://127.0.0.1:${String(bare.http)}/hello`,
      options,
    );
    const rest = await httpLoad(
      'user-service GET /users/:id',
      `${users.http}/users/${userId}`,
      options,
    );
    comparisons.push(
      compare(
        'REST',
        'a fastify route that reads PostgreSQL vs an empty one',
        rest,
        restBaseline,
        0.6,
      ),
    );

    log('gRPC: ValidateUser vs bare grpc-js echo');
    const userClient = new UserServiceClient(users.grpc ?? '', credentials.createInsecure());
    const Echo = makeGenericClientConstructor(ECHO_SERVICE, 'EchoService');
    const echoClient = new Echo(`127.0.0.1:${String(bare.grpc)}`, credentials.createInsecure());
    const request = ValidateUserRequest.encode({ userId }).finish();
    const echoPayload = Buffer.from(request);
    try {
      const grpcBaseline = await closedLoop('bare grpc-js unary echo', options, async () => {
        await unary<Buffer>((done) => {
          echoClient.makeUnaryRequest(
            ECHO_SERVICE['echo']?.path ?? '',
            (value: Buffer) => value,
            (bytes: Buffer) => bytes,
            echoPayload,
            done,
          );
        });
      });
      const grpc = await closedLoop('user-service ValidateUser', options, async () => {
        const answer = await unary<{ valid: boolean }>((done) => {
          userClient.validateUser({ userId }, new Metadata(), done);
        });
        if (!answer.valid) throw new Error('ValidateUser said the bench user is not valid');
      });
      comparisons.push(
        compare('gRPC', 'a unary RPC that reads PostgreSQL vs an echo', grpc, grpcBaseline, 0.6),
      );
    } finally {
      userClient.close();
      echoClient.close();
    }
  } finally {
    bare.stop();
    if (owned) await system.stop();
  }

  return {
    startedAt,
    mode: { durationMs: options.durationMs, concurrency: options.concurrency },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      infra: `PostgreSQL ${system.infra.postgres.source}, Kafka ${system.infra.kafka.source}`,
    },
    comparisons,
  };
}
