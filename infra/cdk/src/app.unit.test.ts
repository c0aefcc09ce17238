import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { FLAGS } from 'aws-cdk-lib/cx-api';
import { TOPIC_PARTITIONS } from '@comms/contracts/events';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, FEATURE_FLAGS, findRepoRoot, synthTemplates } from './app.js';
import { settingsFromContext } from './config.js';
import { SERVICE_DOCKERFILE } from './service.js';

const scratch = mkdtempSync(join(tmpdir(), 'comms-cdk-app-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let runs = 0;
const outdir = () => join(scratch, `run-${++runs}`);

describe('settingsFromContext', () => {
  const read = (context: Record<string, unknown>) => settingsFromContext((key) => context[key]);

  it('defaults to the test environment and the comms.local namespace', () => {
    const settings = read({});
    expect(settings.envName).toBe('test');
    expect(settings.namespace).toBe('comms.local');
    expect(Object.values(settings.sizing.tasks).map((range) => range.min)).toEqual([1, 1, 1]);
  });

  it('refuses an unknown environment, naming the key and the choices', () => {
    expect(() => read({ env: 'staging' })).toThrow(
      "context 'env' must be one of test, prod, got 'staging'",
    );
  });

  it('shows a value that is not a string as JSON', () => {
    expect(() => read({ env: 3 })).toThrow("context 'env' must be one of test, prod, got 3");
  });

  it('refuses a namespace that is not a DNS name', () => {
    expect(() => read({ namespace: 'Comms Local' })).toThrow(
      "context 'namespace' must be a lower-case DNS name like comms.local, got 'Comms Local'",
    );
  });
});

describe('createApp', () => {
  it('sizes prod bigger, scales it as the Copilot prod environment does, and guards its databases', () => {
    const { platform, services } = createApp({
      outdir: outdir(),
      stageAssets: false,
      validate: false,
      context: { env: 'prod' },
    });
    expect(platform.stackName).toBe('comms-prod-platform');
    expect(services.stackName).toBe('comms-prod-services');
    const template = Template.fromStack(services);
    const ecsServices = template.findResources('AWS::ECS::Service');
    expect(Object.values(ecsServices)).toHaveLength(3);
    for (const service of Object.values(ecsServices)) {
      expect((service as { Properties: { DesiredCount: number } }).Properties.DesiredCount).toBe(2);
    }
    // Each service's task count range, by the logical id of its ECS service.
    interface ScalableTarget {
      Properties: { MinCapacity: number; MaxCapacity: number; ResourceId: unknown };
    }
    const targets = Object.values(
      template.findResources('AWS::ApplicationAutoScaling::ScalableTarget'),
    ) as ScalableTarget[];
    const ranges = Object.fromEntries(
      targets.map(({ Properties: { MinCapacity, MaxCapacity, ResourceId } }) => {
        const service = Object.keys(ecsServices).find((id) =>
          JSON.stringify(ResourceId).includes(`"${id}"`),
        );
        return [service ?? 'no ECS service', `${MinCapacity}-${MaxCapacity}`] as const;
      }),
    );
    const idOf = (prefix: string) => Object.keys(ecsServices).find((id) => id.startsWith(prefix));
    expect(ranges).toEqual({
      [idOf('UserService')!]: '2-6',
      [idOf('OrderService')!]: '2-6',
      [idOf('NotificationService')!]: `2-${TOPIC_PARTITIONS.orders}`,
    });
    const clusters = Object.values(
      Template.fromStack(platform).findResources('AWS::RDS::DBCluster'),
    );
    expect(clusters).toHaveLength(3);
    for (const cluster of clusters) {
      expect(cluster).toMatchObject({
        Properties: {
          DeletionProtection: true,
          ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 8 },
        },
      });
    }
  });

  it('puts Service Connect in the namespace the context names', () => {
    const { platform } = createApp({
      outdir: outdir(),
      stageAssets: false,
      validate: false,
      context: { namespace: 'comms.internal' },
    });
    const template = Template.fromStack(platform);
    template.resourceCountIs('AWS::ServiceDiscovery::HttpNamespace', 1);
    template.hasResourceProperties('AWS::ServiceDiscovery::HttpNamespace', {
      Name: 'comms.internal',
    });
    template.hasOutput('ServiceConnectNamespace', { Value: 'comms.internal' });
  });

  it('sets only feature flags that this aws-cdk-lib knows', () => {
    const unknown = Object.keys(FEATURE_FLAGS).filter((flag) => !(flag in FLAGS));
    expect(unknown).toEqual([]);
  });
});

describe('synthTemplates', () => {
  it('writes both templates without copying the repository and returns their paths, platform first', async () => {
    const dir = outdir();
    const files = await synthTemplates(dir);
    expect(files).toEqual([
      join(dir, 'comms-test-platform.template.json'),
      join(dir, 'comms-test-services.template.json'),
    ]);
    const typesIn = (file: string) =>
      Object.values(
        (JSON.parse(readFileSync(file, 'utf8')) as { Resources: Record<string, { Type: string }> })
          .Resources,
      ).map((resource) => resource.Type);
    expect(typesIn(files[0]!)).toContain('AWS::ServiceDiscovery::HttpNamespace');
    expect(typesIn(files[1]!).filter((type) => type === 'AWS::ECS::Service')).toHaveLength(3);
    // Asset staging would have put asset.<hash> directories (copies of the repository) here.
    expect(readdirSync(dir).filter((entry) => entry.startsWith('asset.'))).toEqual([]);
  });
});

describe('findRepoRoot', () => {
  it('finds the directory that holds the services and their Dockerfile', () => {
    const root = findRepoRoot(import.meta.dirname);
    expect(existsSync(join(root, SERVICE_DOCKERFILE))).toBe(true);
    for (const service of ['user-service', 'order-service', 'notification-service']) {
      expect(existsSync(join(root, 'apps', service, 'package.json'))).toBe(true);
    }
  });

  it('says so when there is none', () => {
    expect(() => findRepoRoot(tmpdir())).toThrow(/no repository root/);
  });
});
