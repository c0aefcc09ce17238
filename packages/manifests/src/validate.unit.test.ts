import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateAddon } from './addons.js';
import type { AddonKind } from './addons.js';
import { mergeCount, parseTaskCount } from './count.js';
import { formatProblem, validateManifest } from './validate.js';
import { checkCopilotWorkspace } from './workspace.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BROKEN = fileURLToPath(new URL('../fixtures/broken/', import.meta.url));
const BROKEN_ADDONS = fileURLToPath(new URL('../fixtures/broken-addons/', import.meta.url));
const workspace = checkCopilotWorkspace(ROOT);
const SERVICES = ['user-service', 'order-service', 'notification-service'];

const manifests = [
  'copilot/environments/test/manifest.yml',
  'copilot/environments/prod/manifest.yml',
  'copilot/user-service/manifest.yml',
  'copilot/order-service/manifest.yml',
  'copilot/notification-service/manifest.yml',
];

describe('the Copilot manifests of the project', () => {
  it('lists every manifest under copilot/', () => {
    const found = readdirSync(join(ROOT, 'copilot'), { recursive: true, encoding: 'utf8' })
      .filter((path) => path.endsWith('manifest.yml'))
      .map((path) => `copilot/${path}`)
      .sort();
    expect(found).toEqual([...manifests].sort());
  });

  it('passes the workspace checks: manifests, addons, parameters, imports and from_cfn', () => {
    expect(workspace.problems.map(formatProblem)).toEqual([]);
  });

  it.each(manifests)('%s passes the strict checks', (file) => {
    const problems = validateManifest(file, readFileSync(join(ROOT, file), 'utf8'), ROOT);
    expect(problems.map(formatProblem)).toEqual([]);
  });

  it('keeps order-service the only public service', () => {
    const types = manifests
      .filter((f) => !f.includes('environments'))
      .map((f) => [f, /^type: (.+)$/m.exec(readFileSync(join(ROOT, f), 'utf8'))?.[1]]);
    expect(
      types.filter(([, type]) => type === 'Load Balanced Web Service').map(([f]) => f),
    ).toEqual(['copilot/order-service/manifest.yml']);
  });

  it('patches user-service to register its gRPC port as user-service-grpc', () => {
    const patch = readFileSync(
      join(ROOT, 'copilot/user-service/overrides/cfn.patches.yml'),
      'utf8',
    );
    expect(patch).toMatch(/DiscoveryName: user-service-grpc/);
    expect(patch).toMatch(/ContainerPort: 50051/);
    expect(patch).toMatch(/AppProtocol: grpc/);
  });
});

describe('auto scaling in the Copilot manifests', () => {
  it('has the environments test and prod', () => {
    expect(workspace.environmentNames).toEqual(['prod', 'test']);
  });

  it.each(SERVICES)(
    '%s scales on CPU within a range of at least one task everywhere',
    (service) => {
      for (const env of workspace.environmentNames) {
        const count = workspace.taskCount(service, env);
        expect(count.min, `${service} in ${env}`).toBeGreaterThanOrEqual(1);
        expect(count.max, `${service} in ${env}`).toBeGreaterThanOrEqual(count.min);
        expect(count.cpuPercentage, `${service} in ${env}`).toBeDefined();
      }
    },
  );

  it('lays an environment count over the top-level one as Copilot does', () => {
    const base = { range: '1-2', cpu_percentage: 70, cooldown: { in: '300s', out: '60s' } };
    expect(parseTaskCount(mergeCount(base, { range: '2-6', cooldown: { out: '1m' } }))).toEqual({
      min: 2,
      max: 6,
      cpuPercentage: 70,
      cooldownInSeconds: 300,
      cooldownOutSeconds: 60,
    });
    expect(parseTaskCount(mergeCount(base, 3))).toEqual({ min: 3, max: 3 });
    expect(parseTaskCount(mergeCount(undefined, undefined))).toEqual({ min: 1, max: 1 });
  });
});

describe('the AWS addons', () => {
  it('export what the services read from the environment', () => {
    expect([...workspace.environmentExports].sort()).toEqual([
      // identity.yml: Cognito's issuer, endpoints, app clients and their secrets.
      'ConsoleClientId',
      'ConsoleClientSecretArn',
      'KafkaBootstrapBrokers',
      'KafkaClusterArn',
      'KafkaGroupsArn',
      'KafkaTopicsArn',
      'NotificationServiceClientId',
      'NotificationServiceClientSecretArn',
      'OrderServiceClientId',
      'OrderServiceClientSecretArn',
      'ServiceCallers',
      'TokenEndpoint',
      'TokenIssuerUrl',
      'TokenJwksUrl',
      'UsersClientId',
    ]);
  });

  it.each(SERVICES)(
    '%s gets its database as DATABASE_SECRET and Kafka over IAM, and no plain URLs',
    (service) => {
      const env = workspace.taskEnvironment(service, 'test');
      expect(env['DATABASE_SECRET']).toEqual({ kind: 'addon-secret', output: 'DatabaseSecret' });
      expect(env['KAFKA_BROKERS']).toEqual({
        kind: 'from_cfn',
        exportName: '${COPILOT_APPLICATION_NAME}-${COPILOT_ENVIRONMENT_NAME}-KafkaBootstrapBrokers',
      });
      expect(env['KAFKA_SASL_MECHANISM']).toEqual({ kind: 'literal', value: 'aws-msk-iam' });
      expect(env['DATABASE_URL']).toBeUndefined();
    },
  );

  it('gives every service the same database and Kafka templates, differing only in the database name', () => {
    const read = (service: string, file: string) =>
      readFileSync(join(ROOT, 'copilot', service, 'addons', file), 'utf8');
    for (const file of ['database.yml', 'kafka-access.yml']) {
      expect(new Set(SERVICES.map((s) => read(s, file))).size, file).toBe(1);
    }
    expect(
      SERVICES.map((s) => /DatabaseName: (\w+)/.exec(read(s, 'addons.parameters.yml'))?.[1]),
    ).toEqual(['users', 'orders', 'notifications']);
  });
});

describe('broken addon templates are rejected with a message that points at the line', () => {
  const fixtures = readdirSync(BROKEN_ADDONS).filter((f) => f.endsWith('.yml'));

  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(4);
  });

  it.each(fixtures)('%s', (fixture) => {
    const text = readFileSync(join(BROKEN_ADDONS, fixture), 'utf8');
    const kind = /^# kind: (environment|workload)$/m.exec(text)?.[1] as AddonKind | undefined;
    const expectation = /^# expect: (\d+): (.+)$/m.exec(text);
    expect(kind, 'fixture states its kind').toBeDefined();
    expect(expectation, 'fixture states what it expects').not.toBeNull();
    const [, line, message] = expectation ?? [];
    const file = `fixtures/broken-addons/${fixture}`;
    const problems = validateAddon(file, text, kind ?? 'workload').problems.map(formatProblem);
    expect(problems.join('\n')).toContain(`${file}:${line ?? ''}: ${message ?? ''}`);
  });
});

describe('broken fixtures are rejected with a message that points at the line', () => {
  const fixtures = readdirSync(BROKEN).filter((f) => f.endsWith('.yml'));

  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(8);
  });

  it.each(fixtures)('%s', (fixture) => {
    const text = readFileSync(join(BROKEN, fixture), 'utf8');
    const expectation = /^# expect: (\d+): (.+)$/m.exec(text);
    expect(expectation, 'fixture states what it expects').not.toBeNull();
    const [, line, message] = expectation ?? [];
    const problems = validateManifest(`fixtures/broken/${fixture}`, text, ROOT, {
      exports: workspace.environmentExports,
    }).map(formatProblem);
    expect(problems.length).toBeGreaterThan(0);
    const wanted = new RegExp(
      `^fixtures/broken/${fixture.replace('.', '\\.')}:${line}: ${message ?? ''}`,
    );
    expect(
      problems.some((p) => wanted.test(p)),
      `${wanted} in\n${problems.join('\n')}`,
    ).toBe(true);
  });
});
