import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { settingsFromContext } from './config.js';
import type { Settings } from './config.js';
import { CommsStack } from './stack.js';

/**
 * Feature flags the app is written against. They are set here rather than in
 * cdk.json so that the tests, which build the app without the CLI, synthesise
 * exactly what `cdk deploy` does; cdk.json or `-c` may still override them.
 */
export const FEATURE_FLAGS: Readonly<Record<string, unknown>> = {
  // Synthesis checks every template against CloudFormation's schemas and rules
  // (a built-in cfn-lint); with this flag a finding fails `cdk synth`.
  '@aws-cdk/core:validateAgainstDefaultRules': true,
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

/** The id of the one stack (what `cdk deploy` selects). */
export const STACK_ID = 'CommsStack';

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

/** The app, its one stack and the settings it was built with. */
export interface CommsApp {
  readonly app: App;
  readonly stack: CommsStack;
  readonly settings: Settings;
}

/** Builds the CDK app: one {@link CommsStack} named `comms-<env>`. */
export function createApp(options: CreateAppOptions = {}): CommsApp {
  const context: Record<string, unknown> = { ...FEATURE_FLAGS, ...options.context };
  if (options.stageAssets === false) context['aws:cdk:disable-asset-staging'] = true;
  const app = new App({
    outdir: options.outdir,
    context,
    builtinCloudFormationValidation: options.validate ?? true,
  });
  const settings = settingsFromContext((key) => app.node.tryGetContext(key) as unknown);
  const stack = new CommsStack(app, STACK_ID, {
    stackName: `comms-${settings.envName}`,
    description: `comms reference services (${settings.envName}): ECS Service Connect, Aurora Serverless v2, MSK Serverless`,
    settings,
    repoRoot: options.repoRoot ?? findRepoRoot(import.meta.dirname),
  });
  return { app, stack, settings };
}

/**
 * Synthesises the app into `outdir` without staging the Docker build
 * context, and returns the absolute paths of the CloudFormation templates.
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
