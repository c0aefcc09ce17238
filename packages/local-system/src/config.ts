/** An environment to read from. */
type Env = Readonly<Record<string, string | undefined>>;

/**
 * The one place packages/local-system reads the environment: only what it
 * hands on. The services get nothing else from it, so they are configured
 * by the environment startSystem builds for them and nothing leaks in.
 */
export interface LocalSystemEnv {
  /** `PATH`, so the services find the programs this process finds. */
  readonly path: string;
  /** The environment the infrastructure is chosen from (DATABASE_URL, KAFKA_BROKERS, COMMS_INFRA). */
  readonly infra: Env;
}

/** Reads what packages/local-system hands on from the environment. */
export function localSystemEnv(env: Env = process.env): LocalSystemEnv {
  return { path: env['PATH'] ?? '', infra: env };
}
