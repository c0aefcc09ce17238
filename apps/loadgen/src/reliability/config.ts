/**
 * The one place the reliability suites read the environment: how hard they
 * push (RELIABILITY_PROFILE), and the environment the fuzzer's Python tools
 * run with. The services they start get only what startSystem gives them.
 */

/**
 * How hard the reliability suites push. `short` is what `npm test` runs in
 * CI; `long` (RELIABILITY_PROFILE=long, or `npm run reliability -- --long`)
 * holds every fault longer, at a higher rate, and fuzzes with more examples.
 */
export interface Profile {
  readonly name: 'short' | 'long';
  /** Steady order load during every fault scenario. */
  readonly ordersPerSecond: number;
  /** Seconds of accepted load before the fault (counted in accepted orders, not waited). */
  readonly warmSeconds: number;
  /** Seconds' worth of load the fault lasts. */
  readonly outageSeconds: number;
  /** Seconds' worth of accepted load after recovery. */
  readonly afterSeconds: number;
  /** Generated examples per API operation for the REST fuzzer. */
  readonly fuzzExamples: number;
}

const PROFILES: Record<Profile['name'], Profile> = {
  short: {
    name: 'short',
    ordersPerSecond: 20,
    warmSeconds: 2,
    outageSeconds: 3,
    afterSeconds: 2,
    fuzzExamples: 25,
  },
  long: {
    name: 'long',
    ordersPerSecond: 50,
    warmSeconds: 5,
    outageSeconds: 20,
    afterSeconds: 10,
    fuzzExamples: 300,
  },
};

/** What the reliability suites take from their environment. */
export interface ReliabilityConfig {
  readonly profile: Profile;
  /** For the fuzzer's Python tools (python3, pip, schemathesis): this environment, colours off. */
  readonly toolEnv: Readonly<Record<string, string | undefined>>;
}

/** Reads and checks the suites' variables; a bad RELIABILITY_PROFILE names the values it accepts. */
export function loadReliabilityConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ReliabilityConfig {
  const value = env['RELIABILITY_PROFILE'];
  let profile: Profile;
  if (value === undefined || value === '' || value === 'short') profile = PROFILES.short;
  else if (value === 'long') profile = PROFILES.long;
  else throw new Error(`RELIABILITY_PROFILE must be short or long; got '${value}'`);
  return { profile, toolEnv: { ...env, NO_COLOR: '1' } };
}

/** The suites' configuration, read once. */
export const RELIABILITY: ReliabilityConfig = loadReliabilityConfig();

/** The profile chosen by RELIABILITY_PROFILE (default short). */
export const PROFILE: Profile = RELIABILITY.profile;
