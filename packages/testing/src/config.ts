/**
 * The one place packages/testing reads the environment. It holds the test
 * runner's own switches, not service configuration: those reach a service
 * only through the environment a test gives it.
 */

/** An environment to read from. */
type Env = Readonly<Record<string, string | undefined>>;

/** What packages/testing takes from the environment of the test process. */
export interface TestingEnv {
  /** `COMMS_TEST_TIER=unit` (the test:unit scripts): start no infra. */
  readonly unitTier: boolean;
  /**
   * `KAFKA_CLIENT` as given; the global setup checks it the way the services
   * do (kafkaConnectionFromEnv), so a bad value fails with the same message.
   */
  readonly kafkaClient: string | undefined;
  /** `GRPCURL`: a grpcurl binary to use instead of building the pinned one. */
  readonly grpcurl: string | undefined;
  /** `PATH`, handed to the service processes tests start, so they find what the test process finds. */
  readonly path: string;
  /** The whole environment, for tools that run with it (`go install`). */
  readonly all: Env;
}

const given = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value;

/** Reads and checks the variables packages/testing uses; names the variable and its values on a bad one. */
export function testingEnv(env: Env = process.env): TestingEnv {
  const tier = given(env['COMMS_TEST_TIER']);
  if (tier !== undefined && tier !== 'unit')
    throw new Error(
      `COMMS_TEST_TIER must be 'unit' (the unit tier) or unset (every tier); got '${tier}'`,
    );
  return {
    unitTier: tier === 'unit',
    kafkaClient: env['KAFKA_CLIENT'],
    grpcurl: given(env['GRPCURL']),
    path: env['PATH'] ?? '',
    all: env,
  };
}
