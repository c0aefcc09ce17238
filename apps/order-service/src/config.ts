import Type from 'typebox';
import type { Static } from 'typebox';
import { resolveAtStartup } from '@comms/endpoints';
import { kafkaConnectionFromEnv } from '@comms/kafka';
import type { KafkaConnection } from '@comms/kafka';
import { databaseUrlOf, parseDatabaseUrl } from '@comms/postgres';
import {
  bearerAuthEnv,
  bearerAuthOf,
  grpcPortEnv,
  operatorRoleEnv,
  outboxEnv,
  parseEnv,
  serviceEnv,
  serviceIdentityEnv,
  serviceIdentityOf,
} from '@comms/service-kit';
import type { BearerAuth, ServiceIdentity } from '@comms/service-kit';

const Env = Type.Object({
  ...serviceEnv({ database: 'orders', httpPort: 8082 }),
  ...grpcPortEnv(50052),
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
  RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 0,
    default: 1200,
    description: 'requests a minute one client may make to the public API; 0 turns the limit off',
  }),
  USER_CALL_TIMEOUT_MS: Type.Integer({
    minimum: 10,
    default: 300,
    description: 'deadline of one call to user-service',
  }),
  DATABASE_POOL_SIZE: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 20,
    description: 'connections the service opens to its database at most',
  }),
  ...bearerAuthEnv({
    service: 'order-service',
    audience: 'urn:comms:order-service',
    whenSet:
      "REST /orders* and gRPC OrderService need an end user's bearer token (the operator role ships, rebuilds and reads any order)",
  }),
  ...operatorRoleEnv('may ship, rebuild and read any order'),
  ...serviceIdentityEnv('order-service'),
  ...outboxEnv(),
});

/** End-user authentication at REST and gRPC; absent when AUTH_ISSUER_URL is unset. */
export interface AuthConfig extends BearerAuth {
  readonly operatorRole: string;
}

/** order-service configuration, parsed and validated once at boot. */
export type Config = Static<typeof Env> & {
  readonly DATABASE_URL: string;
  readonly kafka: KafkaConnection;
  /** user-service's gRPC addresses: one, or every instance when the override lists several. */
  readonly userServiceGrpc: readonly string[];
  /** user-service's REST base URLs, likewise. */
  readonly userServiceHttp: readonly string[];
  readonly auth: AuthConfig | undefined;
  /** Its own identity towards user-service; absent when SERVICE_TOKEN_URL is unset. */
  readonly identity: ServiceIdentity | undefined;
};

/** Reads the environment; throws naming the first bad variable and its expected format. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  const parsed = parseEnv(Env, env);
  const DATABASE_URL = databaseUrlOf(parsed);
  if (parsed.USER_VALIDATION === 'shared-db') {
    if (parsed.USERS_DATABASE_URL === undefined) {
      throw new Error(
        'USERS_DATABASE_URL is required when USER_VALIDATION=shared-db (postgres://users_reader:password@host:5432/users)',
      );
    }
    parseDatabaseUrl(parsed.USERS_DATABASE_URL, 'USERS_DATABASE_URL');
  }
  const identity = serviceIdentityOf(parsed);
  const bearer = bearerAuthOf(parsed);
  const { sets } = resolveAtStartup(
    [
      ['user-service', 'grpc', 'several'],
      ['user-service', 'http', 'several'],
    ],
    env,
  );
  return {
    ...parsed,
    DATABASE_URL,
    kafka: kafkaConnectionFromEnv(env),
    userServiceGrpc: sets['user-service/grpc'] ?? [],
    userServiceHttp: sets['user-service/http'] ?? [],
    auth: bearer === undefined ? undefined : { ...bearer, operatorRole: parsed.AUTH_OPERATOR_ROLE },
    identity,
  };
}

/**
 * What `npm run rebuild-read-model` needs: the orders database, and nothing
 * else of the service's configuration.
 */
export function loadRebuildConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): {
  readonly DATABASE_URL: string;
} {
  const url = env['DATABASE_URL'];
  parseDatabaseUrl(url, 'DATABASE_URL');
  return { DATABASE_URL: url ?? '' };
}
