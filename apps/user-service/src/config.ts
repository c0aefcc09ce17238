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
  AUTH_ISSUER_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s/]+(/\\S*[^\\s/])?$',
      description:
        "issuer of the callers' access tokens, an http(s) URL without a trailing slash (the local one is http://127.0.0.1:8084); when set, REST and gRPC accept only the services in AUTH_CALLERS, unset it for no check",
    }),
  ),
  AUTH_AUDIENCE: Type.String({
    minLength: 1,
    default: 'urn:comms:user-service',
    description: "the audience (resource indicator) user-service's access tokens must carry",
  }),
  AUTH_JWKS_URL: Type.Optional(
    Type.String({
      pattern: '^https?://\\S+$',
      description: "the issuer's JWKS, an http(s) URL; default <AUTH_ISSUER_URL>/jwks",
    }),
  ),
  AUTH_CALLERS: Type.String({
    pattern: '^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$',
    default: 'order-service,notification-service,console',
    description: 'comma-separated client ids of the services that may call user-service',
  }),
});

/** Service identity: who may call; absent when AUTH_ISSUER_URL is unset. */
export interface CallerAuthConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl?: string;
  readonly callers: readonly string[];
}

/** user-service configuration, parsed and validated once at boot. */
export type Config = Static<typeof Env> & {
  readonly DATABASE_URL: string;
  readonly kafka: KafkaConnection;
  readonly auth: CallerAuthConfig | undefined;
};

/** Reads the environment; throws naming the first bad variable and its expected format. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  const parsed = parseEnv(Env, env);
  const DATABASE_URL = databaseUrlOf(parsed);
  return {
    ...parsed,
    DATABASE_URL,
    kafka: kafkaConnectionFromEnv(env),
    auth:
      parsed.AUTH_ISSUER_URL === undefined
        ? undefined
        : {
            issuer: parsed.AUTH_ISSUER_URL,
            audience: parsed.AUTH_AUDIENCE,
            ...(parsed.AUTH_JWKS_URL === undefined ? {} : { jwksUrl: parsed.AUTH_JWKS_URL }),
            callers: parsed.AUTH_CALLERS.split(','),
          },
  };
}
