import Type from 'typebox';
import type { Static } from 'typebox';
import { resolveAtStartup } from '@comms/endpoints';
import { kafkaConnectionFromEnv } from '@comms/kafka';
import type { KafkaConnection } from '@comms/kafka';
import { databaseUrlOf, parseDatabaseUrl } from '@comms/postgres';
import {
  grpcPortEnv,
  outboxEnv,
  parseEnv,
  serviceEnv,
  serviceIdentityEnv,
  serviceIdentityOf,
} from '@comms/service-kit';
import type { ServiceIdentity } from '@comms/service-kit';

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
  AUTH_ISSUER_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s/]+(/\\S*[^\\s/])?$',
      description:
        "issuer of end users' access tokens, an http(s) URL without a trailing slash (the local one is http://127.0.0.1:8084); when set, the REST API requires a bearer token, unset it for none",
    }),
  ),
  AUTH_AUDIENCE: Type.String({
    minLength: 1,
    default: 'urn:comms:order-service',
    description: "the audience (resource indicator) order-service's access tokens must carry",
  }),
  AUTH_JWKS_URL: Type.Optional(
    Type.String({
      pattern: '^https?://\\S+$',
      description: "the issuer's JWKS, an http(s) URL; default <AUTH_ISSUER_URL>/jwks",
    }),
  ),
  AUTH_OPERATOR_ROLE: Type.String({
    minLength: 1,
    default: 'operator',
    description: 'the role claim value that may ship, rebuild and read any order',
  }),
  AUTH_KEYS_COOLDOWN_MS: Type.Integer({
    minimum: 1000,
    default: 30_000,
    description:
      "after fetching the issuer's keys, how long a token with an unknown kid is refused (401) before the keys are fetched again",
  }),
  ...serviceIdentityEnv('order-service'),
  ...outboxEnv(),
});

/** End-user authentication at the REST API; absent when AUTH_ISSUER_URL is unset. */
export interface AuthConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl?: string;
  readonly operatorRole: string;
  readonly keysCooldownMs: number;
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
    auth:
      parsed.AUTH_ISSUER_URL === undefined
        ? undefined
        : {
            issuer: parsed.AUTH_ISSUER_URL,
            audience: parsed.AUTH_AUDIENCE,
            ...(parsed.AUTH_JWKS_URL === undefined ? {} : { jwksUrl: parsed.AUTH_JWKS_URL }),
            operatorRole: parsed.AUTH_OPERATOR_ROLE,
            keysCooldownMs: parsed.AUTH_KEYS_COOLDOWN_MS,
          },
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
