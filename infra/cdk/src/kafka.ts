import { ArnFormat, Fn, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CfnServerlessCluster } from 'aws-cdk-lib/aws-msk';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** The port of MSK's SASL/IAM listener. */
export const MSK_IAM_PORT = 9098;

/** Properties of {@link ServerlessKafka}. */
export interface ServerlessKafkaProps {
  readonly vpc: ec2.IVpc;
  /** MSK cluster name: letters, digits and hyphens, at most 64 characters. */
  readonly clusterName: string;
  /** @default the VPC's private subnets with egress */
  readonly subnets?: ec2.SubnetSelection;
}

/**
 * Amazon MSK Serverless with IAM client authentication. Clients are let in
 * through {@link ServerlessKafka.connections} (port 9098) and
 * {@link ServerlessKafka.grantClientAccess}, and find the brokers in
 * {@link ServerlessKafka.bootstrapBrokers}.
 */
export class ServerlessKafka extends Construct implements ec2.IConnectable {
  readonly cluster: CfnServerlessCluster;
  /** The cluster's security group; `allowDefaultPortFrom` opens 9098. */
  readonly connections: ec2.Connections;
  /** `host:port,host:port` of the SASL/IAM listener, resolved at deploy time. */
  readonly bootstrapBrokers: string;
  /** `arn:...:kafka:<region>:<account>:cluster/<name>/<uuid>`. */
  readonly clusterArn: string;
  /** Every topic of this cluster, for the topic actions. */
  readonly topicsArn: string;
  /** Every consumer group of this cluster, for the group actions. */
  readonly groupsArn: string;

  constructor(scope: Construct, id: string, props: ServerlessKafkaProps) {
    super(scope, id);

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'MSK Serverless: SASL/IAM clients on 9098 from the services only',
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({
      securityGroups: [securityGroup],
      defaultPort: ec2.Port.tcp(MSK_IAM_PORT),
    });

    const subnets = props.vpc.selectSubnets(
      props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    );
    this.cluster = new CfnServerlessCluster(this, 'Cluster', {
      clusterName: props.clusterName,
      clientAuthentication: { sasl: { iam: { enabled: true } } },
      vpcConfigs: [
        { subnetIds: subnets.subnetIds, securityGroups: [securityGroup.securityGroupId] },
      ],
    });
    this.clusterArn = this.cluster.attrArn;

    // Topic and group ARNs carry the cluster's name and UUID, which exist only
    // in its ARN (arn:...:cluster/<name>/<uuid>): the part after ':cluster/'
    // is '<name>/<uuid>', and topic/<name>/<uuid>/* then covers exactly this
    // cluster's topics, not those of another cluster that shares the name.
    const nameAndUuid = Fn.select(1, Fn.split(':cluster/', this.clusterArn));
    const stack = Stack.of(this);
    const within = (resource: 'topic' | 'group'): string =>
      stack.formatArn({
        service: 'kafka',
        resource,
        resourceName: `${nameAndUuid}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
    this.topicsArn = within('topic');
    this.groupsArn = within('group');

    // MSK does not return bootstrap brokers as a CloudFormation attribute; ask
    // the Kafka API once the cluster exists (and again whenever it is replaced).
    const brokers = new AwsCustomResource(this, 'BootstrapBrokers', {
      onUpdate: {
        service: 'Kafka',
        action: 'getBootstrapBrokers',
        parameters: { ClusterArn: this.clusterArn },
        physicalResourceId: PhysicalResourceId.of(this.clusterArn),
        outputPaths: ['BootstrapBrokerStringSaslIam'],
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: [this.clusterArn] }),
      installLatestAwsSdk: false,
    });
    this.bootstrapBrokers = brokers.getResponseField('BootstrapBrokerStringSaslIam');
  }

  /**
   * Lets a principal connect with IAM auth and produce and consume on any of
   * this cluster's topics and groups. Producers are idempotent, which needs
   * `WriteDataIdempotently` on the cluster besides the topic actions.
   */
  grantClientAccess(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'kafka-cluster:Connect',
        'kafka-cluster:DescribeCluster',
        'kafka-cluster:WriteDataIdempotently',
      ],
      resourceArns: [this.clusterArn],
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'kafka-cluster:CreateTopic',
        'kafka-cluster:DescribeTopic',
        'kafka-cluster:DescribeTopicDynamicConfiguration',
        'kafka-cluster:ReadData',
        'kafka-cluster:WriteData',
      ],
      resourceArns: [this.topicsArn],
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
      resourceArns: [this.groupsArn],
    });
  }
}
