import { Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** The environments the app knows how to size. */
export const ENVIRONMENT_NAMES = ['test', 'prod'] as const;

/** A deployment environment: `test` is small and cheap, `prod` has headroom and guards. */
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** How big one environment is. */
export interface Sizing {
  /** Fargate CPU units of each task. */
  readonly cpu: number;
  /** Fargate memory of each task, MiB. */
  readonly memoryMiB: number;
  /** Tasks per service. */
  readonly desiredCount: number;
  /** Aurora Serverless v2 ceiling in ACUs; the floor is always 0, so idle databases pause. */
  readonly databaseMaxCapacity: number;
  /** Refuse to delete the databases (they are snapshotted on removal either way). */
  readonly deletionProtection: boolean;
  /** Days of automated database backups. */
  readonly backupRetention: Duration;
  /** How long container logs are kept. */
  readonly logRetention: RetentionDays;
}

/** Sizing per environment. */
export const SIZING: Readonly<Record<EnvironmentName, Sizing>> = {
  test: {
    cpu: 256,
    memoryMiB: 512,
    desiredCount: 1,
    databaseMaxCapacity: 2,
    deletionProtection: false,
    backupRetention: Duration.days(1),
    logRetention: RetentionDays.ONE_WEEK,
  },
  prod: {
    cpu: 512,
    memoryMiB: 1024,
    desiredCount: 2,
    databaseMaxCapacity: 8,
    deletionProtection: true,
    backupRetention: Duration.days(7),
    logRetention: RetentionDays.ONE_MONTH,
  },
};

/** The Cloud Map namespace of Service Connect when the context names none. */
export const DEFAULT_NAMESPACE = 'comms.local';

/** What the app builds, read from CDK context (`-c env=prod -c namespace=comms.internal`). */
export interface Settings {
  readonly envName: EnvironmentName;
  /** Cloud Map HTTP namespace used by Service Connect. */
  readonly namespace: string;
  readonly sizing: Sizing;
}

/** A context value as a message shows it: strings quoted, anything else as JSON. */
function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

const DNS_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Reads and validates the app's context keys: `env` (`test` or `prod`,
 * default `test`) and `namespace` (a DNS name, default `comms.local`).
 * Throws naming the key and the expected format.
 */
export function settingsFromContext(context: (key: string) => unknown): Settings {
  const envName = context('env') ?? 'test';
  if (typeof envName !== 'string' || !(ENVIRONMENT_NAMES as readonly string[]).includes(envName)) {
    throw new Error(
      `context 'env' must be one of ${ENVIRONMENT_NAMES.join(', ')}, got ${show(envName)}`,
    );
  }
  const namespace = context('namespace') ?? DEFAULT_NAMESPACE;
  if (typeof namespace !== 'string' || namespace.length > 253 || !DNS_NAME.test(namespace)) {
    throw new Error(
      `context 'namespace' must be a lower-case DNS name like ${DEFAULT_NAMESPACE}, got ${show(namespace)}`,
    );
  }
  const name = envName as EnvironmentName;
  return { envName: name, namespace, sizing: SIZING[name] };
}
