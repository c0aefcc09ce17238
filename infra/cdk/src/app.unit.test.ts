import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { FLAGS } from 'aws-cdk-lib/cx-api';
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
    expect(settings.sizing.desiredCount).toBe(1);
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
  it('sizes prod bigger and guards its databases', () => {
    const { stack } = createApp({
      outdir: outdir(),
      stageAssets: false,
      validate: false,
      context: { env: 'prod' },
    });
    expect(stack.stackName).toBe('comms-prod');
    const template = Template.fromStack(stack);
    const services = Object.values(template.findResources('AWS::ECS::Service'));
    expect(services).toHaveLength(3);
    for (const service of services) {
      expect((service as { Properties: { DesiredCount: number } }).Properties.DesiredCount).toBe(2);
    }
    const clusters = Object.values(template.findResources('AWS::RDS::DBCluster'));
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
    const { stack } = createApp({
      outdir: outdir(),
      stageAssets: false,
      validate: false,
      context: { namespace: 'comms.internal' },
    });
    const template = Template.fromStack(stack);
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
  it('writes the template without copying the repository and returns its path', async () => {
    const dir = outdir();
    const files = await synthTemplates(dir);
    expect(files).toEqual([join(dir, 'CommsStack.template.json')]);
    const template = JSON.parse(readFileSync(files[0]!, 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = Object.values(template.Resources).map((resource) => resource.Type);
    expect(types.filter((type) => type === 'AWS::ECS::Service')).toHaveLength(3);
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
