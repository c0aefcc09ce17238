import Type from 'typebox';
import type { Static } from 'typebox';
import { kafkaConnectionFromEnv } from '@comms/kafka';
import type { KafkaConnection } from '@comms/kafka';
import { databaseUrlOf } from '@comms/postgres';
import {
  bearerAuthEnv,
  bearerAuthOf,
  grpcPortEnv,
  outboxEnv,
  parseEnv,
  serviceEnv,
} from '@comms/service-kit';
import type { BearerAuth } from '@comms/service-kit';
import { CALLERS_PATTERN, parseCallers } from './callers.js';
import type { Caller } from './callers.js';

const Env = Type.Object({
  ...serviceEnv({ database: 'users', httpPort: 8081 }),
  ...grpcPortEnv(50051),
  ...outboxEnv(),
  ...bearerAuthEnv({
    service: 'user-service',
    audience: 'urn:comms:user-service',
    whenSet:
      'REST /users* and every gRPC call accept only the own tokens of the services in AUTH_CALLERS, each for what it may do',
  }),
  AUTH_CALLERS: Type.String({
    pattern: CALLERS_PATTERN,
    default: 'order-service:read,notification-service:read,console:read+write,tools:read+write',
    description:
      'comma-separated client ids of the services that may call user-service, each with what it may do: id:read, id:write or id:read+write (a bare id may do both)',
  }),
});

/** Service identity: who may call, and do what; absent when AUTH_ISSUER_URL is unset. */
export interface CallerAuthConfig extends BearerAuth {
  readonly callers: readonly Caller[];
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
  const bearer = bearerAuthOf(parsed);
  return {
    ...parsed,
    DATABASE_URL,
    kafka: kafkaConnectionFromEnv(env),
    auth:
      bearer === undefined ? undefined : { ...bearer, callers: parseCallers(parsed.AUTH_CALLERS) },
  };
}
