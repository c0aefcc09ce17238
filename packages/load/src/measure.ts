/**
 * What one load run measured. Latencies are per request, from send to the
 * complete answer, in milliseconds.
 */
export interface Measurement {
  readonly name: string;
  readonly requests: number;
  readonly errors: number;
  readonly durationMs: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /**
   * Cores kept busy on average while the case ran, per party (load
   * generator, each service, PostgreSQL, Kafka); Linux only. Where the
   * machine's time went, beside how fast the case was.
   */
  readonly cpu?: Readonly<Record<string, number>>;
}

/** The value below which `fraction` of the sorted samples fall (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Summarises latency samples (ms) of a run that lasted `durationMs`. */
export function summarise(
  name: string,
  latenciesMs: number[],
  errors: number,
  durationMs: number,
): Measurement {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    name,
    requests: sorted.length,
    errors,
    durationMs: Math.round(durationMs),
    rps: Math.round((sorted.length / durationMs) * 1000 * 10) / 10,
    p50Ms: round(percentile(sorted, 0.5)),
    p95Ms: round(percentile(sorted, 0.95)),
    p99Ms: round(percentile(sorted, 0.99)),
  };
}

/**
 * Closed-loop load: `concurrency` workers each call `call` again as soon as
 * the previous call settles, until `durationMs` has passed. Every call in
 * flight at the deadline is awaited, so the run stops by itself and counts
 * everything it started. A rejected call counts as an error, not a sample.
 */
export async function closedLoop(
  name: string,
  options: { readonly concurrency: number; readonly durationMs: number },
  call: (worker: number, iteration: number) => Promise<void>,
): Promise<Measurement> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;
  const worker = async (id: number) => {
    for (let iteration = 0; performance.now() < deadline; iteration++) {
      const t0 = performance.now();
      try {
        await call(id, iteration);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  return summarise(name, latencies, errors, performance.now() - started);
}

/** What an open-loop run did; its latencies are measured elsewhere (for example lag). */
export interface OpenLoopRun {
  readonly started: number;
  readonly errors: number;
  readonly durationMs: number;
}

/**
 * Open-loop load: starts `call` at a fixed rate, whether or not earlier
 * calls have finished (as real users arrive), for `durationMs`, then waits
 * for the calls still in flight. A late timer catches up on the calls it
 * owes instead of silently lowering the rate. At most `maxInFlight` calls
 * run at once; a call that would exceed it counts as an error, so a
 * saturated subject shows up instead of slowing the generator down.
 * The console's short load runs on it too.
 */
export async function openLoop(
  options: {
    readonly ratePerSecond: number;
    readonly durationMs: number;
    readonly maxInFlight?: number;
    /** Aborted: no further call starts; the calls in flight are still awaited. */
    readonly signal?: AbortSignal;
  },
  call: (index: number) => Promise<void>,
): Promise<OpenLoopRun> {
  const maxInFlight = options.maxInFlight ?? 1_000;
  const total = Math.max(1, Math.round((options.ratePerSecond * options.durationMs) / 1000));
  const intervalMs = 1000 / options.ratePerSecond;
  const pending = new Set<Promise<void>>();
  let started = 0;
  let errors = 0;
  const begin = performance.now();
  while (started < total && options.signal?.aborted !== true) {
    const due = Math.min(total, Math.floor((performance.now() - begin) / intervalMs) + 1);
    for (; started < due; started++) {
      if (pending.size >= maxInFlight) {
        errors++;
        continue;
      }
      const running = call(started).then(
        () => undefined,
        () => {
          errors++;
        },
      );
      pending.add(running);
      void running.finally(() => pending.delete(running));
    }
    if (started < total) {
      const next = begin + started * intervalMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
    }
  }
  await Promise.all(pending);
  return { started, errors, durationMs: performance.now() - begin };
}

/** A figure over repeated trials: the middle one and the range. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median (the mean of the middle two for an even count), least and greatest of `values`. */
export function spread(values: readonly number[]): Spread {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] ?? Number.NaN)
      : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    median: round(median),
    min: round(sorted[0] ?? Number.NaN),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

/**
 * One measurement standing for several trials of the same case: each
 * figure is the median over the trials (cores per party too); requests and
 * errors are the totals.
 */
export function medianOf(name: string, trials: readonly Measurement[]): Measurement {
  const median = (pick: (m: Measurement) => number) => spread(trials.map(pick)).median;
  const parties = [...new Set(trials.flatMap((m) => Object.keys(m.cpu ?? {})))];
  return {
    name,
    requests: trials.reduce((sum, m) => sum + m.requests, 0),
    errors: trials.reduce((sum, m) => sum + m.errors, 0),
    durationMs: Math.round(median((m) => m.durationMs)),
    rps: median((m) => m.rps),
    p50Ms: median((m) => m.p50Ms),
    p95Ms: median((m) => m.p95Ms),
    p99Ms: median((m) => m.p99Ms),
    ...(parties.length === 0
      ? {}
      : {
          cpu: Object.fromEntries(
            parties.map((party) => [party, median((m) => m.cpu?.[party] ?? 0)]),
          ),
        }),
  };
}
