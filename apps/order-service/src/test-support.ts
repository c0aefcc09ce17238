// For the integration tests only (tsconfig.build.json leaves it out of dist).
import { testInfra } from '@comms/testing';
import type { TestUserService } from '@comms/testing';
import { loadConfig } from './config.js';
import type { Config } from './config.js';
import { startOrderService } from './main.js';

/** What an integration test's order-service runs against. */
export interface TestOrderServiceOptions {
  /** Its own database. */
  readonly databaseUrl: string;
  /** The user-service it validates users with, over gRPC and REST. */
  readonly userService?: Pick<TestUserService, 'grpcAddress' | 'httpUrl'>;
  /** More environment, or a default replaced (AUTH_ISSUER_URL, USER_VALIDATION, ...). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * order-service's configuration in an integration test: the shared test
 * Kafka, silent logs, a generous 5 s deadline on user-service (a busy
 * machine can stall a call for a second, and a breaker opened by stalls
 * would fail unrelated tests), a 10 ms outbox poll and no rate limit.
 */
export function testConfig(options: TestOrderServiceOptions): Config {
  const { kafkaBrokers, kafkaClient } = testInfra();
  return loadConfig({
    DATABASE_URL: options.databaseUrl,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_CLIENT: kafkaClient,
    LOG_LEVEL: 'silent',
    ...(options.userService === undefined
      ? {}
      : {
          USER_SERVICE_GRPC_ADDR: options.userService.grpcAddress,
          USER_SERVICE_HTTP_URL: options.userService.httpUrl,
        }),
    USER_CALL_TIMEOUT_MS: '5000',
    OUTBOX_POLL_MS: '10',
    RATE_LIMIT_PER_MINUTE: '0',
    ...options.env,
  });
}

/** Starts order-service in process with {@link testConfig}, on free ports. */
export function startTestOrderService(
  options: TestOrderServiceOptions,
): ReturnType<typeof startOrderService> {
  return startOrderService({ ...testConfig(options), PORT: 0, GRPC_PORT: 0 });
}
