import { parseReplicas } from '@comms/local-system';
import type { Replicas } from '@comms/local-system';
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

/** What `npm start -- <options>` asks for. */
export interface StartOptions {
  /** Instances per service (`--replicas order-service=2,notification-service=2`); the rest run once. */
  readonly replicas: Replicas;
  /** Identity on (the default); `--no-auth` runs every service open. */
  readonly auth: boolean;
}

const START_USAGE = 'npm start [-- [--replicas service=count[,service=count...]] [--no-auth]]';

/**
 * Reads `npm start`'s options: `--replicas <pairs>` or `--replicas=<pairs>`,
 * and `--no-auth`. Throws naming what was wrong, with the usage.
 */
export function parseStartArgs(args: readonly string[]): StartOptions {
  let replicas: Replicas = {};
  let auth = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--replicas' || arg.startsWith('--replicas=')) {
      const value = arg === '--replicas' ? args[++i] : arg.slice('--replicas='.length);
      if (value === undefined || value.startsWith('--'))
        throw new Error(`--replicas needs a value such as order-service=2; usage: ${START_USAGE}`);
      replicas = { ...replicas, ...parseReplicas(value) };
    } else if (arg === '--no-auth') {
      auth = false;
    } else {
      throw new Error(`npm start does not take '${arg}'; usage: ${START_USAGE}`);
    }
  }
  return { replicas, auth };
}
