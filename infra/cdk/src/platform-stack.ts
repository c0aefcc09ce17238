import { CfnOutput, Stack, Tags } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { NamespaceType } from 'aws-cdk-lib/aws-servicediscovery';
import type { Construct } from 'constructs';
import { SERVICE_NAMES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';
import type { Settings } from './config.js';
import { SERVICE_DATABASES, ServiceDatabase } from './database.js';
import { Identity } from './identity.js';
import { ServerlessKafka } from './kafka.js';
import { ServiceConnectTls } from './service-connect-tls.js';

/** Properties of {@link PlatformStack}. */
export interface PlatformStackProps extends StackProps {
  readonly settings: Settings;
}

/** Construct ids of the databases: `UserServiceDatabase` and so on. */
const databaseId = (name: ServiceName): string =>
  `${name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}Database`;

/**
 * What the services run on and keep their state in, deployed before them
 * and kept while they come and go: the VPC, the ECS cluster with the Cloud
 * Map namespace of Service Connect, one Aurora Serverless v2 PostgreSQL per
 * service and MSK Serverless with IAM auth. A namespace takes minutes to
 * create and to delete, which is why it is here and not beside the services
 * (the ECS Service Connect guidance). Nothing here refers to the services
 * stack: who may reach a database or Kafka is decided there.
 */
export class PlatformStack extends Stack {
  /** Two AZs, public and private subnets, one NAT gateway. */
  readonly vpc: ec2.Vpc;
  /** The ECS cluster; its default Cloud Map namespace serves Service Connect. */
  readonly cluster: ecs.Cluster;
  readonly kafka: ServerlessKafka;
  readonly databases: Readonly<Record<ServiceName, ServiceDatabase>>;
  /** Amazon Cognito, the issuer of every access token: it outlives the services, like the data. */
  readonly identity: Identity;
  /** The private CA of Service Connect TLS, with `-c serviceConnectTls=true` only. */
  readonly serviceConnectTls: ServiceConnectTls | undefined;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
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
    const databases = {} as Record<ServiceName, ServiceDatabase>;
    for (const name of SERVICE_NAMES) {
      databases[name] = new ServiceDatabase(this, databaseId(name), {
        vpc: this.vpc,
        databaseName: SERVICE_DATABASES[name],
        sizing: settings.sizing,
      });
    }
    this.databases = databases;
    this.identity = new Identity(this, 'Identity', { retain: settings.sizing.deletionProtection });
    this.serviceConnectTls = settings.serviceConnectTls
      ? new ServiceConnectTls(this, 'ServiceConnectTls')
      : undefined;

    new CfnOutput(this, 'ServiceConnectNamespace', {
      description: 'Cloud Map namespace of Service Connect',
      value: settings.namespace,
    });
    new CfnOutput(this, 'TokenIssuer', {
      description: "the Cognito user pool's issuer URL (AUTH_ISSUER_URL, the tokens' iss)",
      value: this.identity.issuerUrl,
    });
    new CfnOutput(this, 'TokenEndpoint', {
      description: "the user pool domain's OAuth 2.0 token endpoint",
      value: this.identity.tokenUrl,
    });
    new CfnOutput(this, 'UsersClientId', {
      description: "the users' public app client (authorization code with PKCE)",
      value: this.identity.userClient.userPoolClientId,
    });
  }
}
