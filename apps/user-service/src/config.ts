import Type from 'typebox';
import type { Static } from 'typebox';
import { parseBrokers } from '@comms/kafka';
import { parseDatabaseUrl } from '@comms/postgres';
import { parseEnv } from '@comms/service-kit';

const Env = Type.Object({
  HOST: Type.String({
    default: '127.0.0.1',
    description: 'address to listen on; 0.0.0.0 in containers',
  }),
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8081, description: 'HTTP port' }),
  GRPC_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 50051, description: 'gRPC port' }),
  DATABASE_URL: Type.String({
    minLength: 1,
    description: 'postgres://user:password@host:5432/users, the service’s own database',
  }),
  KAFKA_BROKERS: Type.String({ minLength: 1, description: 'host:port[,host:port]' }),
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

/** user-service configuration, parsed and validated once at boot. */
export type Config = Static<typeof Env> & { readonly kafkaBrokers: string[] };

/** Reads the environment; throws naming the first bad variable and its expected format. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  const parsed = parseEnv(Env, env);
  parseDatabaseUrl(parsed.DATABASE_URL);
  return { ...parsed, kafkaBrokers: parseBrokers(parsed.KAFKA_BROKERS) };
}
