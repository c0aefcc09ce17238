import type { DemoEnv } from './demo.js';

/** What apps/dev takes from its environment; nothing else in it reads `process.env`. */
export interface DevConfig {
  /** Colour the service prefixes of `npm start`: a terminal, and NO_COLOR (no-color.org) unset. */
  readonly color: boolean;
  /**
   * Where the demo finds the services (the endpoint variables of
   * packages/endpoints, which validates them), USERS_DATABASE_URL,
   * ORDERS_DATABASE_URL, and PATH for the rebuild it runs.
   */
  readonly demoEnv: DemoEnv;
  /** What `npm start` chooses PostgreSQL and Kafka from: DATABASE_URL, KAFKA_BROKERS, COMMS_INFRA. */
  readonly infraEnv: Readonly<Record<string, string | undefined>>;
  /** Passed on to every service `npm start` runs: KAFKA_CLIENT, the Kafka client they use. */
  readonly serviceEnv: Readonly<Record<string, string>>;
}

const KAFKA_CLIENTS = ['kafkajs', 'platformatic'];

/** Reads the environment once, at start. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  isTTY: boolean = process.stdout.isTTY,
): DevConfig {
  const copy = { ...env };
  const client = env['KAFKA_CLIENT'];
  if (client !== undefined && client !== '' && !KAFKA_CLIENTS.includes(client))
    throw new Error(`KAFKA_CLIENT must be one of ${KAFKA_CLIENTS.join(', ')}, got '${client}'`);
  return {
    color: isTTY && env['NO_COLOR'] === undefined,
    demoEnv: copy,
    infraEnv: copy,
    serviceEnv: client === undefined || client === '' ? {} : { KAFKA_CLIENT: client },
  };
}
