import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startSystem } from '@comms/local-system';
import { ghz as ghzBinary } from '@comms/testing/tools';
import type { RunningSystem } from '@comms/local-system';
import {
  benchUser,
  grpcCase,
  ORDER_SERVICE_POOL,
  ordersCase,
  restCase,
  sharedDbCase,
  USER_SERVICE_POOL,
  userDatabase,
} from './cases.js';
import type { CaseContext } from './cases.js';
import { machineTicks, stealPercent } from './cpu.js';
import type { Classifier } from './cpu.js';
import { highRateTrials, kafkaClientTrials, summariseKafkaClients } from './kafka-cases.js';
import type { KafkaClientsReport } from './kafka-cases.js';
import { GENERATOR_MARKS } from './load.js';
import { scaleCase } from './scale-case.js';
import type { ScaleReport } from './scale-case.js';
import { compare } from './trials.js';
import type { Comparison } from './trials.js';

export type { Comparison, Target } from './trials.js';

/** The cases, by the names `--only` takes. */
export const CASES = ['rest', 'grpc', 'shared-db', 'kafka', 'orders', 'scale'] as const;
export type CaseName = (typeof CASES)[number];
/** The cases `npm run bench` measures a second time with telemetry off. */
export const TELEMETRY_CASES: readonly CaseName[] = ['rest', 'grpc', 'orders'];

/** How long and how hard to push each case. */
export interface BenchOptions {
  /** Per measured case. Quick mode: 10 s; long mode: 60 s. */
  readonly durationMs: number;
  /** Connections (HTTP) or calls in flight (gRPC), the same for subject and baseline. */
  readonly concurrency: number;
  /** Interleaved rounds of every case (subject, baseline, subject, ...). Default 3. */
  readonly trials?: number;
  /** Each side's warm-up before the rounds (dropped). Default 2 s, at most the trial length. */
  readonly warmupMs?: number;
  /** Orders per second of the Kafka lag case. Default 200. */
  readonly kafkaRate?: number;
  /** Orders per second of the Kafka case's second, reported-only rate. Default 500; 0 skips it. */
  readonly kafkaHighRate?: number;
  /** Trials of each Kafka client, interleaved (kafkajs, platformatic, kafkajs, ...). Default `trials`. */
  readonly kafkaTrials?: number;
  /** The ghz binary for the gRPC load; default the pinned release, built once with Go. */
  readonly ghz?: string;
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

export interface BenchReport {
  readonly startedAt: string;
  readonly mode: {
    readonly durationMs: number;
    readonly concurrency: number;
    readonly trials: number;
    readonly warmupMs: number;
    readonly kafkaRate: number;
    readonly kafkaTrials: number;
    /** The cases that ran, when `only` chose some. */
    readonly only?: readonly CaseName[];
    /** Whether the services required tokens (verified on every request); absent in older reports. */
    readonly identity?: boolean;
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
  /** One instance each of order-service and notification-service vs two, when the scale case ran. */
  readonly scale?: ScaleReport;
  /** A second pass of some cases with the services' telemetry disabled (`npm run bench` adds it). */
  readonly telemetryOff?: {
    readonly comparisons: readonly Comparison[];
    readonly stealPercent?: number;
  };
}

// The built file, whether this module runs from dist/ or (in tests) from src/.
const BARE_SERVERS = fileURLToPath(new URL('../../dist/bench/bare-servers.js', import.meta.url));

async function startBareServers(database: { databaseUrl: string; poolSize: number }): Promise<{
  http: number;
  grpc: number;
  pid: number;
  stop: () => void;
}> {
  const child = spawn(process.execPath, [BARE_SERVERS, JSON.stringify(database)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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

/** Names the processes whose CPU time the report shows. */
function classifier(system: RunningSystem, barePid: number): Classifier {
  return ({ pid, command, cmdline }) => {
    if (GENERATOR_MARKS.some((mark) => cmdline.includes(mark))) return 'load generator';
    // Starts the generators and reads their figures; near zero while they run.
    if (pid === process.pid) return 'bench';
    if (pid === barePid) return 'baseline servers';
    // Every instance of a service counts as that service (the scale case runs two).
    for (const service of Object.values(system.instances).flat())
      if (service.pid === pid) return service.name;
    if (command === 'postgres') return 'PostgreSQL';
    if (cmdline.includes('kafka.Kafka')) return 'Kafka';
    return undefined;
  };
}

/**
 * Starts the real system (native PostgreSQL and Kafka unless the
 * environment names others) and the baseline servers, measures each style
 * beside its baseline in interleaved rounds, one case after the other, and
 * stops everything it started.
 */
export async function runBenchmarks(options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const kafkaRate = options.kafkaRate ?? 200;
  const trials = options.trials ?? 3;
  const warmupMs = options.warmupMs ?? Math.min(2_000, options.durationMs);
  const kafkaTrials = options.kafkaTrials ?? trials;
  const cases = options.only ?? CASES;
  const runs = (name: CaseName) => cases.includes(name);
  // Built before anything starts, so a missing Go fails the run at once.
  const ghz = runs('grpc') || runs('shared-db') ? (options.ghz ?? (await ghzBinary())) : '';
  const owned = options.system === undefined;
  const system =
    options.system ??
    (await startSystem({
      ports: 'random',
      // Identity on, as npm start runs it: the services verify a token on every request.
      auth: true,
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
  const bare = await startBareServers({
    databaseUrl: userDatabase(system),
    poolSize: USER_SERVICE_POOL,
  }).catch(async (error: unknown) => {
    if (owned) await system.stop();
    throw error;
  });
  const comparisons: Comparison[] = [];
  let kafkaClients: KafkaClientsReport | undefined;
  let scale: ScaleReport | undefined;
  const ticksBefore = await machineTicks();
  let ticksAfter: Awaited<ReturnType<typeof machineTicks>>;
  try {
    const context: CaseContext = {
      system,
      bare,
      durationMs: options.durationMs,
      warmupMs,
      trials,
      concurrency: options.concurrency,
      kafkaRate,
      userId: await benchUser(system),
      ghz,
      classify: classifier(system, bare.pid),
      log,
    };
    const each = `${String(trials)} interleaved rounds of ${String(options.durationMs / 1000)} s after a ${String(warmupMs / 1000)} s warm-up`;

    if (runs('rest')) {
      log(
        `REST: GET /users/:id vs minimal fastify + pg, bare /hello, the hop taken apart (${each})`,
      );
      comparisons.push(await restCase(context));
    }
    if (runs('grpc')) {
      log(`gRPC: ValidateUser vs minimal grpc-js + pg, bare echo, through ghz (${each})`);
      comparisons.push(await grpcCase(context));
    }
    if (runs('shared-db')) {
      log(`Shared database: the shared-db user check on the users view vs ValidateUser (${each})`);
      comparisons.push(await sharedDbCase(context));
    }
    if (runs('kafka')) {
      log(
        `Kafka: order -> stored notification vs bare produce -> consume, ${String(kafkaRate)}/s, on kafkajs and platformatic, ${String(kafkaTrials)} interleaved trials each`,
      );
      const before = await machineTicks();
      const kafkaRuns = await kafkaClientTrials(context, kafkaTrials);
      const steal = stealPercent(before, await machineTicks());
      const highRate = options.kafkaHighRate ?? 500;
      kafkaClients = {
        ...summariseKafkaClients(kafkaRuns, steal),
        ...(highRate > 0 ? { highRate: await highRateTrials(context, highRate, kafkaTrials) } : {}),
      };
      const onKafkajs = kafkaRuns.filter((run) => run.client === 'kafkajs');
      comparisons.push(
        compare(
          {
            style: 'Kafka',
            question:
              'outbox, relay, Kafka and the consumer’s transaction vs Kafka alone (kafkajs)',
            ratioOf: 'p99',
            target: { kind: 'p99', maxMs: 100 },
          },
          {
            runs: {
              subject: onKafkajs.map((run) => run.orders),
              baseline: onKafkajs.map((run) => run.bare),
            },
            ...(steal === undefined ? {} : { stealPercent: steal }),
          },
          { subject: 'subject', baseline: 'baseline' },
        ),
      );
    }
    if (runs('orders')) {
      log(`End to end: POST /orders vs raw PostgreSQL insert transactions (${each})`);
      comparisons.push(await ordersCase(context));
    }
    if (runs('scale')) {
      log(
        `Scale-out: POST /orders on one instance each of order-service and notification-service vs two of each (${each})`,
      );
      const result = await scaleCase(context, cpus().length);
      comparisons.push(result.comparison);
      scale = result.scale;
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
      trials,
      warmupMs,
      kafkaRate,
      kafkaTrials,
      ...(options.only === undefined ? {} : { only: cases }),
      identity: system.auth,
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
    ...(scale === undefined ? {} : { scale }),
  };
}
