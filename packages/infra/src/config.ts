import { InfraError } from './errors.js';

/**
 * The one place packages/infra reads the environment. Everything else in
 * the package takes these values as arguments.
 */
export interface InfraEnv {
  /** The whole environment, for picking DATABASE_URL, KAFKA_BROKERS and COMMS_INFRA in startInfra, and for children. */
  readonly all: Readonly<Record<string, string | undefined>>;
  /** The Java that runs the native Kafka: `$JAVA_HOME/bin/java`, else `java` on PATH. */
  readonly java: string;
  /** How long the shared test infra's supervisor waits without a lease before it stops the servers. */
  readonly idleMs: number;
}

/** Reads and checks the variables packages/infra uses; names the variable and its format on a bad one. */
export function infraEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): InfraEnv {
  const home = env['JAVA_HOME'];
  const idle = env['COMMS_INFRA_IDLE_MS'];
  const idleMs = idle === undefined || idle === '' ? 30_000 : Number(idle);
  if (!Number.isInteger(idleMs) || idleMs < 0)
    throw new InfraError(
      `COMMS_INFRA_IDLE_MS must be a whole number of milliseconds, got '${idle ?? ''}'`,
      'unset it for the default of 30000',
    );
  return {
    all: env,
    java: home !== undefined && home !== '' ? `${home.replace(/\/$/, '')}/bin/java` : 'java',
    idleMs,
  };
}

/** What the token issuer's process reads; see token-issuer-main.ts. */
export interface TokenIssuerEnv {
  /** TOKEN_ISSUER_PORT: default 8084 (ARCHITECTURE.md); 0 picks a free port. */
  readonly port: number;
  /** TOKEN_ISSUER_HOST: the address it listens on; default 127.0.0.1 (compose sets 0.0.0.0 inside its container). */
  readonly host: string;
  /** TOKEN_ISSUER_URL: the issuer identifier, when it differs from `http://127.0.0.1:<port>` (compose). */
  readonly issuerUrl: string | undefined;
  /** TOKEN_ISSUER_OPERATORS: comma-separated user ids with the operator role; default `operator`. */
  readonly operators: readonly string[];
  /** TOKEN_ISSUER_ACCESS_TOKEN_TTL_S: access token lifetime; default 900. */
  readonly accessTokenTtlSeconds: number;
}

/** Reads and checks the token issuer's variables; names the variable and its format on a bad one. */
export function tokenIssuerEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): TokenIssuerEnv {
  const whole = (name: string, fallback: number, min: number, max: number): number => {
    const text = env[name]?.trim() ?? '';
    const value = text === '' ? fallback : Number(text);
    if (!Number.isInteger(value) || value < min || value > max)
      throw new InfraError(
        `${name} must be a whole number ${String(min)}-${String(max)}, got '${text}'`,
        `unset it for the default of ${String(fallback)}`,
      );
    return value;
  };
  const issuerUrl = env['TOKEN_ISSUER_URL']?.trim() || undefined;
  if (issuerUrl !== undefined && !/^https?:\/\/[^/]+(\/.*[^/])?$/.test(issuerUrl))
    throw new InfraError(
      `TOKEN_ISSUER_URL must be an http(s) URL without a trailing slash, got '${issuerUrl}'`,
      'for example http://token-issuer:8084, or unset it',
    );
  const operators = (env['TOKEN_ISSUER_OPERATORS'] ?? 'operator')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const host = env['TOKEN_ISSUER_HOST']?.trim() || '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]+$/.test(host))
    throw new InfraError(
      `TOKEN_ISSUER_HOST must be an address to listen on, got '${host}'`,
      'for example 0.0.0.0 inside a container, or unset it for 127.0.0.1',
    );
  return {
    port: whole('TOKEN_ISSUER_PORT', 8084, 0, 65535),
    host,
    issuerUrl,
    operators,
    accessTokenTtlSeconds: whole('TOKEN_ISSUER_ACCESS_TOKEN_TTL_S', 900, 1, 86_400),
  };
}
