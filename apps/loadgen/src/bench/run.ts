import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pollUntil } from '@comms/resilience';
import { startSystem } from '@comms/local-system';
import type { RunningSystem } from '@comms/local-system';
import { grpcCase, ORDER_SERVICE_POOL, ordersCase, restCase, sharedDbCase } from './cases.js';
import type { CaseContext } from './cases.js';
import { machineTicks, stealPercent } from './cpu.js';
import type { Classifier } from './cpu.js';
import { kafkaClientTrials, summariseKafkaClients } from './kafka-cases.js';
import type { KafkaClientsReport } from './kafka-cases.js';
import { medianOf } from './measure.js';
import type { Measurement } from './measure.js';

/** The cases, by the names `--only` takes. */
export const CASES = ['rest', 'grpc', 'shared-db', 'kafka', 'orders'] as const;
export type CaseName = (typeof CASES)[number];

/** How long and how hard to push each case. */
export interface BenchOptions {
  /** Per measured case. Quick mode: 10 s; long mode: 60 s. */
  readonly durationMs: number;
  /** Connections (HTTP) or calls in flight (gRPC), the same for subject and baseline. */
  readonly concurrency: number;
  /** Orders per second of the Kafka lag case. Default 200. */
  readonly kafkaRate?: number;
  /** Trials of each Kafka client, interleaved (kafkajs, platformatic, kafkajs, ...). Default 3. */
  readonly kafkaTrials?: number;
  /** The cases to run. Default all of {@link CASES}. */
  readonly only?: readonly CaseName[];
  /** Environment the infrastructure is chosen from (as for npm start). */
  readonly infraEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * Run the services with OpenTelemetry as `npm start` does (default), or
   * with `OTEL_SDK_DISABLED=true` to see what the telemetry costs.
   */
  readonly telemetry?: boolean;
  /** Attach to a system that is already running instead of starting one (left running). */
  readonly system?: RunningSystem;
  readonly log?: (line: string) => void;
}

/** What a style should reach, as issue #9 set it. */
export type Target =
  /** Throughput at least `min` times the baseline's. */
  | { readonly kind: 'ratio'; readonly min: number }
  /** A 99th percentile latency below `maxMs`. */
  | { readonly kind: 'p99'; readonly maxMs: number };

/** One style beside the raw baseline of its transport. */
export interface Comparison {
  readonly style: string;
  readonly question: string;
  readonly subject: Measurement;
  readonly baseline: Measurement;
  /**
   * `throughput`: subject req/s over baseline req/s (higher is better).
   * `p99`: subject p99 over baseline p99 (how many times slower; lower is
   * better), for cases driven at a fixed rate where throughput is equal.
   */
  readonly ratioOf: 'throughput' | 'p99';
  readonly ratio: number;
  readonly target?: Target;
  /** Whether the target was reached (and there were no errors). */
  readonly met?: boolean;
  /** Intermediate measurements that show where the subject's time goes. */
  readonly breakdown?: readonly Measurement[];
}

export interface BenchReport {
  readonly startedAt: string;
  readonly mode: {
    readonly durationMs: number;
    readonly concurrency: number;
    readonly kafkaRate: number;
    readonly kafkaTrials: number;
    /** The cases that ran, when `only` chose some. */
    readonly only?: readonly CaseName[];
  };
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly node: string;
    readonly platform: string;
    readonly infra: string;
    /** CPU time taken by other guests of the host during the run (%), on Linux. */
    readonly stealPercent?: number;
  };
  readonly comparisons: readonly Comparison[];
  /** Both Kafka clients side by side, when the Kafka case ran. */
  readonly kafkaClients?: KafkaClientsReport;
}

// The built file, whether this module runs from dist/ or (in tests) from src/.
const BARE_SERVERS = fileURLToPath(new URL('../../dist/bench/bare-servers.js', import.meta.url));

async function startBareServers(): Promise<{
  http: number;
  grpc: number;
  pid: number;
  stop: () => void;
}> {
  const child = spawn(process.execPath, [BARE_SERVERS], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => {
      reject(new Error(`the bare baseline servers exited with code ${String(code)}`));
    });
  });
  const ports = JSON.parse(first) as { http: number; grpc: number };
  return { ...ports, pid: child.pid ?? 0, stop: () => child.kill('SIGTERM') };
}

function compare(
  style: string,
  question: string,
  measured: { subject: Measurement; baseline: Measurement; breakdown?: Measurement[] },
  ratioOf: Comparison['ratioOf'],
  target?: Target,
): Comparison {
  const { subject, baseline } = measured;
  const raw =
    ratioOf === 'throughput'
      ? baseline.rps > 0
        ? subject.rps / baseline.rps
        : 0
      : baseline.p99Ms > 0
        ? subject.p99Ms / baseline.p99Ms
        : 0;
  const ratio = Math.round(raw * 1000) / 1000;
  const clean = subject.errors === 0 && baseline.errors === 0;
  const met =
    target === undefined
      ? undefined
      : clean && (target.kind === 'ratio' ? ratio >= target.min : subject.p99Ms < target.maxMs);
  return {
    style,
    question,
    subject,
    baseline,
    ratioOf,
    ratio,
    ...(target === undefined ? {} : { target, met }),
    ...(measured.breakdown === undefined ? {} : { breakdown: measured.breakdown }),
  };
}

/** Names the processes whose CPU time the report shows. */
function classifier(system: RunningSystem, barePid: number): Classifier {
  return ({ pid, command, cmdline }) => {
    if (pid === process.pid) return 'load generator';
    if (pid === barePid) return 'bare servers';
    for (const service of Object.values(system.services))
      if (service.pid === pid) return service.name;
    if (command === 'postgres') return 'PostgreSQL';
    if (cmdline.includes('kafka.Kafka')) return 'Kafka';
    return undefined;
  };
}

/** Registers the bench user and waits until notification-service knows it (its welcome). */
async function benchUser(system: RunningSystem): Promise<string> {
  const created = await fetch(`${system.services['user-service'].http}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench Mark', email: `bench-${randomUUID()}@example.com` }),
  });
  if (created.status !== 201) throw new Error(`creating the bench user: ${created.status}`);
  const { id } = (await created.json()) as { id: string };
  // Its welcome notification is stored with its contact: then it knows the user.
  const notifications = `${system.services['notification-service'].http}/notifications?userId=${id}`;
  await pollUntil(
    async () => {
      const answer = await fetch(notifications);
      const { items } = (await answer.json()) as { items: unknown[] };
      return items.length > 0 ? true : undefined;
    },
    {
      timeoutMs: 60_000,
      onTimeout: () => new Error('notification-service did not learn the bench user within 60 s'),
    },
  );
  return id;
}

/**
 * Starts the real system (native PostgreSQL and Kafka unless the
 * environment names others) and bare baseline servers, measures each style
 * beside its baseline one after the other, and stops everything it started.
 */
export async function runBenchmarks(options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const kafkaRate = options.kafkaRate ?? 200;
  const kafkaTrials = options.kafkaTrials ?? 3;
  const cases = options.only ?? CASES;
  const runs = (name: CaseName) => cases.includes(name);
  const owned = options.system === undefined;
  const system =
    options.system ??
    (await startSystem({
      ports: 'random',
      log,
      env: {
        LOG_LEVEL: 'warn',
        // The load comes from one address; measure the service, not its rate limit.
        RATE_LIMIT_PER_MINUTE: '0',
        // The raw insert baseline gets as many connections (order-service reads it).
        DATABASE_POOL_SIZE: String(ORDER_SERVICE_POOL),
        KAFKA_CLIENT: 'kafkajs',
        ...(options.telemetry === false ? { OTEL_SDK_DISABLED: 'true' } : {}),
      },
      ...(options.infraEnv === undefined ? {} : { infraEnv: options.infraEnv }),
    }));
  const bare = await startBareServers().catch(async (error: unknown) => {
    if (owned) await system.stop();
    throw error;
  });
  const comparisons: Comparison[] = [];
  let kafkaClients: KafkaClientsReport | undefined;
  const ticksBefore = await machineTicks();
  let ticksAfter: Awaited<ReturnType<typeof machineTicks>>;
  try {
    const context: CaseContext = {
      system,
      bare,
      durationMs: options.durationMs,
      concurrency: options.concurrency,
      kafkaRate,
      userId: await benchUser(system),
      classify: classifier(system, bare.pid),
      log,
    };
    const seconds = `${String(options.durationMs / 1000)} s each`;

    if (runs('rest')) {
      log(`REST: GET /users/:id vs a bare fastify route, then the hop taken apart (${seconds})`);
      comparisons.push(
        compare(
          'REST',
          'a fastify route that reads PostgreSQL vs an empty one',
          await restCase(context),
          'throughput',
          { kind: 'ratio', min: 0.6 },
        ),
      );
    }

    if (runs('grpc')) {
      log('gRPC: ValidateUser vs a bare grpc-js unary echo');
      comparisons.push(
        compare(
          'gRPC',
          'a unary RPC that reads PostgreSQL vs an echo',
          await grpcCase(context),
          'throughput',
          { kind: 'ratio', min: 0.6 },
        ),
      );
    }

    if (runs('shared-db')) {
      log(
        'Shared database: the shared-db user check (its query on the users view) vs asking over gRPC',
      );
      comparisons.push(
        compare(
          'Shared database',
          'read the other service’s view directly vs ask it over gRPC',
          await sharedDbCase(context),
          'throughput',
        ),
      );
    }

    if (runs('kafka')) {
      log(
        `Kafka: order -> stored notification vs bare produce -> consume, ${String(kafkaRate)}/s, on kafkajs and platformatic, ${String(kafkaTrials)} interleaved trials each`,
      );
      kafkaClients = summariseKafkaClients(await kafkaClientTrials(context, kafkaTrials));
      const onKafkajs = kafkaClients.runs.filter((run) => run.client === 'kafkajs');
      const median = (path: 'bare' | 'orders') =>
        medianOf(
          `${onKafkajs[0]?.[path].name.replace(' (kafkajs)', '') ?? path} (kafkajs, median of ${String(onKafkajs.length)})`,
          onKafkajs.map((run) => run[path]),
        );
      comparisons.push(
        compare(
          'Kafka',
          'outbox, relay, Kafka and the consumer’s transaction vs Kafka alone',
          { subject: median('orders'), baseline: median('bare') },
          'p99',
          { kind: 'p99', maxMs: 100 },
        ),
      );
    }

    if (runs('orders')) {
      log('End to end: POST /orders vs raw PostgreSQL insert transactions');
      comparisons.push(
        compare(
          'End to end',
          'placing an order (gRPC check, event store, read model, outbox) vs one INSERT transaction',
          await ordersCase(context),
          'throughput',
          { kind: 'ratio', min: 0.4 },
        ),
      );
    }
    ticksAfter = await machineTicks();
  } finally {
    bare.stop();
    if (owned) await system.stop();
  }
  const steal = stealPercent(ticksBefore, ticksAfter);

  return {
    startedAt,
    mode: {
      durationMs: options.durationMs,
      concurrency: options.concurrency,
      kafkaRate,
      kafkaTrials,
      ...(options.only === undefined ? {} : { only: cases }),
    },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      infra: `PostgreSQL ${system.infra.postgres.source}, Kafka ${system.infra.kafka.source}`,
      ...(steal === undefined ? {} : { stealPercent: steal }),
    },
    comparisons,
    ...(kafkaClients === undefined ? {} : { kafkaClients }),
  };
}
