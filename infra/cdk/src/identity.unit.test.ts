import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { SERVICE_NAMES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, findRepoRoot } from './app.js';
import { settingsFromContext } from './config.js';
import {
  API_RESOURCE_SERVERS,
  MACHINE_CLIENTS,
  OPERATOR_GROUP,
  requiredScopeOf,
  USER_APP_CLIENT,
} from './identity.js';
import { SERVICE_CONNECT_TLS_POLICY } from './service-connect-tls.js';

// Amazon Cognito as the issuer in AWS, and Service Connect TLS behind its flag: both stacks
// synthesised offline with the flag off and on, the services stack's imports followed to the
// platform's resources.

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}
interface TemplateJson {
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<
    string,
    { readonly Value: unknown; readonly Export?: { Name: string } }
  >;
}
interface Container {
  readonly Name: string;
  readonly Environment: { readonly Name: string; readonly Value: unknown }[];
  readonly Secrets?: { readonly Name: string; readonly ValueFrom: unknown }[];
}

/** Both stacks as one set of resources, the imports replaced by what the platform exports. */
function synth(context: Record<string, unknown>) {
  const outdir = mkdtempSync(join(tmpdir(), 'comms-cdk-identity-'));
  outdirs.push(outdir);
  const built = createApp({ outdir, context, stageAssets: false, validate: false });
  const platform = Template.fromStack(built.platform).toJSON() as TemplateJson;
  const services = Template.fromStack(built.services).toJSON() as TemplateJson;
  const exports = new Map(
    Object.values(platform.Outputs ?? {}).flatMap((output) =>
      output.Export === undefined ? [] : [[output.Export.Name, output.Value] as const],
    ),
  );
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]![0] === 'Fn::ImportValue')
      return exports.get(entries[0]![1] as string);
    return Object.fromEntries(entries.map(([key, inner]) => [key, resolve(inner)]));
  };
  const resources: Record<string, Resource> = {
    ...platform.Resources,
    ...(resolve(services.Resources) as Record<string, Resource>),
  };
  const ofType = (type: string) =>
    Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const containerOf = (name: ServiceName): Container => {
    const containers = ofType('AWS::ECS::TaskDefinition').flatMap(
      ([, task]) => task.Properties['ContainerDefinitions'] as Container[],
    );
    const found = containers.find((container) => container.Name === name);
    if (found === undefined) throw new Error(`no container ${name}`);
    return found;
  };
  const envOf = (name: ServiceName) =>
    Object.fromEntries(containerOf(name).Environment.map((v) => [v.Name, v.Value]));
  const secretsOf = (name: ServiceName) =>
    Object.fromEntries((containerOf(name).Secrets ?? []).map((s) => [s.Name, s.ValueFrom]));
  return { resources, ofType, envOf, secretsOf, platform, services };
}

const plain = synth({});
const withTls = synth({ serviceConnectTls: 'true' });

const ref = (id: string) => ({ Ref: id });
const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

/** The logical id of the only resource of `type` whose properties match `where`. */
function idOf(
  built: ReturnType<typeof synth>,
  type: string,
  where: (properties: Record<string, unknown>) => boolean = () => true,
): string {
  const matches = built.ofType(type).filter(([, resource]) => where(resource.Properties));
  expect(matches, `one ${type}`).toHaveLength(1);
  return matches[0]![0];
}

const clientId = (built: ReturnType<typeof synth>, name: string) =>
  idOf(built, 'AWS::Cognito::UserPoolClient', (p) => p['ClientName'] === name);

describe('the Cognito user pool, in the platform stack', () => {
  it('maps each API to the local issuer’s resource indicator and scope (packages/identity)', async () => {
    const identity = (await import(
      pathToFileURL(join(findRepoRoot(import.meta.dirname), 'packages/identity/dist/index.js')).href
    )) as {
      RESOURCES: Record<ServiceName, string>;
      RESOURCE_SCOPES: Record<ServiceName, string>;
      SERVICE_CLIENTS: readonly { clientId: string; callees: readonly ServiceName[] }[];
      USER_CLIENT: { callees: readonly ServiceName[] };
      OPERATOR_ROLE: string;
    };
    for (const name of SERVICE_NAMES)
      expect(API_RESOURCE_SERVERS[name], name).toEqual({
        identifier: identity.RESOURCES[name],
        scope: identity.RESOURCE_SCOPES[name],
      });
    for (const client of MACHINE_CLIENTS)
      expect(client.callees, client.name).toEqual(
        identity.SERVICE_CLIENTS.find((c) => c.clientId === client.name)?.callees,
      );
    expect(USER_APP_CLIENT.callees).toEqual(identity.USER_CLIENT.callees);
    expect(OPERATOR_GROUP).toBe(identity.OPERATOR_ROLE);
  });

  it('is one pool without self sign-up, with a domain for its OAuth 2.0 endpoints', () => {
    const pool = plain.ofType('AWS::Cognito::UserPool');
    expect(pool).toHaveLength(1);
    expect(pool[0]![1].Properties['AdminCreateUserConfig']).toMatchObject({
      AllowAdminCreateUserOnly: true,
    });
    expect(Object.keys(plain.platform.Resources)).toContain(pool[0]![0]);
    const domain = plain.ofType('AWS::Cognito::UserPoolDomain');
    expect(domain).toHaveLength(1);
    expect(domain[0]![1].Properties['UserPoolId']).toEqual(ref(pool[0]![0]));
  });

  it('has one resource server per API, identified by its resource indicator, with its one scope', () => {
    const servers = plain
      .ofType('AWS::Cognito::UserPoolResourceServer')
      .map(([, server]) => server.Properties)
      .map((p) => ({
        identifier: p['Identifier'],
        scopes: (p['Scopes'] as { ScopeName: string }[]).map((s) => s.ScopeName),
      }));
    expect(servers).toEqual(
      expect.arrayContaining(
        SERVICE_NAMES.map((name) => ({
          identifier: API_RESOURCE_SERVERS[name].identifier,
          scopes: [API_RESOURCE_SERVERS[name].scope],
        })),
      ),
    );
    expect(servers).toHaveLength(3);
  });

  it.each(MACHINE_CLIENTS)(
    'gives $name an app client with a secret, client credentials only, for its callees’ scopes',
    (client) => {
      const properties = plain.resources[clientId(plain, client.name)]!.Properties;
      expect(properties).toMatchObject({
        GenerateSecret: true,
        AllowedOAuthFlows: ['client_credentials'],
        AllowedOAuthFlowsUserPoolClient: true,
      });
      const scopes = JSON.stringify(properties['AllowedOAuthScopes']);
      for (const name of SERVICE_NAMES) {
        const scope = `/${API_RESOURCE_SERVERS[name].scope}`;
        // Each scope is the resource server's identifier joined with '/<scope>'.
        expect(scopes.includes(`"${scope}"`), `${client.name} -> ${name}`).toBe(
          client.callees.includes(name),
        );
      }
    },
  );

  it('gives users a public client: authorization code with PKCE, no secret, openid and the two APIs users call', () => {
    const properties = plain.resources[clientId(plain, 'comms-users')]!.Properties;
    expect(properties).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      CallbackURLs: [USER_APP_CLIENT.callbackUrl],
    });
    const scopes = JSON.stringify(properties['AllowedOAuthScopes']);
    expect(scopes).toContain('"openid"');
    expect(scopes).toContain('"/orders"');
    expect(scopes).toContain('"/notifications"');
    expect(scopes).not.toContain('"/users"');
  });

  it('has the operator group', () => {
    const groups = plain.ofType('AWS::Cognito::UserPoolGroup').map(([, g]) => g.Properties);
    expect(groups).toEqual([expect.objectContaining({ GroupName: 'operator' })]);
  });

  it('copies each machine client’s generated secret into Secrets Manager', () => {
    for (const client of MACHINE_CLIENTS) {
      const secret = idOf(plain, 'AWS::SecretsManager::Secret', (p) =>
        String(p['Description']).includes(`of ${client.name} `),
      );
      const value = JSON.stringify(plain.resources[secret]!.Properties['SecretString']);
      // The secret comes from Cognito (DescribeUserPoolClient), never a literal in the template.
      expect(value).toMatch(/Fn::GetAtt/);
      expect(value).toContain('UserPoolClient.ClientSecret');
      const describe = idOf(plain, 'Custom::DescribeCognitoUserPoolClient', (p) =>
        JSON.stringify(p['Create']).includes(clientId(plain, client.name)),
      );
      expect(value).toContain(describe);
    }
  });
});

describe('the services verify Cognito tokens (AUTH_PROFILE=cognito)', () => {
  const pool = idOf(plain, 'AWS::Cognito::UserPool');

  it.each(SERVICE_NAMES)(
    '%s: the pool’s issuer and keys, and its own scope instead of aud',
    (name) => {
      const env = plain.envOf(name);
      expect(env['AUTH_ISSUER_URL']).toEqual(getAtt(pool, 'ProviderURL'));
      expect(env['AUTH_PROFILE']).toBe('cognito');
      expect(JSON.stringify(env['AUTH_JWKS_URL'])).toContain('/.well-known/jwks.json');
      expect(JSON.stringify(env['AUTH_JWKS_URL'])).toContain(pool);
      expect(env['AUTH_REQUIRED_SCOPE']).toBe(requiredScopeOf(name));
      expect(requiredScopeOf(name)).toMatch(/^urn:comms:[a-z-]+\/[a-z]+$/);
    },
  );

  it('user-service accepts the app clients of its callers only, the services to read, the console to write too', () => {
    const callers = plain.envOf('user-service')['AUTH_CALLERS'];
    const may = (client: string, what: string) => ({
      'Fn::Join': ['', [ref(clientId(plain, client)), what]],
    });
    expect(callers).toEqual({
      'Fn::Join': [
        ',',
        [
          may('order-service', ':read'),
          may('notification-service', ':read'),
          may('console', ':read+write'),
        ],
      ],
    });
    expect(plain.envOf('user-service')['SERVICE_TOKEN_URL']).toBeUndefined();
    expect(plain.secretsOf('user-service')['SERVICE_CLIENT_SECRET']).toBeUndefined();
  });

  it.each(['order-service', 'notification-service'] as const)(
    '%s gets its own token: the pool domain’s token endpoint, its own client id, its own secret as an ECS secret',
    (name) => {
      const env = plain.envOf(name);
      const domain = idOf(plain, 'AWS::Cognito::UserPoolDomain');
      expect(JSON.stringify(env['SERVICE_TOKEN_URL'])).toContain(domain);
      expect(JSON.stringify(env['SERVICE_TOKEN_URL'])).toMatch(/\/oauth2\/token"/);
      expect(env['SERVICE_CLIENT_ID']).toEqual(ref(clientId(plain, name)));
      expect(env['USER_SERVICE_SCOPE']).toBe('urn:comms:user-service/users');
      expect(env['SERVICE_CLIENT_SECRET']).toBeUndefined(); // never a plain variable
      const secret = idOf(plain, 'AWS::SecretsManager::Secret', (p) =>
        String(p['Description']).includes(`of ${name} `),
      );
      expect(plain.secretsOf(name)['SERVICE_CLIENT_SECRET']).toEqual(ref(secret));
    },
  );

  it('lets each caller’s task execution role read its own client secret and no other', () => {
    for (const name of ['order-service', 'notification-service'] as const) {
      const own = idOf(plain, 'AWS::SecretsManager::Secret', (p) =>
        String(p['Description']).includes(`of ${name} `),
      );
      const others = MACHINE_CLIENTS.filter((c) => c.name !== name).map((c) =>
        idOf(plain, 'AWS::SecretsManager::Secret', (p) =>
          String(p['Description']).includes(`of ${c.name} `),
        ),
      );
      const policies = plain
        .ofType('AWS::IAM::Policy')
        .map(([, policy]) => JSON.stringify(policy.Properties))
        .filter((text) => text.includes(`"${own}"`));
      expect(policies.length, name).toBe(1);
      for (const other of others) expect(policies[0]).not.toContain(`"${other}"`);
    }
  });
});

describe('Service Connect TLS (-c serviceConnectTls=true)', () => {
  it('reads the flag from context, true or false, and refuses anything else', () => {
    const read = (value: unknown) =>
      settingsFromContext((key) => (key === 'serviceConnectTls' ? value : undefined))
        .serviceConnectTls;
    expect(read(undefined)).toBe(false);
    expect(read('true')).toBe(true);
    expect(read(true)).toBe(true);
    expect(read('false')).toBe(false);
    expect(() => read('yes')).toThrow(
      "context 'serviceConnectTls' must be true or false, got 'yes'",
    );
  });

  it('is off by default: no private CA, no TLS on any Service Connect endpoint', () => {
    expect(plain.ofType('AWS::ACMPCA::CertificateAuthority')).toEqual([]);
    for (const [, service] of plain.ofType('AWS::ECS::Service'))
      expect(JSON.stringify(service.Properties['ServiceConnectConfiguration'])).not.toContain(
        'Tls',
      );
  });

  it('creates a root private CA in short-lived certificate mode, self-signed and activated, in the platform stack', () => {
    const [ca, ...more] = withTls.ofType('AWS::ACMPCA::CertificateAuthority');
    expect(more).toEqual([]);
    expect(ca![1].Properties).toMatchObject({ Type: 'ROOT', UsageMode: 'SHORT_LIVED_CERTIFICATE' });
    expect(Object.keys(withTls.platform.Resources)).toContain(ca![0]);
    const certificate = withTls.ofType('AWS::ACMPCA::Certificate');
    expect(certificate).toHaveLength(1);
    expect(certificate[0]![1].Properties['CertificateAuthorityArn']).toEqual(getAtt(ca![0], 'Arn'));
    expect(JSON.stringify(certificate[0]![1].Properties['TemplateArn'])).toContain(
      'template/RootCACertificate/V1',
    );
    const activation = withTls.ofType('AWS::ACMPCA::CertificateAuthorityActivation');
    expect(activation).toHaveLength(1);
    expect(activation[0]![1].Properties).toMatchObject({
      Status: 'ACTIVE',
      CertificateAuthorityArn: getAtt(ca![0], 'Arn'),
      Certificate: getAtt(certificate[0]![0], 'Certificate'),
    });
  });

  it('secures every Service Connect endpoint with that CA and an ECS infrastructure role', () => {
    const ca = idOf(withTls, 'AWS::ACMPCA::CertificateAuthority');
    const role = idOf(withTls, 'AWS::IAM::Role', (p) =>
      JSON.stringify(p['ManagedPolicyArns'] ?? []).includes(SERVICE_CONNECT_TLS_POLICY),
    );
    expect(
      JSON.stringify(withTls.resources[role]!.Properties['AssumeRolePolicyDocument']),
    ).toContain('"Service":"ecs.amazonaws.com"');
    const entries = withTls
      .ofType('AWS::ECS::Service')
      .flatMap(
        ([, service]) =>
          (service.Properties['ServiceConnectConfiguration'] as { Services: { Tls?: unknown }[] })
            .Services,
      );
    expect(entries).toHaveLength(5); // http and grpc of user- and order-service, notification-service
    for (const entry of entries)
      expect(entry.Tls).toEqual({
        IssuerCertificateAuthority: { AwsPcaAuthorityArn: getAtt(ca, 'Arn') },
        RoleArn: getAtt(role, 'Arn'),
      });
  });
});
