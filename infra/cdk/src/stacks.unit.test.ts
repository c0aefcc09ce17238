import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { TOPIC_PARTITIONS } from '@comms/contracts/events';
import { SERVICE_NAMES, SERVICES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, findRepoRoot } from './app.js';
import { SCALING_TARGETS, SIZING } from './config.js';
import { DEFAULT_SERVICE_CONNECT_TIMEOUTS, SERVICE_DOCKERFILE } from './service.js';

// One synthesis for the whole file: offline, no asset staging (the Docker
// context is the repository; nothing is copied), into a temporary directory.
const outdir = mkdtempSync(join(tmpdir(), 'comms-cdk-stack-'));
const removeOutdir = () => rmSync(outdir, { recursive: true, force: true });
afterAll(removeOutdir);
const { app, platform, services, assembly, platformTemplate, servicesTemplate } = (() => {
  try {
    const built = createApp({ outdir, stageAssets: false });
    return {
      ...built,
      assembly: built.app.synth(),
      platformTemplate: Template.fromStack(built.platform),
      servicesTemplate: Template.fromStack(built.services),
    };
  } catch (error) {
    removeOutdir(); // a failed synthesis fails the file before afterAll could run
    throw error;
  }
})();

interface TemplateJson {
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<
    string,
    { readonly Value: unknown; readonly Export?: { Name: string } }
  >;
}
const platformJson = platformTemplate.toJSON() as TemplateJson;
const servicesJson = servicesTemplate.toJSON() as TemplateJson;

/** What the platform stack exports, by export name. */
const platformExports = new Map(
  Object.values(platformJson.Outputs ?? {}).flatMap((output) =>
    output.Export === undefined ? [] : [[output.Export.Name, output.Value] as const],
  ),
);
const importsSeen = new Set<string>();

/** `value` with every Fn::ImportValue replaced by what the platform stack exports under that name. */
function resolveImports(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolveImports);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length === 1 && first![0] === 'Fn::ImportValue') {
    const name = first![1] as string;
    if (!platformExports.has(name)) throw new Error(`nothing exports ${name}`);
    importsSeen.add(name);
    return platformExports.get(name);
  }
  return Object.fromEntries(entries.map(([key, inner]) => [key, resolveImports(inner)]));
}

// The two stacks as one: the services stack's imports resolved to the
// platform's resources, so that a rule or a secret can be followed to what
// it names whichever stack holds it. Which stack holds what is checked below.
const clashes = Object.keys(servicesJson.Resources).filter((id) => id in platformJson.Resources);
if (clashes.length > 0) throw new Error(`logical ids in both stacks: ${clashes.join(', ')}`);
const resources: Record<string, Resource> = {
  ...platformJson.Resources,
  ...(resolveImports(servicesJson.Resources) as Record<string, Resource>),
};

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DependsOn?: string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}
interface Ref {
  readonly Ref: string;
}
interface GetAtt {
  readonly 'Fn::GetAtt': [string, string];
}
interface ServiceConnectEntry {
  readonly PortName: string;
  readonly DiscoveryName: string;
  readonly ClientAliases: { readonly DnsName: string; readonly Port: number }[];
  readonly Timeout?: {
    readonly IdleTimeoutSeconds?: number;
    readonly PerRequestTimeoutSeconds?: number;
  };
}
interface EcsServiceProperties {
  readonly TaskDefinition: Ref;
  readonly ServiceConnectConfiguration?: {
    readonly Enabled: boolean;
    readonly Namespace: GetAtt;
    readonly Services?: ServiceConnectEntry[];
  };
  readonly NetworkConfiguration: {
    readonly AwsvpcConfiguration: {
      readonly AssignPublicIp?: string;
      readonly SecurityGroups: GetAtt[];
      readonly Subnets: Ref[];
    };
  };
  readonly LoadBalancers?: {
    readonly ContainerName: string;
    readonly ContainerPort: number;
    readonly TargetGroupArn: Ref;
  }[];
}
interface ContainerDefinition {
  readonly Name: string;
  readonly Image: { readonly 'Fn::Sub': string };
  readonly Environment: { readonly Name: string; readonly Value: unknown }[];
  readonly Secrets?: { readonly Name: string; readonly ValueFrom: unknown }[];
  readonly PortMappings: {
    readonly Name?: string;
    readonly ContainerPort: number;
    readonly AppProtocol?: string;
  }[];
  readonly HealthCheck?: { readonly Command: string[] };
}

/** Every resource of a type, by logical id. */
function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

function resource(id: string, type: string): Resource {
  const found = resources[id];
  if (found === undefined) throw new Error(`no resource ${id}`);
  expect(found.Type, `${id} is a ${type}`).toBe(type);
  return found;
}

/** The ECS service, its container and task role for one of the three services. */
function serviceOf(name: ServiceName) {
  const matches = ofType('AWS::ECS::Service').flatMap(([id, service]) => {
    const properties = service.Properties as unknown as EcsServiceProperties;
    const taskDefinition = resource(properties.TaskDefinition.Ref, 'AWS::ECS::TaskDefinition');
    const containers = taskDefinition.Properties['ContainerDefinitions'] as ContainerDefinition[];
    const container = containers.find((candidate) => candidate.Name === name);
    if (container === undefined) return [];
    expect(containers, `${name} runs one container`).toHaveLength(1);
    const taskRole = (taskDefinition.Properties['TaskRoleArn'] as GetAtt)['Fn::GetAtt'][0];
    return [{ id, resource: service, properties, container, taskRole }];
  });
  expect(matches, `exactly one ECS service runs ${name}`).toHaveLength(1);
  return matches[0]!;
}

function env(container: ContainerDefinition): Map<string, unknown> {
  return new Map(container.Environment.map((variable) => [variable.Name, variable.Value]));
}

function securityGroupOf(properties: EcsServiceProperties): string {
  const groups = properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups;
  expect(groups).toHaveLength(1);
  return groups[0]!['Fn::GetAtt'][0];
}

/** Ingress rules (standalone resources and inline ones) of a security group. */
function ingressOf(groupId: string): { from: unknown; to: unknown; source: unknown }[] {
  const inline = (resource(groupId, 'AWS::EC2::SecurityGroup').Properties['SecurityGroupIngress'] ??
    []) as Record<string, unknown>[];
  const standalone = ofType('AWS::EC2::SecurityGroupIngress')
    .map(([, rule]) => rule.Properties)
    .filter((rule) => (rule['GroupId'] as GetAtt)['Fn::GetAtt'][0] === groupId);
  return [...inline, ...standalone].map((rule) => ({
    from: rule['FromPort'],
    to: rule['ToPort'],
    source: rule['SourceSecurityGroupId'] ?? rule['CidrIp'],
  }));
}

const privateSubnets = ofType('AWS::EC2::Subnet')
  .filter(([, subnet]) => subnet.Properties['MapPublicIpOnLaunch'] === false)
  .map(([id]) => id)
  .sort();

const DATABASES: Record<ServiceName, string> = {
  'user-service': 'users',
  'order-service': 'orders',
  'notification-service': 'notifications',
};

/** Resource types of a template, each with how many there are. */
function typesOf(template: TemplateJson): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { Type } of Object.values(template.Resources))
    counts.set(Type, (counts.get(Type) ?? 0) + 1);
  return counts;
}

/** Every Fn::ImportValue name anywhere in `value`. */
function importNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(importNames);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === 'Fn::ImportValue' ? [inner as string] : importNames(inner),
  );
}

describe('stacks', () => {
  it('are two, comms-test-platform and comms-test-services, the services deployed after the platform', () => {
    expect(assembly.stacks.map((stack) => stack.stackName).sort()).toEqual([
      'comms-test-platform',
      'comms-test-services',
    ]);
    expect(platform.stackName).toBe('comms-test-platform');
    expect(services.stackName).toBe('comms-test-services');
    const stackIds = (ids: { id: string }[]) =>
      ids.map((dependency) => dependency.id).filter((id) => !id.endsWith('.assets'));
    const artifact = (name: string) => assembly.getStackByName(name);
    expect(stackIds(artifact('comms-test-services').dependencies)).toEqual([platform.artifactId]);
    expect(stackIds(artifact('comms-test-platform').dependencies)).toEqual([]);
  });

  it('keep the namespace, cluster, network, databases and Kafka in the platform stack only', () => {
    const platformTypes = typesOf(platformJson);
    const servicesTypes = typesOf(servicesJson);
    const expected: Record<string, number> = {
      'AWS::ServiceDiscovery::HttpNamespace': 1,
      'AWS::ECS::Cluster': 1,
      'AWS::EC2::VPC': 1,
      'AWS::EC2::Subnet': 4,
      'AWS::RDS::DBCluster': 3,
      'AWS::RDS::DBInstance': 3,
      // Three databases' and three Cognito app clients' secrets (identity.unit.test.ts).
      'AWS::SecretsManager::Secret': 6,
      'AWS::MSK::ServerlessCluster': 1,
      'AWS::Cognito::UserPool': 1,
    };
    for (const [type, count] of Object.entries(expected)) {
      expect(platformTypes.get(type), `${type} in the platform stack`).toBe(count);
      expect(servicesTypes.get(type), `${type} in the services stack`).toBeUndefined();
    }
  });

  it('keep the services, their scaling, the load balancer and every ingress rule in the services stack only', () => {
    const platformTypes = typesOf(platformJson);
    const servicesTypes = typesOf(servicesJson);
    const expected: Record<string, number> = {
      'AWS::ECS::Service': 3,
      'AWS::ECS::TaskDefinition': 3,
      'AWS::ApplicationAutoScaling::ScalableTarget': 3,
      'AWS::ApplicationAutoScaling::ScalingPolicy': 4,
      'AWS::ElasticLoadBalancingV2::LoadBalancer': 1,
    };
    for (const [type, count] of Object.entries(expected)) {
      expect(servicesTypes.get(type), `${type} in the services stack`).toBe(count);
      expect(platformTypes.get(type), `${type} in the platform stack`).toBeUndefined();
    }
    // A rule in the platform stack naming a service's group would make the
    // platform import from the services: a cycle between the two stacks.
    expect(platformTypes.get('AWS::EC2::SecurityGroupIngress')).toBeUndefined();
    expect(platformTypes.get('AWS::EC2::SecurityGroupEgress')).toBeUndefined();
  });

  it('refer one way: the services stack imports exactly what the platform exports, and nothing the other way', () => {
    expect(importNames(platformJson)).toEqual([]);
    const imported = new Set(importNames(servicesJson));
    expect([...imported].sort()).toEqual([...platformExports.keys()].sort());
    // What is exported: the network, the cluster and its namespace, for
    // each database and Kafka what a client needs (its security group to
    // open, its secret or address, its ARN to be granted), and Cognito's.
    const exported = [...platformExports.values()].map((value) => {
      const ref = value as Partial<Ref & GetAtt>;
      const [id, attribute] = ref.Ref === undefined ? ref['Fn::GetAtt']! : [ref.Ref, 'Ref'];
      return `${resource(id, resources[id]!.Type).Type} ${attribute}`;
    });
    const count = (entry: string) => exported.filter((candidate) => candidate === entry).length;
    expect(new Set(exported)).toEqual(
      new Set([
        'AWS::EC2::VPC Ref',
        'AWS::EC2::Subnet Ref',
        'AWS::ECS::Cluster Ref',
        'AWS::ServiceDiscovery::HttpNamespace Arn',
        'AWS::EC2::SecurityGroup GroupId',
        'AWS::SecretsManager::SecretTargetAttachment Ref',
        'AWS::MSK::ServerlessCluster Arn',
        'Custom::AWS BootstrapBrokerStringSaslIam',
        // Cognito (identity.unit.test.ts): the issuer, the token endpoint's domain, the
        // services' and the console's app client ids, the two callers' client secrets.
        'AWS::Cognito::UserPool ProviderURL',
        'AWS::Cognito::UserPoolDomain Ref',
        'AWS::Cognito::UserPoolClient Ref',
        'AWS::SecretsManager::Secret Ref',
      ]),
    );
    expect(count('AWS::Cognito::UserPoolClient Ref')).toBe(3);
    expect(count('AWS::SecretsManager::Secret Ref')).toBe(2);
    expect(count('AWS::SecretsManager::SecretTargetAttachment Ref')).toBe(3);
    expect(count('AWS::EC2::SecurityGroup GroupId')).toBe(4); // three databases and Kafka
  });
});

describe('network', () => {
  it('is a VPC over two AZs with one NAT gateway and private subnets for the tasks', () => {
    platformTemplate.resourceCountIs('AWS::EC2::VPC', 1);
    platformTemplate.resourceCountIs('AWS::EC2::NatGateway', 1);
    platformTemplate.resourceCountIs('AWS::EC2::Subnet', 4);
    expect(privateSubnets).toHaveLength(2);
  });

  it('has an ECS cluster whose Service Connect namespace is the HTTP namespace comms.local', () => {
    const namespaces = ofType('AWS::ServiceDiscovery::HttpNamespace');
    expect(namespaces).toHaveLength(1);
    const [namespaceId, namespace] = namespaces[0]!;
    expect(namespace.Properties['Name']).toBe('comms.local');
    platformTemplate.hasResourceProperties('AWS::ECS::Cluster', {
      ServiceConnectDefaults: { Namespace: { 'Fn::GetAtt': [namespaceId, 'Arn'] } },
    });
    for (const name of SERVICE_NAMES) {
      const { properties } = serviceOf(name);
      expect(properties.ServiceConnectConfiguration?.Namespace).toEqual({
        'Fn::GetAtt': [namespaceId, 'Arn'],
      });
    }
  });
});

describe('Service Connect', () => {
  it.each(SERVICE_NAMES)('%s registers every port of SERVICES under its names', (name) => {
    const ports = SERVICES[name];
    const { properties, container } = serviceOf(name);
    const timeouts = (perRequest: number, idle: number) => ({
      PerRequestTimeoutSeconds: perRequest,
      IdleTimeoutSeconds: idle,
    });
    const standard = timeouts(
      DEFAULT_SERVICE_CONNECT_TIMEOUTS.perRequest.toSeconds(),
      DEFAULT_SERVICE_CONNECT_TIMEOUTS.idle.toSeconds(),
    );
    const expected: ServiceConnectEntry[] = [
      {
        PortName: 'http',
        DiscoveryName: ports.serviceConnect.http,
        ClientAliases: [{ DnsName: ports.serviceConnect.http, Port: ports.http }],
        // SSE streams are long requests: notification-service allows them an hour.
        Timeout: name === 'notification-service' ? timeouts(3600, 300) : standard,
      },
    ];
    if (ports.grpc !== undefined) {
      expected.push({
        PortName: 'grpc',
        DiscoveryName: ports.serviceConnect.grpc,
        ClientAliases: [{ DnsName: ports.serviceConnect.grpc, Port: ports.grpc }],
        Timeout: standard,
      });
    }
    expect(properties.ServiceConnectConfiguration?.Enabled).toBe(true);
    expect(properties.ServiceConnectConfiguration?.Services).toEqual(expected);

    const mappings = new Map(container.PortMappings.map((mapping) => [mapping.Name, mapping]));
    expect(mappings.get('http')).toMatchObject({ ContainerPort: ports.http, AppProtocol: 'http' });
    if (ports.grpc === undefined) {
      expect(container.PortMappings).toHaveLength(1);
    } else {
      expect(mappings.get('grpc')).toMatchObject({
        ContainerPort: ports.grpc,
        AppProtocol: 'grpc',
      });
    }
  });

  it('registers both user-service ports, gRPC as user-service-grpc:50051 with appProtocol grpc', () => {
    const { properties, container } = serviceOf('user-service');
    const aliases = properties.ServiceConnectConfiguration?.Services?.map((entry) => [
      entry.PortName,
      entry.DiscoveryName,
      entry.ClientAliases[0]?.DnsName,
      entry.ClientAliases[0]?.Port,
    ]);
    expect(aliases).toEqual([
      ['http', 'user-service', 'user-service', 8081],
      ['grpc', 'user-service-grpc', 'user-service-grpc', 50051],
    ]);
    expect(container.PortMappings).toEqual([
      { Name: 'http', ContainerPort: 8081, AppProtocol: 'http', Protocol: 'tcp' },
      { Name: 'grpc', ContainerPort: 50051, AppProtocol: 'grpc', Protocol: 'tcp' },
    ]);
  });

  it('gives every Service Connect endpoint a per-request and an idle timeout', () => {
    const entries = SERVICE_NAMES.flatMap(
      (name) => serviceOf(name).properties.ServiceConnectConfiguration?.Services ?? [],
    );
    expect(entries).toHaveLength(5);
    for (const entry of entries) {
      expect(entry.Timeout?.PerRequestTimeoutSeconds, entry.DiscoveryName).toBeGreaterThan(0);
      expect(entry.Timeout?.IdleTimeoutSeconds, entry.DiscoveryName).toBeGreaterThan(0);
    }
  });

  it('deploys the servers first: order- and notification-service depend on user-service', () => {
    const user = serviceOf('user-service');
    const order = serviceOf('order-service');
    const notification = serviceOf('notification-service');
    expect(order.resource.DependsOn).toContain(user.id);
    expect(notification.resource.DependsOn).toContain(user.id);
    expect(user.resource.DependsOn ?? []).not.toContain(order.id);
    expect(user.resource.DependsOn ?? []).not.toContain(notification.id);
  });
});

describe('auto scaling', () => {
  /** The scalable target of one service's task count, and its policies. */
  function scalingOf(name: ServiceName) {
    const { id } = serviceOf(name);
    const targets = ofType('AWS::ApplicationAutoScaling::ScalableTarget').filter(([, target]) =>
      JSON.stringify(target.Properties['ResourceId']).includes(
        JSON.stringify({ 'Fn::GetAtt': [id, 'Name'] }),
      ),
    );
    expect(targets, `${name} has one scalable target`).toHaveLength(1);
    const [targetId, target] = targets[0]!;
    const policies = ofType('AWS::ApplicationAutoScaling::ScalingPolicy')
      .filter(([, policy]) => (policy.Properties['ScalingTargetId'] as Ref).Ref === targetId)
      .map(([, policy]) => {
        expect(policy.Properties['PolicyType']).toBe('TargetTrackingScaling');
        return policy.Properties['TargetTrackingScalingPolicyConfiguration'] as {
          PredefinedMetricSpecification: { PredefinedMetricType: string; ResourceLabel?: unknown };
          TargetValue: number;
          ScaleInCooldown: number;
          ScaleOutCooldown: number;
        };
      });
    return { target: target.Properties, policies };
  }
  const cooldowns = {
    ScaleInCooldown: SCALING_TARGETS.scaleInCooldown.toSeconds(),
    ScaleOutCooldown: SCALING_TARGETS.scaleOutCooldown.toSeconds(),
  };

  it.each(SERVICE_NAMES)(
    '%s scales its task count between the bounds of its environment',
    (name) => {
      const { target } = scalingOf(name);
      const { min, max } = SIZING.test.tasks[name];
      expect(target).toMatchObject({
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        MinCapacity: min,
        MaxCapacity: max,
      });
      // A new service starts at the floor; scaling takes it from there.
      expect(serviceOf(name).properties).toMatchObject({ DesiredCount: min });
    },
  );

  it.each(SERVICE_NAMES)('%s tracks its average CPU', (name) => {
    const cpu = scalingOf(name).policies.filter(
      (policy) =>
        policy.PredefinedMetricSpecification.PredefinedMetricType ===
        'ECSServiceAverageCPUUtilization',
    );
    expect(cpu).toEqual([
      {
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: SCALING_TARGETS.cpuPercent,
        ...cooldowns,
      },
    ]);
  });

  it('scales order-service, the public one, on requests per target of its own target group too', () => {
    const { policies } = scalingOf('order-service');
    expect(policies).toHaveLength(2);
    const requests = policies.find(
      (policy) =>
        policy.PredefinedMetricSpecification.PredefinedMetricType === 'ALBRequestCountPerTarget',
    );
    expect(requests).toMatchObject({
      TargetValue: SCALING_TARGETS.orderRequestsPerTarget,
      ...cooldowns,
    });
    const [target] = serviceOf('order-service').properties.LoadBalancers!;
    // The label is <load balancer full name>/<target group full name>.
    expect(JSON.stringify(requests!.PredefinedMetricSpecification.ResourceLabel)).toContain(
      JSON.stringify({ 'Fn::GetAtt': [target!.TargetGroupArn.Ref, 'TargetGroupFullName'] }),
    );
  });

  it('scales the private services on CPU only', () => {
    for (const name of ['user-service', 'notification-service'] as const) {
      expect(scalingOf(name).policies, name).toHaveLength(1);
    }
  });

  it('never runs more notification-service tasks than the orders topic has partitions', () => {
    expect(scalingOf('notification-service').target['MaxCapacity']).toBe(TOPIC_PARTITIONS.orders);
  });
});

describe('containers', () => {
  it.each(SERVICE_NAMES)('%s gets its environment and a node health check', (name) => {
    const { container } = serviceOf(name);
    const variables = env(container);
    expect(variables.get('HOST')).toBe('0.0.0.0');
    expect(variables.get('PORT')).toBe(String(SERVICES[name].http));
    expect(variables.get('ENDPOINTS_MODE')).toBe('service-connect');
    expect(variables.get('LOG_LEVEL')).toBe('info');
    const grpc = SERVICES[name].grpc;
    expect(variables.get('GRPC_PORT')).toBe(grpc === undefined ? undefined : String(grpc));
    expect(variables.get('USER_VALIDATION')).toBe(name === 'order-service' ? 'grpc' : undefined);
    expect(container.HealthCheck?.Command).toEqual([
      'CMD',
      'node',
      '-e',
      `fetch('http://127.0.0.1:${SERVICES[name].http}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
    ]);
  });

  it('builds each image from the one service Dockerfile, the service as its build argument', () => {
    const assets = JSON.parse(
      readFileSync(join(outdir, `${services.artifactId}.assets.json`), 'utf8'),
    ) as {
      dockerImages: Record<
        string,
        { source: { directory: string; dockerFile: string; dockerBuildArgs?: unknown } }
      >;
    };
    const repoRoot = findRepoRoot(import.meta.dirname);
    for (const name of SERVICE_NAMES) {
      const { container } = serviceOf(name);
      const tag = /:([0-9a-f]{64})$/.exec(container.Image['Fn::Sub'])?.[1];
      expect(tag, `${name} image tag`).toBeDefined();
      expect(assets.dockerImages[tag!]?.source).toEqual({
        directory: repoRoot,
        dockerFile: SERVICE_DOCKERFILE,
        dockerBuildArgs: { SERVICE: name },
        platform: 'linux/amd64',
      });
    }
  });
});

describe('exposure', () => {
  it('has one load balancer, internet-facing, for order-service only', () => {
    servicesTemplate.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    servicesTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
    });
    const attached = SERVICE_NAMES.filter(
      (name) => (serviceOf(name).properties.LoadBalancers ?? []).length > 0,
    );
    expect(attached).toEqual(['order-service']);
  });

  it('forwards port 80 to order-service on its HTTP port, health-checked on /healthz', () => {
    const { properties } = serviceOf('order-service');
    expect(properties.LoadBalancers).toHaveLength(1);
    const [target] = properties.LoadBalancers!;
    expect(target).toMatchObject({
      ContainerName: 'order-service',
      ContainerPort: SERVICES['order-service'].http,
    });
    const group = resource(target!.TargetGroupArn.Ref, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    expect(group.Properties).toMatchObject({
      Port: SERVICES['order-service'].http,
      Protocol: 'HTTP',
      TargetType: 'ip',
      HealthCheckPath: '/healthz',
    });
    servicesTemplate.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    servicesTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: target!.TargetGroupArn.Ref } }],
    });
  });

  it('outputs the load balancer DNS name', () => {
    const [balancerId] = ofType('AWS::ElasticLoadBalancingV2::LoadBalancer')[0]!;
    servicesTemplate.hasOutput('LoadBalancerDnsName', {
      Value: { 'Fn::GetAtt': [balancerId, 'DNSName'] },
    });
  });

  it('lets in only the calls of the architecture: to user-service from its two clients, to order-service from the load balancer', () => {
    const groupOf = (name: ServiceName) => securityGroupOf(serviceOf(name).properties);
    const from = (groupId: string) => ({ 'Fn::GetAtt': [groupId, 'GroupId'] });
    const user = SERVICES['user-service'];
    const byPort = (a: { from: unknown }, b: { from: unknown }) => Number(a.from) - Number(b.from);
    expect(ingressOf(groupOf('user-service')).sort(byPort)).toEqual(
      [
        { from: user.http, to: user.http, source: from(groupOf('order-service')) },
        { from: user.grpc, to: user.grpc, source: from(groupOf('order-service')) },
        { from: user.http, to: user.http, source: from(groupOf('notification-service')) },
      ].sort(byPort),
    );
    const [balancer] = ofType('AWS::ElasticLoadBalancingV2::LoadBalancer')[0]!;
    const balancerGroups = resource(balancer, 'AWS::ElasticLoadBalancingV2::LoadBalancer')
      .Properties['SecurityGroups'] as GetAtt[];
    const order = SERVICES['order-service'].http;
    expect(ingressOf(groupOf('order-service'))).toEqual([
      { from: order, to: order, source: from(balancerGroups[0]!['Fn::GetAtt'][0]) },
    ]);
    expect(ingressOf(groupOf('notification-service'))).toEqual([]);
  });

  it.each(SERVICE_NAMES)('%s runs in the private subnets without a public IP', (name) => {
    const network = serviceOf(name).properties.NetworkConfiguration.AwsvpcConfiguration;
    expect(network.AssignPublicIp).toBe('DISABLED');
    expect(network.Subnets.map((subnet) => subnet.Ref).sort()).toEqual(privateSubnets);
  });

  it.each(SERVICE_NAMES)('%s can be reached with ECS Exec, as docs/deploy.md shows', (name) => {
    expect(serviceOf(name).properties).toMatchObject({ EnableExecuteCommand: true });
  });
});

describe('databases', () => {
  it('has one Aurora Serverless v2 PostgreSQL 17 cluster per service', () => {
    platformTemplate.resourceCountIs('AWS::RDS::DBCluster', 3);
    platformTemplate.resourceCountIs('AWS::RDS::DBInstance', 3);
    for (const [, cluster] of ofType('AWS::RDS::DBCluster')) {
      expect(cluster.Properties['Engine']).toBe('aurora-postgresql');
      expect(cluster.Properties['EngineVersion']).toMatch(/^17\.\d+$/);
      expect(cluster.Properties['ServerlessV2ScalingConfiguration']).toEqual({
        MinCapacity: 0,
        MaxCapacity: 2,
      });
      expect(cluster.DeletionPolicy).toBe('Snapshot');
      expect(cluster.UpdateReplacePolicy).toBe('Snapshot');
    }
    for (const [, instance] of ofType('AWS::RDS::DBInstance')) {
      expect(instance.Properties['DBInstanceClass']).toBe('db.serverless');
      expect(instance.Properties['PubliclyAccessible']).toBe(false);
    }
    for (const [, group] of ofType('AWS::RDS::DBSubnetGroup')) {
      const subnets = group.Properties['SubnetIds'] as Ref[];
      expect(subnets.map((subnet) => subnet.Ref).sort()).toEqual(privateSubnets);
    }
  });

  it.each(SERVICE_NAMES)(
    '%s reads DATABASE_SECRET from its own cluster, and the secret carries dbname',
    (name) => {
      const { container } = serviceOf(name);
      const secrets = container.Secrets ?? [];
      // Beside it only a caller's Cognito client secret (identity.unit.test.ts).
      expect(secrets.map((secret) => secret.Name).sort()).toEqual(
        name === 'user-service'
          ? ['DATABASE_SECRET']
          : ['DATABASE_SECRET', 'SERVICE_CLIENT_SECRET'],
      );
      const database = secrets.find((secret) => secret.Name === 'DATABASE_SECRET');
      const attachmentId = (database!.ValueFrom as Ref).Ref;
      const attachment = resource(attachmentId, 'AWS::SecretsManager::SecretTargetAttachment');
      expect(attachment.Properties['TargetType']).toBe('AWS::RDS::DBCluster');

      const clusterId = (attachment.Properties['TargetId'] as Ref).Ref;
      const cluster = resource(clusterId, 'AWS::RDS::DBCluster');
      expect(cluster.Properties['DatabaseName']).toBe(DATABASES[name]);
      const writers = ofType('AWS::RDS::DBInstance').filter(
        ([, instance]) => (instance.Properties['DBClusterIdentifier'] as Ref).Ref === clusterId,
      );
      expect(writers).toHaveLength(1);

      const secretId = (attachment.Properties['SecretId'] as Ref).Ref;
      const secret = resource(secretId, 'AWS::SecretsManager::Secret');
      const generate = secret.Properties['GenerateSecretString'] as {
        SecretStringTemplate: string;
        GenerateStringKey: string;
      };
      expect(generate.GenerateStringKey).toBe('password');
      expect(JSON.parse(generate.SecretStringTemplate)).toMatchObject({
        username: `${DATABASES[name]}_owner`,
        dbname: DATABASES[name],
      });
      // The cluster's master credentials are this very secret.
      expect(JSON.stringify(cluster.Properties['MasterUsername'])).toContain(secretId);
      expect(JSON.stringify(cluster.Properties['MasterUserPassword'])).toContain(secretId);
    },
  );

  it.each(SERVICE_NAMES)('the %s database accepts 5432 from that service only', (name) => {
    const { container, properties } = serviceOf(name);
    const attachmentId = ((container.Secrets ?? [])[0]?.ValueFrom as Ref).Ref;
    const clusterId = (
      resource(attachmentId, 'AWS::SecretsManager::SecretTargetAttachment').Properties[
        'TargetId'
      ] as Ref
    ).Ref;
    const groups = resource(clusterId, 'AWS::RDS::DBCluster').Properties[
      'VpcSecurityGroupIds'
    ] as GetAtt[];
    expect(groups).toHaveLength(1);
    expect(ingressOf(groups[0]!['Fn::GetAtt'][0])).toEqual([
      {
        from: 5432,
        to: 5432,
        source: { 'Fn::GetAtt': [securityGroupOf(properties), 'GroupId'] },
      },
    ]);
  });
});

describe('Kafka', () => {
  const clusters = ofType('AWS::MSK::ServerlessCluster');

  it('is MSK Serverless with IAM client authentication in the private subnets', () => {
    expect(clusters).toHaveLength(1);
    const [, cluster] = clusters[0]!;
    expect(cluster.Properties['ClientAuthentication']).toEqual({
      Sasl: { Iam: { Enabled: true } },
    });
    const [vpcConfig] = cluster.Properties['VpcConfigs'] as {
      SubnetIds: Ref[];
      SecurityGroups: GetAtt[];
    }[];
    expect(vpcConfig!.SubnetIds.map((subnet) => subnet.Ref).sort()).toEqual(privateSubnets);
    const kafkaGroup = vpcConfig!.SecurityGroups[0]!['Fn::GetAtt'][0];
    const sources = SERVICE_NAMES.map((name) => ({
      from: 9098,
      to: 9098,
      source: { 'Fn::GetAtt': [securityGroupOf(serviceOf(name).properties), 'GroupId'] },
    }));
    expect(ingressOf(kafkaGroup)).toEqual(expect.arrayContaining(sources));
    expect(ingressOf(kafkaGroup)).toHaveLength(3);
  });

  it.each(SERVICE_NAMES)(
    '%s gets KAFKA_BROKERS from the custom resource that asks for the IAM brokers',
    (name) => {
      const [clusterId] = clusters[0]!;
      const variables = env(serviceOf(name).container);
      expect(variables.get('KAFKA_SASL_MECHANISM')).toBe('aws-msk-iam');
      const brokers = variables.get('KAFKA_BROKERS') as GetAtt;
      expect(brokers['Fn::GetAtt'][1]).toBe('BootstrapBrokerStringSaslIam');
      const call = resource(brokers['Fn::GetAtt'][0], 'Custom::AWS').Properties['Create'];
      const text = JSON.stringify(call);
      expect(text).toContain('\\"service\\":\\"Kafka\\",\\"action\\":\\"getBootstrapBrokers\\"');
      expect(text).toContain(JSON.stringify({ 'Fn::GetAtt': [clusterId, 'Arn'] }));
    },
  );

  it('lets the custom resource call GetBootstrapBrokers on this cluster only', () => {
    const [clusterId] = clusters[0]!;
    platformTemplate.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'kafka:GetBootstrapBrokers',
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [clusterId, 'Arn'] },
          },
        ],
      },
    });
  });

  it.each(SERVICE_NAMES)(
    '%s task role may connect and use the topics and groups of this cluster',
    (name) => {
      const [clusterId] = clusters[0]!;
      const { taskRole } = serviceOf(name);
      const policies = ofType('AWS::IAM::Policy').filter(([, policy]) =>
        (policy.Properties['Roles'] as Ref[]).some((role) => role.Ref === taskRole),
      );
      expect(policies).toHaveLength(1);
      const statements = (
        policies[0]![1].Properties['PolicyDocument'] as {
          Statement: { Action: string[]; Resource: unknown }[];
        }
      ).Statement.filter((statement) =>
        // ECS Exec adds its own ssmmessages statement; only Kafka's are checked here.
        [statement.Action].flat().some((action) => action.startsWith('kafka-cluster:')),
      );
      const clusterArn = { 'Fn::GetAtt': [clusterId, 'Arn'] };
      // arn:<partition>:kafka:<region>:<account>:<kind>/<name>/<uuid>/*, the
      // name and uuid cut out of the cluster's own ARN.
      const within = (kind: string) => ({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':kafka:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:${kind}/`,
            { 'Fn::Select': [1, { 'Fn::Split': [':cluster/', clusterArn] }] },
            '/*',
          ],
        ],
      });
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: [
            'kafka-cluster:Connect',
            'kafka-cluster:DescribeCluster',
            'kafka-cluster:WriteDataIdempotently',
          ],
          Resource: clusterArn,
        },
        {
          Effect: 'Allow',
          Action: [
            'kafka-cluster:CreateTopic',
            'kafka-cluster:DescribeTopic',
            'kafka-cluster:DescribeTopicDynamicConfiguration',
            'kafka-cluster:ReadData',
            'kafka-cluster:WriteData',
          ],
          Resource: within('topic'),
        },
        {
          Effect: 'Allow',
          Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
          Resource: within('group'),
        },
      ]);
    },
  );
});

describe('synthesis', () => {
  it('finds nothing to report in the CloudFormation validation of the template', () => {
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations)).toEqual([]);
  });
});
