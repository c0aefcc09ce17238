import { CfnOutput, Duration, Fn, Stack, Tags } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import { SERVICES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';
import { SCALING_TARGETS } from './config.js';
import { requiredScopeOf } from './identity.js';
import type { Identity, MachineClient } from './identity.js';
import type { Settings } from './config.js';
import type { PlatformStack } from './platform-stack.js';
import { CommsService } from './service.js';
import type { CommsServiceProps } from './service.js';

/** Properties of {@link ServicesStack}. */
export interface ServicesStackProps extends StackProps {
  readonly settings: Settings;
  /** The stack this one runs on; it is deployed first (an explicit dependency). */
  readonly platform: PlatformStack;
  /** The repository root, the Docker build context of the three images. */
  readonly repoRoot: string;
}

type ServiceDefinition = Pick<CommsServiceProps, 'environment' | 'timeouts'>;

/**
 * Identity with Amazon Cognito (the platform's user pool), for every
 * service: its API verifies Cognito access tokens with @comms/auth's
 * `cognito` profile (issuer, keys, `token_use: access`, and its own scope,
 * `<resource server>/<scope>`, since Cognito access tokens carry no `aud`),
 * user-service accepts only the app clients of its callers, and the two
 * callers get their own client-credentials tokens with the secret ECS reads
 * from Secrets Manager.
 */
export function identityOf(
  name: ServiceName,
  identity: Identity,
): Pick<CommsServiceProps, 'environment' | 'secrets'> {
  const environment: Record<string, string> = {
    AUTH_ISSUER_URL: identity.issuerUrl,
    AUTH_PROFILE: 'cognito',
    AUTH_JWKS_URL: identity.jwksUrl,
    AUTH_REQUIRED_SCOPE: requiredScopeOf(name),
  };
  if (name === 'user-service') {
    // What each may do, as user-service's default for the local clients: the two services read,
    // the console reads and writes.
    environment['AUTH_CALLERS'] = Fn.join(',', [
      Fn.join('', [identity.clientIds['order-service'], ':read']),
      Fn.join('', [identity.clientIds['notification-service'], ':read']),
      Fn.join('', [identity.clientIds.console, ':read+write']),
    ]);
    return { environment };
  }
  if (name === 'notification-service')
    // The console's backend may read every user's notifications (its operator views).
    environment['AUTH_OPERATOR_CLIENTS'] = identity.clientIds.console;
  const client = name as MachineClient['name'];
  return {
    environment: {
      ...environment,
      SERVICE_TOKEN_URL: identity.tokenUrl,
      SERVICE_CLIENT_ID: identity.clientIds[client],
      // What it asks Cognito for (no resource indicators there): user-service's scope.
      USER_SERVICE_SCOPE: requiredScopeOf('user-service'),
    },
    secrets: {
      SERVICE_CLIENT_SECRET: ecs.Secret.fromSecretsManager(identity.clientSecrets[client]),
    },
  };
}

/** What differs between the three services; ports and names come from @comms/endpoints. */
const DEFINITIONS: Readonly<Record<ServiceName, ServiceDefinition>> = {
  'user-service': {},
  'order-service': { environment: { USER_VALIDATION: 'grpc' } },
  'notification-service': {
    // GET /notifications/stream is Server-Sent Events: one request that lasts
    // as long as the client listens. The per-request timeout bounds a stream's
    // life; its keep-alive comment every 15 s keeps the idle timer from firing.
    timeouts: { http: { perRequest: Duration.hours(1), idle: Duration.minutes(5) } },
  },
};

/**
 * The three services on the platform of {@link PlatformStack}: their task
 * definitions and roles, Service Connect registrations, auto scaling, the
 * security group rules between them and to their databases and Kafka, and a
 * public load balancer for order-service only. It can be destroyed and
 * deployed again without touching the data or the namespace.
 */
export class ServicesStack extends Stack {
  readonly services: Readonly<Record<ServiceName, CommsService>>;
  /** Internet-facing, port 80, in front of order-service only. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { settings, platform } = props;
    Tags.of(this).add('comms:environment', settings.envName);
    // The references below would imply it; saying it keeps the order when
    // they change, and states it where a reader looks.
    this.addStackDependency(
      platform,
      'the services run on its cluster, namespace, databases and Kafka',
    );

    const tls = platform.serviceConnectTls;
    const build = (name: ServiceName, id: string): CommsService => {
      const auth = identityOf(name, platform.identity);
      return new CommsService(this, id, {
        name,
        cluster: platform.cluster,
        database: platform.databases[name],
        repoRoot: props.repoRoot,
        kafka: platform.kafka,
        sizing: settings.sizing,
        tasks: settings.sizing.tasks[name],
        ...DEFINITIONS[name],
        environment: { ...DEFINITIONS[name].environment, ...auth.environment },
        ...(auth.secrets === undefined ? {} : { secrets: auth.secrets }),
        ...(tls === undefined
          ? {}
          : { serviceConnectTls: { awsPcaAuthorityArn: tls.authorityArn, role: tls.role } }),
      });
    };
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
    // group names its clients' groups).
    const ecsService = (of: CommsService) => of.service.node.defaultChild as ecs.CfnService;
    ecsService(order).addResourceDependency(ecsService(user));
    ecsService(notification).addResourceDependency(ecsService(user));

    // Only order-service is public; the others have no load balancer at all.
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'OrderServiceLoadBalancer', {
      vpc: platform.vpc,
      internetFacing: true,
    });
    const listener = this.loadBalancer.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: true,
    });
    const orderHttp = SERVICES['order-service'].http;
    const targetGroup = listener.addTargets('OrderService', {
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
    // The public service also scales on its requests: CPU lags behind a burst
    // of cheap requests, the load balancer's count does not.
    order.scaleOnRequests(targetGroup, SCALING_TARGETS.orderRequestsPerTarget);

    new CfnOutput(this, 'LoadBalancerDnsName', {
      description: 'order-service, over HTTP on port 80',
      value: this.loadBalancer.loadBalancerDnsName,
    });
  }
}
