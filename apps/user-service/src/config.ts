import Type from 'typebox';
import type { Static } from 'typebox';
import { kafkaConnectionFromEnv } from '@comms/kafka';
import type { KafkaConnection } from '@comms/kafka';
import { databaseUrlOf } from '@comms/postgres';
import { grpcPortEnv, outboxEnv, parseEnv, serviceEnv } from '@comms/service-kit';

const Env = Type.Object({
  ...serviceEnv({ database: 'users', httpPort: 8081 }),
  ...grpcPortEnv(50051),
  ...outboxEnv(),
});

/** user-service configuration, parsed and validated once at boot. */
export type Config = Static<typeof Env> & {
  readonly DATABASE_URL: string;
  readonly kafka: KafkaConnection;
};

/** Reads the environment; throws naming the first bad variable and its expected format. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  const parsed = parseEnv(Env, env);
  const DATABASE_URL = databaseUrlOf(parsed);
  return { ...parsed, DATABASE_URL, kafka: kafkaConnectionFromEnv(env) };
}
