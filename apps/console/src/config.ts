import Type from 'typebox';
import type { Static } from 'typebox';
import { resolveAtStartup } from '@comms/endpoints';
import { kafkaConnectionFromEnv } from '@comms/kafka';
import type { KafkaConnection } from '@comms/kafka';
import { parseEnv } from '@comms/service-kit';

const Env = Type.Object({
  HOST: Type.String({
    default: '127.0.0.1',
    description: 'address to listen on; 0.0.0.0 in containers',
  }),
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8080, description: 'HTTP port' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'one of fatal, error, warn, info, debug, trace, silent' },
  ),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 5_000,
    description: 'bound on graceful shutdown',
  }),
  CONSOLE_SPANS_DIR: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "the directory the services write their spans to (their TELEMETRY_SPANS_DIR); the timeline's span-only hops need it",
    }),
  ),
  JAEGER_UI_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s?#]+$',
      description: "Jaeger's web UI, such as http://127.0.0.1:16686; trace ids link there",
    }),
  ),
  CONSOLE_FAULTS_URL: Type.Optional(
    Type.String({
      pattern: '^http://127\\.0\\.0\\.1:[0-9]+$',
      description:
        'the loopback control endpoint npm start gives the console for its faults panel; unset, fault actions are refused',
    }),
  ),
  CONSOLE_FAULTS_TOKEN: Type.Optional(
    Type.String({ minLength: 16, description: 'the bearer token of CONSOLE_FAULTS_URL' }),
  ),
  AUTH_ISSUER_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s?#]+$',
      description:
        'the local token issuer (npm start: http://127.0.0.1:8084); the console signs its users, the operator and itself in there and sends their tokens. Unset, it sends none',
    }),
  ),
  UPSTREAM_TIMEOUT_MS: Type.Integer({
    minimum: 50,
    default: 5_000,
    description: 'deadline of one call to a service',
  }),
});

/** The console's configuration, parsed and validated once at boot. */
export type Config = Static<typeof Env> & {
  readonly orderServiceHttp: string;
  readonly orderServiceGrpc: string;
  readonly userServiceHttp: string;
  readonly notificationServiceHttp: string;
  /** How the addresses were formed (packages/endpoints), for the page's header. */
  readonly endpointsMode: string;
  /** The cluster the Kafka panel lists topics of (KAFKA_BROKERS and its SASL settings); unset, it says so. */
  readonly kafka: KafkaConnection | undefined;
};

/** Reads the environment; throws naming the first bad variable and its expected format. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  const parsed = parseEnv(Env, env);
  if ((parsed.CONSOLE_FAULTS_URL === undefined) !== (parsed.CONSOLE_FAULTS_TOKEN === undefined))
    throw new Error('CONSOLE_FAULTS_URL and CONSOLE_FAULTS_TOKEN are set together or not at all');
  const { resolver, addresses } = resolveAtStartup(
    [
      ['order-service', 'http'],
      ['order-service', 'grpc'],
      ['user-service', 'http'],
      ['notification-service', 'http'],
    ],
    env,
  );
  return {
    ...parsed,
    JAEGER_UI_URL: parsed.JAEGER_UI_URL?.replace(/\/+$/, ''),
    AUTH_ISSUER_URL: parsed.AUTH_ISSUER_URL?.replace(/\/+$/, ''),
    orderServiceHttp: addresses['order-service/http'] ?? '',
    orderServiceGrpc: addresses['order-service/grpc'] ?? '',
    userServiceHttp: addresses['user-service/http'] ?? '',
    notificationServiceHttp: addresses['notification-service/http'] ?? '',
    endpointsMode: resolver.mode,
    kafka: (env['KAFKA_BROKERS'] ?? '').trim() === '' ? undefined : kafkaConnectionFromEnv(env),
  };
}
