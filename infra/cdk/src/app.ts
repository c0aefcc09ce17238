import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { settingsFromContext } from './config.js';
import type { EnvironmentName, Settings } from './config.js';
import { PlatformStack } from './platform-stack.js';
import { ServicesStack } from './services-stack.js';

/**
 * Feature flags the app is written against. They are set here rather than in
 * cdk.json so that the tests, which build the app without the CLI, synthesise
 * exactly what `cdk deploy` does; cdk.json or `-c` may still override them.
 */
export const FEATURE_FLAGS: Readonly<Record<string, unknown>> = {
  // Synthesis checks every template against CloudFormation's schemas and rules
  // (a built-in cfn-lint); with this flag a finding fails `cdk synth`.
  '@aws-cdk/core:validateAgainstDefaultRules': true,
  // The services stack reads the platform's values with Fn::ImportValue: a
  // platform cannot be deleted, nor an export it gives dropped, while the
  // services still use it. That is the guard wanted here (the namespace and
  // the databases outlive the services); said explicitly, so that a changed
  // default never turns it into Fn::GetStackOutput, which guards nothing.
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
  '@aws-cdk/core:checkSecretUsage': true,
  '@aws-cdk/core:enablePartitionLiterals': true,
  '@aws-cdk/core:validateSnapshotRemovalPolicy': true,
  '@aws-cdk/core:includePrefixInUniqueNameGeneration': true,
  '@aws-cdk/aws-iam:minimizePolicies': true,
  '@aws-cdk/aws-ecs:arnFormatIncludesClusterName': true,
  '@aws-cdk/aws-ecs:disableExplicitDeploymentControllerForCircuitBreaker': true,
  '@aws-cdk/aws-ecs:removeDefaultDeploymentAlarm': true,
  '@aws-cdk/aws-ecs:reduceEc2FargateCloudWatchPermissions': true,
  '@aws-cdk/aws-rds:preventRenderingDeprecatedCredentials': true,
  '@aws-cdk/aws-rds:auroraClusterChangeScopeOfInstanceParameterGroupWithEachParameters': true,
  '@aws-cdk/aws-secretsmanager:useAttachedSecretResourcePolicyForSecretTargetAttachments': true,
  '@aws-cdk/aws-lambda:useCdkManagedLogGroup': true,
  '@aws-cdk/customresources:installLatestAwsSdkDefault': false,
};

/**
 * The names of an environment's two stacks, which are also their ids in the
 * app (what `cdk deploy <stack>` selects and what the templates are called):
 * `comms-<env>-platform`, then `comms-<env>-services` on top of it.
 */
export function stackNames(envName: EnvironmentName): {
  readonly platform: string;
  readonly services: string;
} {
  return { platform: `comms-${envName}-platform`, services: `comms-${envName}-services` };
}

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** Where the cloud assembly goes. @default the CLI's, or a temporary directory */
  readonly outdir?: string;
  /** Context values, as `-c key=value` would give them: `env`, `namespace`, flags. */
  readonly context?: Readonly<Record<string, unknown>>;
  /**
   * Copy the Docker build context into the assembly, as deploying needs.
   * Without it the assembly points at the repository itself: enough for
   * templates and tests, and no copy of the repository per synthesis.
   * @default true
   */
  readonly stageAssets?: boolean;
  /**
   * Check the templates against CloudFormation's rules during synthesis
   * (seconds of CPU; `CDK_VALIDATION=false` also turns it off).
   * @default true
   */
  readonly validate?: boolean;
  /** @default the directory above this package that holds turbo.json */
  readonly repoRoot?: string;
}

/** The app, its two stacks and the settings it was built with. */
export interface CommsApp {
  readonly app: App;
  readonly platform: PlatformStack;
  readonly services: ServicesStack;
  readonly settings: Settings;
}

/**
 * Builds the CDK app: a {@link PlatformStack} and a {@link ServicesStack}
 * that depends on it, named by {@link stackNames}.
 */
export function createApp(options: CreateAppOptions = {}): CommsApp {
  const context: Record<string, unknown> = { ...FEATURE_FLAGS, ...options.context };
  if (options.stageAssets === false) context['aws:cdk:disable-asset-staging'] = true;
  const app = new App({
    outdir: options.outdir,
    context,
    builtinCloudFormationValidation: options.validate ?? true,
  });
  const settings = settingsFromContext((key) => app.node.tryGetContext(key) as unknown);
  const names = stackNames(settings.envName);
  const platform = new PlatformStack(app, names.platform, {
    stackName: names.platform,
    description: `comms reference platform (${settings.envName}): VPC, ECS cluster, Service Connect namespace, Aurora Serverless v2, MSK Serverless`,
    settings,
  });
  const services = new ServicesStack(app, names.services, {
    stackName: names.services,
    description: `comms reference services (${settings.envName}): the three ECS services with Service Connect and auto scaling, and order-service's load balancer`,
    settings,
    platform,
    repoRoot: options.repoRoot ?? findRepoRoot(import.meta.dirname),
  });
  return { app, platform, services, settings };
}

/**
 * Synthesises the app into `outdir` without staging the Docker build
 * context, and returns the absolute paths of all its CloudFormation
 * templates (both stacks), in deployment order.
 */
export async function synthTemplates(
  outdir: string,
  context: Readonly<Record<string, unknown>> = {},
): Promise<string[]> {
  await mkdir(outdir, { recursive: true });
  const { app } = createApp({ outdir, context, stageAssets: false });
  return app.synth().stacks.map((stack) => stack.templateFullPath);
}

/** The nearest directory at or above `start` that holds turbo.json and apps/. */
export function findRepoRoot(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'turbo.json')) && existsSync(join(dir, 'apps'))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`no repository root (a directory with turbo.json and apps/) above ${start}`);
    }
  }
}
