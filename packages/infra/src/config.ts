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
