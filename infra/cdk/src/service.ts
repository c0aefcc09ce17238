import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { portOf, SERVICES } from '@comms/endpoints';
import type { Protocol, ServiceName } from '@comms/endpoints';
import type { Sizing } from './config.js';
import type { ServerlessKafka } from './kafka.js';

/** The engine of every service database: Aurora PostgreSQL 16, Serverless v2. */
export const DATABASE_ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9;

/** The port of every service database. */
export const POSTGRES_PORT = 5432;

/**
 * The one Dockerfile of the services, relative to the repository root; the
 * service is its `SERVICE` build argument (as in docker-compose.yml and the
 * Copilot manifests).
 */
export const SERVICE_DOCKERFILE = 'infra/docker/service.Dockerfile';

/** Per-request and idle timeouts of one Service Connect endpoint. */
export interface ServiceConnectTimeouts {
  /** Longest a request may take through the proxy. */
  readonly perRequest: Duration;
  /** How long an idle connection stays open. */
  readonly idle: Duration;
}

/** What Service Connect uses when a service does not say: AWS's own defaults, written out. */
export const DEFAULT_SERVICE_CONNECT_TIMEOUTS: ServiceConnectTimeouts = {
  perRequest: Duration.seconds(15),
  idle: Duration.minutes(5),
};

/** Properties of {@link CommsService}. */
export interface CommsServiceProps {
  readonly name: ServiceName;
  /** The service's own database (`users`, `orders`, `notifications`). */
  readonly database: string;
  /** The cluster; its default Cloud Map namespace is the Service Connect namespace. */
  readonly cluster: ecs.Cluster;
  /** The repository root: the Docker build context. */
  readonly repoRoot: string;
  readonly kafka: ServerlessKafka;
  readonly sizing: Sizing;
  /**
   * Service Connect timeouts per protocol.
   * @default {@link DEFAULT_SERVICE_CONNECT_TIMEOUTS} for each
   */
  readonly timeouts?: Readonly<Partial<Record<Protocol, ServiceConnectTimeouts>>>;
  /** Variables beside the common ones. */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * One of the three services: its Aurora Serverless v2 database, its Fargate
 * service built from {@link SERVICE_DOCKERFILE} with `SERVICE=<name>`,
 * registered with Service Connect on every port that `SERVICES` in
 * @comms/endpoints gives it, and its access to Kafka. No public IP; only its own tasks may reach its database.
 */
export class CommsService extends Construct {
  readonly name: ServiceName;
  readonly service: ecs.FargateService;
  /** The one container, named after the service. */
  readonly container: ecs.ContainerDefinition;
  /** Aurora Serverless v2 PostgreSQL with one database, {@link CommsServiceProps.database}. */
  readonly database: rds.DatabaseCluster;
  /** Secrets Manager JSON: username, password, dbname, and host, port once attached. */
  readonly databaseSecret: rds.DatabaseSecret;

  constructor(scope: Construct, id: string, props: CommsServiceProps) {
    super(scope, id);
    const { name, cluster, sizing } = props;
    this.name = name;
    const namespace = cluster.defaultCloudMapNamespace;
    if (namespace === undefined) {
      throw new Error(
        `${name}: the cluster needs a default Cloud Map namespace for Service Connect`,
      );
    }
    const ports = SERVICES[name];
    const names = ports.serviceConnect;
    const vpc = cluster.vpc;
    const privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    const timeouts = {
      http: props.timeouts?.http ?? DEFAULT_SERVICE_CONNECT_TIMEOUTS,
      grpc: props.timeouts?.grpc ?? DEFAULT_SERVICE_CONNECT_TIMEOUTS,
    };

    // The secret is created here, not by the cluster, so that it carries
    // dbname: the services read DATABASE_SECRET whole (packages/postgres).
    this.databaseSecret = new rds.DatabaseSecret(this, 'DatabaseSecret', {
      username: `${props.database}_owner`,
      dbname: props.database,
    });
    this.database = new rds.DatabaseCluster(this, 'Database', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: DATABASE_ENGINE_VERSION }),
      credentials: rds.Credentials.fromSecret(this.databaseSecret),
      defaultDatabaseName: props.database,
      port: POSTGRES_PORT,
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      serverlessV2MinCapacity: 0,
      serverlessV2MaxCapacity: sizing.databaseMaxCapacity,
      vpc,
      vpcSubnets: privateSubnets,
      storageEncrypted: true,
      backup: { retention: sizing.backupRetention },
      deletionProtection: sizing.deletionProtection,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    // The cluster's view of the secret: the same secret, attached to the
    // cluster, so that tasks start only once host and port are in it.
    const attachedSecret = this.database.secret;
    if (attachedSecret === undefined) throw new Error(`${name}: the database has no secret`);

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: sizing.cpu,
      memoryLimitMiB: sizing.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: sizing.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const environment: Record<string, string> = {
      HOST: '0.0.0.0',
      PORT: String(ports.http),
      ENDPOINTS_MODE: 'service-connect',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: props.kafka.bootstrapBrokers,
      // The region comes from AWS_REGION, which ECS sets in every task.
      KAFKA_SASL_MECHANISM: 'aws-msk-iam',
      ...props.environment,
    };
    if (ports.grpc !== undefined) environment['GRPC_PORT'] = String(ports.grpc);

    const portMappings: ecs.PortMapping[] = [
      { name: 'http', containerPort: ports.http, appProtocol: ecs.AppProtocol.http },
    ];
    const serviceConnectServices: ecs.ServiceConnectService[] = [
      serviceConnectEntry('http', names.http, ports.http, timeouts.http),
    ];
    if (ports.grpc !== undefined && names.grpc !== undefined) {
      portMappings.push({
        name: 'grpc',
        containerPort: ports.grpc,
        appProtocol: ecs.AppProtocol.grpc,
      });
      serviceConnectServices.push(
        serviceConnectEntry('grpc', names.grpc, ports.grpc, timeouts.grpc),
      );
    }

    this.container = taskDefinition.addContainer('App', {
      containerName: name,
      image: ecs.ContainerImage.fromAsset(props.repoRoot, {
        file: SERVICE_DOCKERFILE,
        buildArgs: { SERVICE: name },
        platform: Platform.LINUX_AMD64,
        // .dockerignore already keeps node_modules, dist and .git out; a
        // cdk.out left anywhere in the tree must not become build context.
        exclude: ['**/cdk.out'],
      }),
      environment,
      secrets: { DATABASE_SECRET: ecs.Secret.fromSecretsManager(attachedSecret) },
      portMappings,
      // The images have no curl; node's fetch does the probe.
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${ports.http}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: name }),
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: sizing.desiredCount,
      assignPublicIp: false,
      vpcSubnets: privateSubnets,
      circuitBreaker: { rollback: true },
      // ECS Exec: reach the private services from a shell (docs/deploy.md).
      enableExecuteCommand: true,
      minHealthyPercent: 100,
      serviceConnectConfiguration: {
        namespace: namespace.namespaceArn,
        services: serviceConnectServices,
        logDriver: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'service-connect' }),
      },
    });

    this.database.connections.allowFrom(
      this.service,
      ec2.Port.tcp(POSTGRES_PORT),
      `PostgreSQL from ${name}`,
    );
    props.kafka.connections.allowDefaultPortFrom(this.service, `Kafka (IAM) from ${name}`);
    props.kafka.grantClientAccess(taskDefinition.taskRole);
  }

  /**
   * Lets `client` call this service over the given protocols. Service Connect
   * does not open security groups: its proxy in this service's tasks accepts
   * connections on the container port, which the client's group must reach.
   */
  allowCallsFrom(client: CommsService, protocols: readonly Protocol[]): void {
    for (const protocol of protocols) {
      this.service.connections.allowFrom(
        client.service,
        ec2.Port.tcp(portOf(this.name, protocol)),
        `${protocol} from ${client.name} through Service Connect`,
      );
    }
  }
}

function serviceConnectEntry(
  portMappingName: Protocol,
  dnsName: string,
  port: number,
  timeouts: ServiceConnectTimeouts,
): ecs.ServiceConnectService {
  return {
    portMappingName,
    discoveryName: dnsName,
    dnsName,
    port,
    perRequestTimeout: timeouts.perRequest,
    idleTimeout: timeouts.idle,
  };
}
