import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ServiceName } from '@comms/endpoints';
import type { Sizing } from './config.js';

/** The engine of every service database: Aurora PostgreSQL 17, Serverless v2. */
export const DATABASE_ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9;

/** The port of every service database. */
export const POSTGRES_PORT = 5432;

/** The database each service owns (docs/architecture.md, "Data"). */
export const SERVICE_DATABASES: Readonly<Record<ServiceName, string>> = {
  'user-service': 'users',
  'order-service': 'orders',
  'notification-service': 'notifications',
};

/** Properties of {@link ServiceDatabase}. */
export interface ServiceDatabaseProps {
  readonly vpc: ec2.IVpc;
  /** The one database in the cluster (`users`, `orders`, `notifications`); its owner is `<name>_owner`. */
  readonly databaseName: string;
  readonly sizing: Sizing;
}

/**
 * One service's Aurora Serverless v2 PostgreSQL cluster with one database,
 * in the private subnets. It lets nobody in by itself: the service that owns
 * it opens port 5432 from its own tasks (in the stack of the service, so that
 * this stack never refers to the services).
 */
export class ServiceDatabase extends Construct {
  readonly cluster: rds.DatabaseCluster;
  /**
   * The secret as attached to the cluster: Secrets Manager JSON with
   * username, password, dbname, host and port. A task that reads it starts
   * only once host and port are in it.
   */
  readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: ServiceDatabaseProps) {
    super(scope, id);
    const { sizing } = props;
    // The secret is created here, not by the cluster, so that it carries
    // dbname: the services read DATABASE_SECRET whole (packages/postgres).
    const secret = new rds.DatabaseSecret(this, 'DatabaseSecret', {
      username: `${props.databaseName}_owner`,
      dbname: props.databaseName,
    });
    this.cluster = new rds.DatabaseCluster(this, 'Database', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: DATABASE_ENGINE_VERSION }),
      credentials: rds.Credentials.fromSecret(secret),
      defaultDatabaseName: props.databaseName,
      port: POSTGRES_PORT,
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      serverlessV2MinCapacity: 0,
      serverlessV2MaxCapacity: sizing.databaseMaxCapacity,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      storageEncrypted: true,
      backup: { retention: sizing.backupRetention },
      deletionProtection: sizing.deletionProtection,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    const attached = this.cluster.secret;
    if (attached === undefined)
      throw new Error(`${props.databaseName}: the database has no secret`);
    this.secret = attached;
  }
}
