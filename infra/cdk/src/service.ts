import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { portOf, SERVICES } from '@comms/endpoints';
import type { Protocol, ServiceName } from '@comms/endpoints';
import { SCALING_TARGETS } from './config.js';
import type { Sizing, TaskRange } from './config.js';
import { POSTGRES_PORT } from './database.js';
import type { ServiceDatabase } from './database.js';
import type { ServerlessKafka } from './kafka.js';

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
  /** The service's own database, from the platform stack; only this service's tasks may reach it. */
  readonly database: ServiceDatabase;
  /** The cluster; its default Cloud Map namespace is the Service Connect namespace. */
  readonly cluster: ecs.ICluster;
  /** The repository root: the Docker build context. */
  readonly repoRoot: string;
  readonly kafka: ServerlessKafka;
  readonly sizing: Sizing;
  /** How many tasks auto scaling may run. */
  readonly tasks: TaskRange;
  /**
   * Service Connect timeouts per protocol.
   * @default {@link DEFAULT_SERVICE_CONNECT_TIMEOUTS} for each
   */
  readonly timeouts?: Readonly<Partial<Record<Protocol, ServiceConnectTimeouts>>>;
  /** Variables beside the common ones. */
  readonly environment?: Readonly<Record<string, string>>;
  /** ECS secrets beside DATABASE_SECRET (a client secret), by variable name. */
  readonly secrets?: Readonly<Record<string, ecs.Secret>>;
  /** Service Connect TLS for every endpoint of the service (a private CA and the ECS role). */
  readonly serviceConnectTls?: ecs.ServiceConnectTlsConfiguration;
}

/**
 * One of the three services: its Fargate service built from
 * {@link SERVICE_DOCKERFILE} with `SERVICE=<name>`, registered with Service
 * Connect on every port that `SERVICES` in @comms/endpoints gives it, its
 * access to its database and to Kafka, and target tracking on CPU between
 * the bounds of {@link CommsServiceProps.tasks}. No public IP.
 */
export class CommsService extends Construct {
  readonly name: ServiceName;
  readonly service: ecs.FargateService;
  /** The one container, named after the service. */
  readonly container: ecs.ContainerDefinition;
  /** The task count auto scaling moves; {@link CommsService.scaleOnRequests} adds to it. */
  readonly scaling: ecs.ScalableTaskCount;

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
    const { min, max } = props.tasks;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || min > max) {
      throw new Error(
        `${name}: the task range must be whole numbers 1 <= min <= max, got ${min}-${max}`,
      );
    }
    const ports = SERVICES[name];
    const names = ports.serviceConnect;
    const privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    const timeouts = {
      http: props.timeouts?.http ?? DEFAULT_SERVICE_CONNECT_TIMEOUTS,
      grpc: props.timeouts?.grpc ?? DEFAULT_SERVICE_CONNECT_TIMEOUTS,
    };

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
      serviceConnectEntry('http', names.http, ports.http, timeouts.http, props.serviceConnectTls),
    ];
    if (ports.grpc !== undefined && names.grpc !== undefined) {
      portMappings.push({
        name: 'grpc',
        containerPort: ports.grpc,
        appProtocol: ecs.AppProtocol.grpc,
      });
      serviceConnectServices.push(
        serviceConnectEntry('grpc', names.grpc, ports.grpc, timeouts.grpc, props.serviceConnectTls),
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
      secrets: {
        DATABASE_SECRET: ecs.Secret.fromSecretsManager(props.database.secret),
        ...props.secrets,
      },
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
      // Where a new service starts; afterwards auto scaling owns the count
      // (CloudFormation leaves it alone while this value does not change).
      desiredCount: min,
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

    // The rules are written from the service's side: when the database or
    // Kafka is in another stack, the ingress rule then lands in this one,
    // and the platform stack never refers to a service (which would be a
    // cycle, the services stack already referring to the platform).
    this.service.connections.allowTo(
      props.database.cluster,
      ec2.Port.tcp(POSTGRES_PORT),
      `PostgreSQL from ${name}`,
    );
    this.service.connections.allowToDefaultPort(props.kafka, `Kafka (IAM) from ${name}`);
    // allowTo also asks for the matching egress rule, which a group that
    // allows all outbound does not need (the tasks also reach ECR, Secrets
    // Manager and CloudWatch): CDK's warning that it skips it is expected.
    for (const group of this.service.connections.securityGroups) {
      Annotations.of(group).acknowledgeWarning(
        '@aws-cdk/aws-ec2:ipv4IgnoreEgressRule',
        'the tasks allow all outbound traffic on purpose',
      );
    }
    props.kafka.grantClientAccess(taskDefinition.taskRole);

    this.scaling = this.service.autoScaleTaskCount({ minCapacity: min, maxCapacity: max });
    this.scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: SCALING_TARGETS.cpuPercent,
      scaleOutCooldown: SCALING_TARGETS.scaleOutCooldown,
      scaleInCooldown: SCALING_TARGETS.scaleInCooldown,
    });
  }

  /**
   * Adds target tracking on load balancer requests per task
   * (ALBRequestCountPerTarget) for the target group in front of this service.
   */
  scaleOnRequests(targetGroup: elbv2.ApplicationTargetGroup, requestsPerTarget: number): void {
    this.scaling.scaleOnRequestCount('Requests', {
      targetGroup,
      requestsPerTarget,
      scaleOutCooldown: SCALING_TARGETS.scaleOutCooldown,
      scaleInCooldown: SCALING_TARGETS.scaleInCooldown,
    });
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
  tls: ecs.ServiceConnectTlsConfiguration | undefined,
): ecs.ServiceConnectService {
  return {
    portMappingName,
    discoveryName: dnsName,
    dnsName,
    port,
    perRequestTimeout: timeouts.perRequest,
    idleTimeout: timeouts.idle,
    ...(tls === undefined ? {} : { tls }),
  };
}
