import Type from 'typebox';
import type { Static } from 'typebox';
import { CONSUMER_GROUPS, TOPICS } from '@comms/contracts';
import { resolveAtStartup } from '@comms/endpoints';
import { kafkaConnectionFromEnv } from '@comms/kafka';
import type { KafkaConnection } from '@comms/kafka';
import { databaseUrlOf } from '@comms/postgres';
import {
  bearerAuthEnv,
  bearerAuthOf,
  operatorRoleEnv,
  parseEnv,
  serviceEnv,
  serviceIdentityEnv,
  serviceIdentityOf,
} from '@comms/service-kit';
import type { BearerAuth, ServiceIdentity } from '@comms/service-kit';

const Env = Type.Object({
  ...serviceEnv({ database: 'notifications', httpPort: 8083 }),
  CONSUMER_GROUP: Type.String({
    minLength: 1,
    default: CONSUMER_GROUPS.notificationService,
    description: 'Kafka consumer group id',
  }),
  USERS_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.users,
    description: 'topic of user events',
  }),
  ORDERS_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.orders,
    description: 'topic of order events',
  }),
  DLQ_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.notificationsDlq,
    description: 'dead-letter topic',
  }),
  MAX_ATTEMPTS: Type.Integer({
    minimum: 1,
    maximum: 20,
    default: 5,
    description: 'tries per message before dead-lettering',
  }),
  RETRY_BASE_MS: Type.Integer({
    minimum: 1,
    default: 100,
    description: 'first retry delay; doubles each try',
  }),
  CONSUMER_CONCURRENCY: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 3,
    description: 'partitions handled at once; events with one key stay in order',
  }),
  MAX_EVENT_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 16 * 1024 * 1024,
    default: 256 * 1024,
    description: 'larger messages are dead-lettered unread',
  }),
  PENDING_RETRY_MS: Type.Integer({
    minimum: 50,
    default: 5_000,
    description: 'how often events waiting for a recipient are retried',
  }),
  USER_CALL_TIMEOUT_MS: Type.Integer({
    minimum: 10,
    default: 500,
    description: 'deadline of one call to user-service',
  }),
  TELEMETRY_KAFKA_CONSUMER_RELATION: Type.Union([Type.Literal('child'), Type.Literal('link')], {
    default: 'child',
    description:
      "child or link: whether handling an event continues the producer's trace or starts one linked to it",
  }),
  ...serviceIdentityEnv('notification-service'),
  ...bearerAuthEnv({
    service: 'notification-service',
    audience: 'urn:comms:notification-service',
    whenSet:
      "every route but /healthz, /readyz and /docs needs a bearer token: a user's for their own notifications, the operator role's or an AUTH_OPERATOR_CLIENTS service's for everything",
  }),
  ...operatorRoleEnv(
    'may read every notification and stream, the consumer lag and the DLQ, and re-drive it',
  ),
  AUTH_OPERATOR_CLIENTS: Type.String({
    pattern: '^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$',
    default: 'console',
    description:
      "comma-separated client ids whose own service tokens may do what the operator role may (the console's backend)",
  }),
});

/** Who may read what; absent when AUTH_ISSUER_URL is unset. */
export interface AuthConfig extends BearerAuth {
  readonly operatorRole: string;
  readonly operatorClients: readonly string[];
}

/** notification-service configuration, parsed and validated once at boot. */
export type Config = Static<typeof Env> & {
  readonly DATABASE_URL: string;
  readonly kafka: KafkaConnection;
  /** user-service's REST base URLs: one, or every instance when the override lists several. */
  readonly userServiceHttp: readonly string[];
  /** Its own identity towards user-service; absent when SERVICE_TOKEN_URL is unset. */
  readonly identity: ServiceIdentity | undefined;
  /** Authentication at its own API; absent when AUTH_ISSUER_URL is unset. */
  readonly auth: AuthConfig | undefined;
};

/** Reads the environment; throws naming the first bad variable and its expected format. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  const parsed = parseEnv(Env, env);
  const DATABASE_URL = databaseUrlOf(parsed);
  const { sets } = resolveAtStartup([['user-service', 'http', 'several']], env);
  const bearer = bearerAuthOf(parsed);
  return {
    ...parsed,
    DATABASE_URL,
    kafka: kafkaConnectionFromEnv(env),
    userServiceHttp: sets['user-service/http'] ?? [],
    identity: serviceIdentityOf(parsed),
    auth:
      bearer === undefined
        ? undefined
        : {
            ...bearer,
            operatorRole: parsed.AUTH_OPERATOR_ROLE,
            operatorClients: parsed.AUTH_OPERATOR_CLIENTS.split(','),
          },
  };
}
