import { CfnOutput, Duration, Stack, Tags } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { NamespaceType } from 'aws-cdk-lib/aws-servicediscovery';
import type { Construct } from 'constructs';
import { SERVICES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';
import type { Settings } from './config.js';
import { ServerlessKafka } from './kafka.js';
import { CommsService } from './service.js';
import type { CommsServiceProps } from './service.js';

/** Properties of {@link CommsStack}. */
export interface CommsStackProps extends StackProps {
  readonly settings: Settings;
  /** The repository root, the Docker build context of the three images. */
  readonly repoRoot: string;
}

type ServiceDefinition = Pick<CommsServiceProps, 'database' | 'environment' | 'timeouts'>;

/** What differs between the three services; ports and names come from @comms/endpoints. */
const DEFINITIONS: Readonly<Record<ServiceName, ServiceDefinition>> = {
  'user-service': { database: 'users' },
  'order-service': { database: 'orders', environment: { USER_VALIDATION: 'grpc' } },
  'notification-service': {
    database: 'notifications',
    // GET /notifications/stream is Server-Sent Events: one request that lasts
    // as long as the client listens. The per-request timeout bounds a stream's
    // life; its keep-alive comment every 15 s keeps the idle timer from firing.
    timeouts: { http: { perRequest: Duration.hours(1), idle: Duration.minutes(5) } },
  },
};

/**
 * Everything the three services need on AWS, in one environment-agnostic
 * stack: VPC, ECS cluster with a Service Connect namespace, one Aurora
 * Serverless v2 PostgreSQL per service, MSK Serverless with IAM auth, and a
 * public load balancer for order-service only.
 */
export class CommsStack extends Stack {
  /** Two AZs, public and private subnets, one NAT gateway. */
  readonly vpc: ec2.Vpc;
  /** The ECS cluster; its default Cloud Map namespace serves Service Connect. */
  readonly cluster: ecs.Cluster;
  readonly kafka: ServerlessKafka;
  readonly services: Readonly<Record<ServiceName, CommsService>>;
  /** Internet-facing, port 80, in front of order-service only. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;

  constructor(scope: Construct, id: string, props: CommsStackProps) {
    super(scope, id, props);
    const { settings } = props;
    Tags.of(this).add('comms:environment', settings.envName);

    this.vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      defaultCloudMapNamespace: {
        name: settings.namespace,
        type: NamespaceType.HTTP,
        useForServiceConnect: true,
      },
    });
    this.kafka = new ServerlessKafka(this, 'Kafka', {
      vpc: this.vpc,
      clusterName: `${this.stackName}-kafka`,
    });

    const build = (name: ServiceName, id: string): CommsService =>
      new CommsService(this, id, {
        name,
        cluster: this.cluster,
        repoRoot: props.repoRoot,
        kafka: this.kafka,
        sizing: settings.sizing,
        ...DEFINITIONS[name],
      });
    const user = build('user-service', 'UserService');
    const order = build('order-service', 'OrderService');
    const notification = build('notification-service', 'NotificationService');
    this.services = {
      'user-service': user,
      'order-service': order,
      'notification-service': notification,
    };

    // Who calls whom (docs/architecture.md): order-service asks user-service
    // over gRPC (USER_VALIDATION=grpc) or REST; notification-service falls
    // back to user-service's REST API. Apart from the load balancer's traffic
    // to order-service below, no other connection into a service is allowed.
    user.allowCallsFrom(order, ['http', 'grpc']);
    user.allowCallsFrom(notification, ['http']);

    // Service Connect hands a client the endpoints that exist when its tasks
    // start, so servers deploy first. The dependency joins the
    // AWS::ECS::Service resources only: between the whole constructs it would
    // close a cycle through the security group rules above (user-service's
    // group names its clients' groups), and it lets the three databases
    // still create in parallel.
    const ecsService = (of: CommsService) => of.service.node.defaultChild as ecs.CfnService;
    ecsService(order).addDependency(ecsService(user));
    ecsService(notification).addDependency(ecsService(user));

    // Only order-service is public; the others have no load balancer at all.
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'OrderServiceLoadBalancer', {
      vpc: this.vpc,
      internetFacing: true,
    });
    const listener = this.loadBalancer.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: true,
    });
    const orderHttp = SERVICES['order-service'].http;
    listener.addTargets('OrderService', {
      port: orderHttp,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [
        order.service.loadBalancerTarget({
          containerName: order.container.containerName,
          containerPort: orderHttp,
        }),
      ],
      healthCheck: { path: '/healthz', healthyHttpCodes: '200', interval: Duration.seconds(15) },
      deregistrationDelay: Duration.seconds(15),
    });

    new CfnOutput(this, 'LoadBalancerDnsName', {
      description: 'order-service, over HTTP on port 80',
      value: this.loadBalancer.loadBalancerDnsName,
    });
    new CfnOutput(this, 'ServiceConnectNamespace', {
      description: 'Cloud Map namespace of Service Connect',
      value: settings.namespace,
    });
  }
}
