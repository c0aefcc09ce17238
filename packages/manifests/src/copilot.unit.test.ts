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
/** What Cognito (environments/addons/identity.yml) gives, in the shapes AWS produces. */
const COGNITO = {
  issuer: `https://cognito-idp.${REGION}.amazonaws.com/${REGION}_AbCdEf123`,
  tokenEndpoint: `https://comms-test-123456789012.auth.${REGION}.amazoncognito.com/oauth2/token`,
  clients: {
    OrderService: '1a2b3c4d5e6f7g8h9i0j1k2l3m',
    NotificationService: '9z8y7x6w5v4u3t2s1r0q9p8o7n',
    Console: '5c5c5c5c5c5c5c5c5c5c5c5c5c',
  } as Record<string, string>,
  secret: 'generated-by-cognito-0123456789abcdefghijklmnopqrstuvwxyz012345',
};
const COGNITO_EXPORTS: Record<string, string> = {
  TokenIssuerUrl: COGNITO.issuer,
  TokenJwksUrl: `${COGNITO.issuer}/.well-known/jwks.json`,
  TokenEndpoint: COGNITO.tokenEndpoint,
  // What Copilot's !Sub makes of it: the two services read, the console reads and writes.
  ServiceCallers: ['OrderService:read', 'NotificationService:read', 'Console:read+write']
    .map((entry) => entry.replace(/^\w+/, (name) => COGNITO.clients[name] ?? name))
    .join(','),
  ...Object.fromEntries(
    Object.entries(COGNITO.clients).map(([name, id]) => [`${name}ClientId`, id]),
  ),
  // A secret's from_cfn names its ARN; the task sees the secret's value.
  ...Object.fromEntries(
    Object.keys(COGNITO.clients).map((name) => [`${name}ClientSecretArn`, COGNITO.secret]),
  ),
};

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
          for (const [suffix, sample] of Object.entries(COGNITO_EXPORTS))
            if (
              value.exportName ===
              `\${COPILOT_APPLICATION_NAME}-\${COPILOT_ENVIRONMENT_NAME}-${suffix}`
            )
              return [name, sample];
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

  it('verifies Cognito tokens (AUTH_PROFILE=cognito, its own scope), and a caller carries its own', async () => {
    const env = materialise(service, workspace.taskEnvironment(service, 'test'));
    const { loadConfig } = (await import(
      pathToFileURL(join(ROOT, 'apps', service, 'dist', 'config.js')).href
    )) as {
      loadConfig: (env: Record<string, string>) => {
        auth?: {
          issuer: string;
          jwksUrl?: string;
          callers?: readonly unknown[];
          profile?: string;
          requiredScope?: string;
        };
        identity?: {
          tokenUrl: string;
          clientId: string;
          clientSecret: string;
          profile?: string;
          scopes?: Record<string, string>;
        };
      };
    };
    const config = loadConfig(env);
    expect(config.auth).toMatchObject({
      issuer: COGNITO.issuer,
      jwksUrl: `${COGNITO.issuer}/.well-known/jwks.json`,
    });
    expect(env['AUTH_PROFILE']).toBe('cognito');
    const scopes: Record<string, string> = {
      'user-service': 'urn:comms:user-service/users',
      'order-service': 'urn:comms:order-service/orders',
      'notification-service': 'urn:comms:notification-service/notifications',
    };
    expect(env['AUTH_REQUIRED_SCOPE']).toBe(scopes[service]);
    // Through service-kit's bearerAuthEnv, every service's verifier gets the profile and the scope.
    expect(config.auth).toMatchObject({ profile: 'cognito', requiredScope: scopes[service] });
    if (service === 'user-service') {
      expect(config.auth?.callers).toEqual([
        { clientId: COGNITO.clients['OrderService'], permissions: ['users:read'] },
        { clientId: COGNITO.clients['NotificationService'], permissions: ['users:read'] },
        { clientId: COGNITO.clients['Console'], permissions: ['users:read', 'users:write'] },
      ]);
      expect(config).not.toHaveProperty('identity.clientId');
    } else {
      const client = service === 'order-service' ? 'OrderService' : 'NotificationService';
      expect(config.identity).toMatchObject({
        tokenUrl: COGNITO.tokenEndpoint,
        clientId: COGNITO.clients[client],
        clientSecret: COGNITO.secret,
        // Through serviceIdentityEnv: the token client asks Cognito for user-service's scope.
        profile: 'cognito',
        scopes: { 'urn:comms:user-service': scopes['user-service'] },
      });
      expect(env['USER_SERVICE_SCOPE']).toBe(scopes['user-service']);
      // The secret comes from Secrets Manager (secrets:), never a plain variable.
      const manifest = parse(read(join('copilot', service, 'manifest.yml'))) as {
        variables: Record<string, unknown>;
        secrets: Record<string, unknown>;
      };
      expect(manifest.variables['SERVICE_CLIENT_SECRET']).toBeUndefined();
      expect(manifest.secrets['SERVICE_CLIENT_SECRET']).toEqual({
        from_cfn: `\${COPILOT_APPLICATION_NAME}-\${COPILOT_ENVIRONMENT_NAME}-${client}ClientSecretArn`,
      });
    }
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
