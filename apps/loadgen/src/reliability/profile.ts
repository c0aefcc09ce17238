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

function pick(value: string | undefined): Profile {
  if (value === undefined || value === '' || value === 'short') return PROFILES.short;
  if (value === 'long') return PROFILES.long;
  throw new Error(`RELIABILITY_PROFILE must be short or long; got '${value}'`);
}

/** The profile chosen by RELIABILITY_PROFILE (default short). */
export const PROFILE: Profile = pick(process.env['RELIABILITY_PROFILE']);
