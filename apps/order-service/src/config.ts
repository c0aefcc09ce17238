import Type from 'typebox';
import type { Static } from 'typebox';
import { resolveAtStartup } from '@comms/endpoints';
import { parseBrokers } from '@comms/kafka';
import { parseDatabaseUrl } from '@comms/postgres';
import { parseEnv } from '@comms/service-kit';

const Env = Type.Object({
  HOST: Type.String({
    default: '127.0.0.1',
    description: 'address to listen on; 0.0.0.0 in containers',
  }),
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8082, description: 'HTTP port' }),
  GRPC_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 50052, description: 'gRPC port' }),
  DATABASE_URL: Type.String({
    minLength: 1,
    description: 'postgres://user:password@host:5432/orders',
  }),
  KAFKA_BROKERS: Type.String({ minLength: 1, description: 'host:port[,host:port]' }),
  USER_VALIDATION: Type.Union(
    [Type.Literal('grpc'), Type.Literal('rest'), Type.Literal('shared-db')],
    {
      default: 'grpc',
      description: 'one of grpc, rest, shared-db',
    },
  ),
  USERS_DATABASE_URL: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'read-only URL of the users database; required when USER_VALIDATION=shared-db',
    }),
  ),
  USER_CALL_TIMEOUT_MS: Type.Integer({
    minimum: 10,
    default: 300,
    description: 'deadline of one call to user-service',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'one of fatal, error, warn, info, debug, trace, silent' },
  ),
  OUTBOX_POLL_MS: Type.Integer({
    minimum: 5,
    default: 100,
    description: 'milliseconds between outbox polls',
  }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 10_000,
    description: 'bound on graceful shutdown',
  }),
});

/** order-service configuration, parsed and validated once at boot. */
export type Config = Static<typeof Env> & {
  readonly kafkaBrokers: string[];
  readonly userServiceGrpc: string;
  readonly userServiceHttp: string;
};

/** Reads the environment; throws naming the first bad variable and its expected format. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  const parsed = parseEnv(Env, env);
  parseDatabaseUrl(parsed.DATABASE_URL);
  if (parsed.USER_VALIDATION === 'shared-db') {
    if (parsed.USERS_DATABASE_URL === undefined) {
      throw new Error(
        'USERS_DATABASE_URL is required when USER_VALIDATION=shared-db (postgres://users_reader:password@host:5432/users)',
      );
    }
    parseDatabaseUrl(parsed.USERS_DATABASE_URL, 'USERS_DATABASE_URL');
  }
  const { addresses } = resolveAtStartup(
    [
      ['user-service', 'grpc'],
      ['user-service', 'http'],
    ],
    env,
  );
  return {
    ...parsed,
    kafkaBrokers: parseBrokers(parsed.KAFKA_BROKERS),
    userServiceGrpc: addresses['user-service/grpc'] ?? '',
    userServiceHttp: addresses['user-service/http'] ?? '',
  };
}
