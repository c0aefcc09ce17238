// Repeated, interleaved trials and what they allow one to conclude. Every
// case of the bench (the Kafka clients' comparison too) goes through here:
// each side runs once to warm up, then the sides take turns (subject,
// baseline, subject, baseline, ...), so a noisy minute of a shared machine
// hits all of them rather than one. A figure is the median of its trials
// with their range; a ratio is the median of the per-round ratios with
// theirs; and a comparison whose spread or steal is too high says so.
import { machineTicks, stealPercent } from './cpu.js';
import { medianOf, spread } from '@comms/load';
import type { Measurement, Spread } from '@comms/load';

/** A spread above this share of the median makes a comparison unreliable. */
export const SPREAD_LIMIT = 0.15;
/** Steal above this (percent of the machine's CPU time) makes a comparison unreliable. */
export const STEAL_LIMIT = 5;
/** Fewer trials than this make a comparison unreliable whatever they say. */
export const MIN_TRIALS = 3;

/** The figures of a measurement that get a median and a spread. */
export type Figure = 'rps' | 'p50Ms' | 'p99Ms';
const FIGURES: readonly Figure[] = ['rps', 'p50Ms', 'p99Ms'];
const FIGURE_NAMES: Readonly<Record<Figure, string>> = {
  rps: 'req/s',
  p50Ms: 'p50',
  p99Ms: 'p99',
};

/** One side of a comparison over all its trials. */
export interface Trials {
  /** Each figure the median of the trials; requests and errors summed ({@link medianOf}). */
  readonly median: Measurement;
  /** In the order they ran. */
  readonly trials: readonly Measurement[];
  readonly spread: Readonly<Record<Figure, Spread>>;
}

/** Stands `trials` of one side for one row of the report. */
export function trialsOf(name: string, trials: readonly Measurement[]): Trials {
  return {
    median: medianOf(name, trials),
    trials,
    spread: Object.fromEntries(
      FIGURES.map((figure) => [figure, spread(trials.map((m) => m[figure]))]),
    ) as Record<Figure, Spread>,
  };
}

/** (greatest - least) / median, as a fraction; NaN when there is no median to divide by. */
export function relativeSpread(s: Spread): number {
  return Number.isFinite(s.median) && s.median > 0 ? (s.max - s.min) / s.median : Number.NaN;
}

/** What two sides' trials allow one to conclude about one figure. */
export interface Verdict {
  /** subject / baseline of `figure`, round by round: its median and range. */
  readonly ratio: Spread;
  /** The steal measured over the trials, when the platform reports it. */
  readonly stealPercent?: number;
  /** Why the comparison is not to be trusted; empty when it is. */
  readonly unreliable: readonly string[];
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(0)}%`;

/**
 * Compares `figure` of two sides measured in the same interleaved rounds:
 * the i-th trial of each ran in round i, so their ratios are paired. The
 * comparison is unreliable when either side's figure or the ratio spreads
 * over more than {@link SPREAD_LIMIT} of its median, when steal passed
 * {@link STEAL_LIMIT}, or when there were fewer than {@link MIN_TRIALS} rounds.
 */
export function judge(subject: Trials, baseline: Trials, figure: Figure, steal?: number): Verdict {
  const rounds = Math.min(subject.trials.length, baseline.trials.length);
  const ratios = Array.from({ length: rounds }, (_, i) => {
    const base = baseline.trials[i]?.[figure] ?? Number.NaN;
    return base > 0 ? (subject.trials[i]?.[figure] ?? Number.NaN) / base : Number.NaN;
  });
  const ratio = spread(ratios);
  const name = FIGURE_NAMES[figure];
  const unreliable: string[] = [];
  if (rounds < MIN_TRIALS)
    unreliable.push(`${String(rounds)} trials (at least ${String(MIN_TRIALS)} needed)`);
  const check = (what: string, s: Spread) => {
    const relative = relativeSpread(s);
    if (!(relative <= SPREAD_LIMIT))
      unreliable.push(
        `${what} spread ${Number.isNaN(relative) ? 'unknown' : percent(relative)} > ${percent(SPREAD_LIMIT)}`,
      );
  };
  check(`subject ${name}`, subject.spread[figure]);
  check(`baseline ${name}`, baseline.spread[figure]);
  check('ratio', ratio);
  if (steal !== undefined && steal > STEAL_LIMIT)
    unreliable.push(`steal ${steal.toFixed(1)}% > ${String(STEAL_LIMIT)}%`);
  return { ratio, ...(steal === undefined ? {} : { stealPercent: steal }), unreliable };
}

/** A side of a case: one trial of `durationMs`. */
export type Trial = (durationMs: number) => Promise<Measurement>;

/** Every side's trials in the order they ran, and the steal over them. */
export interface Rounds<K extends string> {
  readonly runs: Readonly<Record<K, Measurement[]>>;
  readonly stealPercent?: number;
}

/**
 * Warms each side up once for `warmupMs` (its figures are dropped), then
 * runs `trials` rounds, each side once per round in the order given.
 * Steal is read from /proc/stat over the rounds, not the warm-up.
 */
export async function interleave<K extends string>(
  sides: Readonly<Record<K, Trial>>,
  options: {
    readonly trials: number;
    readonly durationMs: number;
    readonly warmupMs: number;
    readonly log?: (line: string) => void;
  },
): Promise<Rounds<K>> {
  const names = Object.keys(sides) as K[];
  if (options.warmupMs > 0) for (const name of names) await sides[name](options.warmupMs);
  const runs = Object.fromEntries(names.map((name) => [name, [] as Measurement[]])) as Record<
    K,
    Measurement[]
  >;
  const before = await machineTicks();
  for (let round = 1; round <= options.trials; round++) {
    options.log?.(`  round ${String(round)} of ${String(options.trials)}`);
    for (const name of names) runs[name].push(await sides[name](options.durationMs));
  }
  const steal = stealPercent(before, await machineTicks());
  return { runs, ...(steal === undefined ? {} : { stealPercent: steal }) };
}

/** What a style should reach. */
export type Target =
  /** Throughput at least `min` times the baseline's. */
  | { readonly kind: 'ratio'; readonly min: number }
  /** A 99th percentile latency below `maxMs`. */
  | { readonly kind: 'p99'; readonly maxMs: number };

/** One style beside its baseline, both over interleaved trials. */
export interface Comparison {
  readonly style: string;
  readonly question: string;
  readonly subject: Trials;
  readonly baseline: Trials;
  /**
   * `throughput`: subject req/s over baseline req/s (higher is better).
   * `p99`: subject p99 over baseline p99 (how many times slower; lower is
   * better), for cases driven at a fixed rate where throughput is equal.
   */
  readonly ratioOf: 'throughput' | 'p99';
  /** The median of the per-round ratios. */
  readonly ratio: number;
  /** Their range, the steal, and whether the comparison can be trusted. */
  readonly verdict: Verdict;
  readonly target?: Target;
  /** The most CPU per request, in ms summed over the serving parties, the case may cost. */
  readonly cpuTargetMs?: number;
  /** Whether the median ratio reached the target with no errors (reliable or not: see verdict). */
  readonly met?: boolean;
  /** The bare transport, the most the subject could do, and the subject's share of it. */
  readonly ceiling?: { readonly trials: Trials; readonly ratio: Spread };
  /** Other sides measured in the same rounds, showing where the subject's time goes. */
  readonly breakdown?: readonly Trials[];
}

/** Builds a comparison from the rounds of a case; `roles` names which side is which. */
export function compare<K extends string>(
  about: {
    readonly style: string;
    readonly question: string;
    readonly ratioOf: Comparison['ratioOf'];
    readonly target?: Target;
    readonly cpuTargetMs?: number;
  },
  rounds: Rounds<K>,
  roles: {
    readonly subject: K;
    readonly baseline: K;
    readonly ceiling?: K;
    readonly breakdown?: readonly K[];
  },
): Comparison {
  const side = (key: K) => trialsOf(rounds.runs[key][0]?.name ?? key, rounds.runs[key]);
  const subject = side(roles.subject);
  const baseline = side(roles.baseline);
  const figure: Figure = about.ratioOf === 'throughput' ? 'rps' : 'p99Ms';
  const verdict = judge(subject, baseline, figure, rounds.stealPercent);
  const { target } = about;
  const clean = subject.median.errors === 0 && baseline.median.errors === 0;
  const met =
    target === undefined
      ? undefined
      : clean &&
        (target.kind === 'ratio'
          ? verdict.ratio.median >= target.min
          : subject.median.p99Ms < target.maxMs);
  const ceiling =
    roles.ceiling === undefined
      ? undefined
      : (() => {
          const trials = side(roles.ceiling);
          return { trials, ratio: judge(subject, trials, figure).ratio };
        })();
  return {
    style: about.style,
    question: about.question,
    subject,
    baseline,
    ratioOf: about.ratioOf,
    ratio: verdict.ratio.median,
    verdict,
    ...(target === undefined ? {} : { target, met }),
    ...(about.cpuTargetMs === undefined ? {} : { cpuTargetMs: about.cpuTargetMs }),
    ...(ceiling === undefined ? {} : { ceiling }),
    ...(roles.breakdown === undefined ? {} : { breakdown: roles.breakdown.map(side) }),
  };
}
