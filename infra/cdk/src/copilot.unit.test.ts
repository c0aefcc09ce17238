import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '@comms/endpoints';
import { App, Stack, Token } from 'aws-cdk-lib';
import { checkCopilotWorkspace, parseCfnYaml } from '@comms/manifests';
import { ENVIRONMENT_NAMES, SCALING_TARGETS, SIZING } from './config.js';
import { API_RESOURCE_SERVERS, Identity, MACHINE_CLIENTS, requiredScopeOf } from './identity.js';
import { identityOf } from './services-stack.js';

// The two ways to deploy (docs/deploy.md) must run the same number of tasks
// and scale them the same way: copilot/<service>/manifest.yml `count`
// (with each environment's override laid over it) against this app's config.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const workspace = checkCopilotWorkspace(ROOT);

describe('the Copilot manifests and the CDK app', () => {
  it('know the same environments', () => {
    expect([...workspace.environmentNames].sort()).toEqual([...ENVIRONMENT_NAMES].sort());
  });

  describe.each(ENVIRONMENT_NAMES)('in %s', (env) => {
    it.each(SERVICE_NAMES)('%s has the same task range, targets and cooldowns', (service) => {
      const { min, max } = SIZING[env].tasks[service];
      expect(workspace.taskCount(service, env)).toEqual({
        min,
        max,
        cpuPercentage: SCALING_TARGETS.cpuPercent,
        ...(service === 'order-service'
          ? { requests: SCALING_TARGETS.orderRequestsPerTarget }
          : {}),
        cooldownInSeconds: SCALING_TARGETS.scaleInCooldown.toSeconds(),
        cooldownOutSeconds: SCALING_TARGETS.scaleOutCooldown.toSeconds(),
      });
    });
  });
});

// ...and the same identity: Cognito's resource servers, app clients and each service's scope.
describe('Cognito in the Copilot environment addon and in the CDK app', () => {
  const addon = parseCfnYaml(
    readFileSync(join(ROOT, 'copilot/environments/addons/identity.yml'), 'utf8'),
  ).doc.toJS() as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const ofType = (type: string) =>
    Object.values(addon.Resources).filter((resource) => resource.Type === type);

  it('has the same resource servers, identifiers and scopes', () => {
    expect(
      ofType('AWS::Cognito::UserPoolResourceServer')
        .map((r) => ({
          identifier: r.Properties['Identifier'],
          scope: (r.Properties['Scopes'] as { ScopeName: string }[]).map((x) => x.ScopeName).join(),
        }))
        .sort((a, b) => String(a.identifier).localeCompare(String(b.identifier))),
    ).toEqual(
      Object.values(API_RESOURCE_SERVERS).sort((a, b) => a.identifier.localeCompare(b.identifier)),
    );
  });

  it.each(MACHINE_CLIENTS)('gives $name the scopes of the same callees', (client) => {
    const found = ofType('AWS::Cognito::UserPoolClient').find(
      (r) => r.Properties['ClientName'] === client.name,
    );
    expect(found?.Properties['AllowedOAuthFlows']).toEqual(['client_credentials']);
    expect(found?.Properties['AllowedOAuthScopes']).toEqual(client.callees.map(requiredScopeOf));
  });

  it.each(SERVICE_NAMES)('requires the same scope at %s', (service) => {
    const env = workspace.taskEnvironment(service, 'test');
    expect(env['AUTH_PROFILE']).toEqual({ kind: 'literal', value: 'cognito' });
    expect(env['AUTH_REQUIRED_SCOPE']).toEqual({
      kind: 'literal',
      value: requiredScopeOf(service),
    });
  });
});

describe('each service’s identity variables, Copilot task and CDK task alike', () => {
  const identity = new Identity(new Stack(new App(), 'Probe'), 'Identity', { retain: false });

  it.each(SERVICE_NAMES)(
    '%s gets the same variables and secrets, and the same literal values',
    (service) => {
      const cdk = identityOf(service, identity);
      const copilot = workspace.taskEnvironment(service, 'test');
      const names = [
        ...Object.keys(cdk.environment ?? {}),
        ...Object.keys(cdk.secrets ?? {}),
      ].sort();
      const identityNames = Object.keys(copilot)
        .filter((name) => /^(AUTH_|SERVICE_|USER_SERVICE_SCOPE$)/.test(name))
        .sort();
      expect(identityNames).toEqual(names);
      for (const [name, value] of Object.entries(cdk.environment ?? {}))
        if (!Token.isUnresolved(value))
          expect(copilot[name], name).toEqual({ kind: 'literal', value });
      // Secrets come from Secrets Manager on both paths, never as plain variables.
      for (const name of Object.keys(cdk.secrets ?? {}))
        expect(copilot[name]?.kind, name).toBe('from_cfn');
    },
  );
});
