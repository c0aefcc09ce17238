import { acquireSharedInfra, describeError } from '@comms/infra';
import { kafkaConnectionFromEnv } from '@comms/kafka';
import type { TestProject } from 'vitest/node';
import { testingEnv } from './config.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection details of the run's PostgreSQL and Kafka. */
    commsInfra: {
      databaseUrl: string;
      kafkaBrokers: string;
      kafkaClient: 'kafkajs' | 'platformatic';
    };
  }
}

/**
 * Vitest global setup for packages whose tests need PostgreSQL and Kafka.
 * Takes a lease on the run's shared servers (starting them if this is the
 * first package to ask) and gives it back when the package's tests end.
 * The unit tier (`test:unit`, COMMS_TEST_TIER=unit) starts nothing: a unit
 * test that asks for infra fails with testInfra()'s message.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The test runner's own switches (the test:unit scripts set the tier), not service configuration.
  const config = testingEnv();
  if (config.unitTier) return () => Promise.resolve();
  try {
    const infra = await acquireSharedInfra({ log: (line) => console.log(`[infra] ${line}`) });
    project.provide('commsInfra', {
      databaseUrl: infra.databaseUrl,
      kafkaBrokers: infra.kafkaBrokers,
      // KAFKA_CLIENT picks the Kafka client the whole run tests with (.ci/run runs the
      // integration tier once per client); validated as the services validate it.
      kafkaClient: kafkaConnectionFromEnv({
        KAFKA_BROKERS: infra.kafkaBrokers,
        KAFKA_CLIENT: config.kafkaClient,
      }).client,
    });
    console.log(`[infra] Kafka client under test: ${config.kafkaClient ?? 'kafkajs'}`);
    return () => infra.release();
  } catch (error) {
    throw new Error(describeError(error));
  }
}
