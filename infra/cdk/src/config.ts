import { Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { TOPIC_PARTITIONS } from '@comms/contracts/events';
import type { ServiceName } from '@comms/endpoints';

/** The environments the app knows how to size. */
export const ENVIRONMENT_NAMES = ['test', 'prod'] as const;

/** A deployment environment: `test` is small and cheap, `prod` has headroom and guards. */
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** How many tasks of one service may run; auto scaling moves the count between the two. */
export interface TaskRange {
  /** Tasks when idle, and what a deployment starts with. */
  readonly min: number;
  readonly max: number;
}

/**
 * The most notification-service tasks that all have work: each task of the
 * `notifications` group is assigned whole partitions of `orders`, so a task
 * beyond the partition count is assigned none and sits idle. Read from
 * @comms/contracts, which the services create the topic from; raising it is a
 * migration (docs/deploy.md, "Raising the partition count").
 */
export const NOTIFICATION_MAX_TASKS: number = TOPIC_PARTITIONS.orders;

/**
 * Target tracking of every service, the same in each environment (the
 * Copilot manifests say the same in `count`).
 */
export const SCALING_TARGETS = {
  /** Average CPU of a service's tasks that scaling steers towards. */
  cpuPercent: 70,
  /**
   * order-service only: load balancer requests per task per minute
   * (ALBRequestCountPerTarget), about 17 a second each. A starting point,
   * not a figure measured on AWS: it adds tasks for bursts of cheap requests
   * (reads) that barely move CPU; tune it from the service's own metrics.
   */
  orderRequestsPerTarget: 1000,
  /** Wait after adding tasks before adding more. */
  scaleOutCooldown: Duration.seconds(60),
  /** Wait after removing tasks before removing more: slower, so a dip does not drop capacity. */
  scaleInCooldown: Duration.seconds(300),
} as const;

/** How big one environment is. */
export interface Sizing {
  /** Fargate CPU units of each task. */
  readonly cpu: number;
  /** Fargate memory of each task, MiB. */
  readonly memoryMiB: number;
  /** Task count range per service. */
  readonly tasks: Readonly<Record<ServiceName, TaskRange>>;
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
    tasks: {
      'user-service': { min: 1, max: 2 },
      'order-service': { min: 1, max: 2 },
      'notification-service': { min: 1, max: NOTIFICATION_MAX_TASKS },
    },
    databaseMaxCapacity: 2,
    deletionProtection: false,
    backupRetention: Duration.days(1),
    logRetention: RetentionDays.ONE_WEEK,
  },
  prod: {
    cpu: 512,
    memoryMiB: 1024,
    // Two of each at least, one per AZ; order-service 2 to 6 as in Copilot's prod.
    tasks: {
      'user-service': { min: 2, max: 6 },
      'order-service': { min: 2, max: 6 },
      'notification-service': { min: 2, max: NOTIFICATION_MAX_TASKS },
    },
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
  /**
   * Service Connect TLS between the services, with certificates of an AWS
   * Private CA (`-c serviceConnectTls=true`; default off: the CA costs a
   * monthly fee). See docs/deploy.md.
   */
  readonly serviceConnectTls: boolean;
}

/** A context value as a message shows it: strings quoted, anything else as JSON. */
function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

const DNS_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Reads and validates the app's context keys: `env` (`test` or `prod`,
 * default `test`), `namespace` (a DNS name, default `comms.local`) and
 * `serviceConnectTls` (`true` or `false`, default `false`).
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
  // -c gives strings; the tests and cdk.json may give booleans.
  const tls = context('serviceConnectTls') ?? false;
  if (tls !== true && tls !== false && tls !== 'true' && tls !== 'false') {
    throw new Error(`context 'serviceConnectTls' must be true or false, got ${show(tls)}`);
  }
  const name = envName as EnvironmentName;
  return {
    envName: name,
    namespace,
    sizing: SIZING[name],
    serviceConnectTls: tls === true || tls === 'true',
  };
}
