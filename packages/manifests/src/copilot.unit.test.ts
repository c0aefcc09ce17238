import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVICE_NAMES, SERVICES } from '@comms/endpoints';
import { SERVICE_DATABASES } from '@comms/infra';
import { checkCopilotWorkspace } from './index.js';
import type { TaskValue } from './index.js';

/**
 * Nothing here can reach AWS, so the Copilot deployment is checked the way a
 * task would see it: the variables of the manifest, the outputs of the
 * service's addons and the exports of the environment addons become an
 * environment (with values of the shape AWS produces), and each service's own
 * loadConfig must accept it.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const workspace = checkCopilotWorkspace(ROOT);
const REGION = 'eu-west-1';
const MSK_BROKERS = `boot-a1b2c3.c2.kafka-serverless.${REGION}.amazonaws.com:9098`;

/** What AWS puts in each kind of value, for a service in environment `test`. */
function materialise(service: string, env: Record<string, TaskValue>): Record<string, string> {
  const database = SERVICE_DATABASES.find((d) => d.service === service)?.database ?? '';
  const copilot: Record<string, string> = {
    COPILOT_APPLICATION_NAME: 'comms',
    COPILOT_ENVIRONMENT_NAME: 'test',
    COPILOT_SERVICE_NAME: service,
    COPILOT_SERVICE_DISCOVERY_ENDPOINT: 'test.comms.local',
    AWS_REGION: REGION,
  };
  return Object.fromEntries(
    Object.entries(env).map(([name, value]): [string, string] => {
      switch (value.kind) {
        case 'literal':
          return [name, value.value];
        case 'copilot':
          return [name, copilot[name] ?? ''];
        case 'from_cfn':
          if (value.exportName.endsWith('-KafkaBootstrapBrokers')) return [name, MSK_BROKERS];
          throw new Error(`${service}: no sample value for export ${value.exportName}`);
        case 'addon-secret':
          if (value.output !== 'DatabaseSecret')
            throw new Error(`${service}: no sample value for secret ${value.output}`);
          // The generated secret plus what SecretTargetAttachment adds.
          return [
            name,
            JSON.stringify({
              username: `${database}_owner`,
              password: 'Gen3rated0Password',
              dbname: database,
              engine: 'postgres',
              host: `${service}-db.cluster-abc.${REGION}.rds.amazonaws.com`,
              port: 5432,
              dbClusterIdentifier: `${service}-db`,
            }),
          ];
        default:
          throw new Error(`${service}: ${name} comes from ${value.kind}, which nothing creates`);
      }
    }),
  );
}

describe.each(SERVICE_NAMES)('the Copilot task of %s', (service) => {
  it('has every variable its own config demands, valid', async () => {
    const env = materialise(service, workspace.taskEnvironment(service, 'test'));
    const { loadConfig } = (await import(
      pathToFileURL(join(ROOT, 'apps', service, 'dist', 'config.js')).href
    )) as {
      loadConfig: (env: Record<string, string>) => {
        HOST: string;
        PORT: number;
        DATABASE_URL: string;
        kafka: { brokers: string[]; ssl: boolean; sasl?: { mechanism: string } };
        userServiceHttp?: readonly string[];
        userServiceGrpc?: readonly string[];
      };
    };
    const config = loadConfig(env);
    const database = SERVICE_DATABASES.find((d) => d.service === service)?.database;
    expect(config.HOST).toBe('0.0.0.0');
    expect(config.PORT).toBe(SERVICES[service].http);
    expect(new URL(config.DATABASE_URL).pathname).toBe(`/${String(database)}`);
    expect(new URL(config.DATABASE_URL).hostname).toMatch(/\.rds\.amazonaws\.com$/);
    expect(config.kafka).toMatchObject({
      brokers: [MSK_BROKERS],
      ssl: true,
      sasl: { mechanism: 'aws-msk-iam' },
    });
    if (config.userServiceHttp !== undefined)
      expect(config.userServiceHttp).toEqual(['http://user-service:8081']);
    if (config.userServiceGrpc !== undefined)
      expect(config.userServiceGrpc).toEqual(['user-service-grpc:50051']);
  });

  it('builds its image from the one service Dockerfile, the service as its build argument', () => {
    const manifest = parse(read(join('copilot', service, 'manifest.yml'))) as {
      image: { build: unknown };
    };
    expect(manifest.image.build).toEqual({
      context: '.',
      dockerfile: 'infra/docker/service.Dockerfile',
      args: { SERVICE: service },
    });
  });

  it('is given the database name its addon creates', () => {
    const parameters = readFileSync(
      join(ROOT, 'copilot', service, 'addons', 'addons.parameters.yml'),
      'utf8',
    );
    const database = SERVICE_DATABASES.find((d) => d.service === service)?.database;
    expect(parameters).toMatch(new RegExp(`^  DatabaseName: ${String(database)}$`, 'm'));
  });
});
