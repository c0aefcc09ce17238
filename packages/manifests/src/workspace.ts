import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateAddon, validateAddonParameters } from './addons.js';
import type { AddonKind, AddonSummary } from './addons.js';
import { mergeCount, parseTaskCount } from './count.js';
import type { TaskCount } from './count.js';
import { COPILOT_EXPORT_PREFIX, validateManifest } from './validate.js';
import type { Problem } from './validate.js';

/**
 * Exports of the environment stack Copilot itself generates
 * (`${App}-${Env}-<name>`), which workload addons may import.
 */
export const COPILOT_ENVIRONMENT_EXPORTS: ReadonlySet<string> = new Set([
  'VpcId',
  'PublicSubnets',
  'PrivateSubnets',
  'EnvironmentSecurityGroup',
  'ClusterId',
  'ServiceDiscoveryNamespaceID',
]);

/** What a service's container receives, by variable name. */
export type TaskValue =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'from_cfn'; readonly exportName: string }
  | { readonly kind: 'ssm-secret'; readonly parameter: string }
  | { readonly kind: 'addon-secret'; readonly output: string }
  | { readonly kind: 'addon-output'; readonly output: string }
  | { readonly kind: 'copilot' };

interface Workload {
  readonly dir: string;
  readonly manifest: Record<string, unknown>;
  readonly addons: readonly AddonSummary[];
}

/** The result of checking `copilot/` as a whole. */
export interface CopilotWorkspace {
  readonly problems: Problem[];
  /** Suffixes X of the environment addons' `${App}-${Env}-X` exports. */
  readonly environmentExports: ReadonlySet<string>;
  /** The environment variables a service's task gets in an environment. */
  taskEnvironment(service: string, environment: string): Record<string, TaskValue>;
  /**
   * How many tasks a service runs in an environment, and what scales it:
   * the top-level `count` with the environment's override laid over it.
   */
  taskCount(service: string, environment: string): TaskCount;
  /** The environments that have a manifest under copilot/environments/. */
  readonly environmentNames: readonly string[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function addonDirectory(
  root: string,
  dir: string,
  kind: AddonKind,
): { problems: Problem[]; addons: AddonSummary[] } {
  const path = join(root, dir);
  if (!existsSync(path)) return { problems: [], addons: [] };
  const problems: Problem[] = [];
  const addons: AddonSummary[] = [];
  const files = readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith('addons.parameters.'))
    .sort();
  for (const f of files) {
    const file = `${dir}/${f}`;
    const result = validateAddon(file, readFileSync(join(root, file), 'utf8'), kind);
    problems.push(...result.problems);
    if (result.summary !== undefined) addons.push(result.summary);
  }
  const parametersFile = `${dir}/addons.parameters.yml`;
  const text = existsSync(join(root, parametersFile))
    ? readFileSync(join(root, parametersFile), 'utf8')
    : undefined;
  problems.push(...validateAddonParameters(parametersFile, text, addons, kind).problems);
  return { problems, addons };
}

/** `DatabaseSecret` -> `DATABASE_SECRET`, as Copilot names addon outputs in a task. */
export function screamingSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toUpperCase();
}

/**
 * Checks everything under `copilot/` together: each manifest strictly, each
 * addon template and parameters file, that every `from_cfn` of a manifest
 * names an export of an environment addon, and that every `Fn::ImportValue`
 * of a workload addon names an export of the environment (Copilot's own
 * stack or an environment addon).
 */
export function checkCopilotWorkspace(root: string): CopilotWorkspace {
  const problems: Problem[] = [];
  const environment = addonDirectory(root, 'copilot/environments/addons', 'environment');
  problems.push(...environment.problems);
  const environmentExports = new Set(
    environment.addons.flatMap((addon) =>
      addon.outputs.flatMap((o) => (o.exportSuffix === undefined ? [] : [o.exportSuffix])),
    ),
  );
  const importable = new Set([...environmentExports, ...COPILOT_ENVIRONMENT_EXPORTS]);

  const envDir = join(root, 'copilot/environments');
  const environmentNames = existsSync(envDir)
    ? readdirSync(envDir).filter((d) => existsSync(join(envDir, d, 'manifest.yml')))
    : [];
  for (const name of environmentNames) {
    const file = `copilot/environments/${name}/manifest.yml`;
    problems.push(...validateManifest(file, readFileSync(join(root, file), 'utf8'), root));
  }

  const workloads = new Map<string, Workload>();
  const workloadDirs = readdirSync(join(root, 'copilot')).filter(
    (d) => d !== 'environments' && existsSync(join(root, 'copilot', d, 'manifest.yml')),
  );
  for (const dir of workloadDirs.sort()) {
    const file = `copilot/${dir}/manifest.yml`;
    const text = readFileSync(join(root, file), 'utf8');
    problems.push(...validateManifest(file, text, root, { exports: environmentExports }));
    const addons = addonDirectory(root, `copilot/${dir}/addons`, 'workload');
    problems.push(...addons.problems);
    for (const addon of addons.addons) {
      for (const imported of addon.imports) {
        if (!importable.has(imported.name)) {
          problems.push({
            file: addon.file,
            line: imported.line,
            path: 'Fn::ImportValue',
            message: `nothing in the environment exports '${imported.name}' (known: ${[...importable].sort().join(', ')})`,
          });
        }
      }
    }
    const manifest = parse(text) as unknown;
    if (isObject(manifest)) workloads.set(dir, { dir, manifest, addons: addons.addons });
  }

  return {
    problems,
    environmentExports,
    environmentNames: [...environmentNames].sort(),
    taskEnvironment(service, environmentName) {
      const workload = workloads.get(service);
      if (workload === undefined) throw new Error(`no copilot/${service}/manifest.yml`);
      return taskEnvironmentOf(workload, environmentName);
    },
    taskCount(service, environmentName) {
      const workload = workloads.get(service);
      if (workload === undefined) throw new Error(`no copilot/${service}/manifest.yml`);
      const { manifest } = workload;
      const override = isObject(manifest['environments'])
        ? manifest['environments'][environmentName]
        : undefined;
      const count = mergeCount(
        manifest['count'],
        isObject(override) ? override['count'] : undefined,
      );
      const parsed = parseTaskCount(count);
      if (parsed === undefined) {
        throw new Error(
          `copilot/${service}/manifest.yml: count in ${environmentName} must be a number or { range: min-max }, got ${JSON.stringify(count)}`,
        );
      }
      return parsed;
    },
  };
}

function taskEnvironmentOf(workload: Workload, environmentName: string): Record<string, TaskValue> {
  const { manifest } = workload;
  const env: Record<string, TaskValue> = {};
  for (const name of [
    'COPILOT_APPLICATION_NAME',
    'COPILOT_ENVIRONMENT_NAME',
    'COPILOT_SERVICE_NAME',
    'COPILOT_SERVICE_DISCOVERY_ENDPOINT',
    'AWS_REGION',
  ]) {
    env[name] = { kind: 'copilot' };
  }
  const override = isObject(manifest['environments'])
    ? manifest['environments'][environmentName]
    : undefined;
  const blocks = (key: 'variables' | 'secrets') => [
    manifest[key],
    isObject(override) ? override[key] : undefined,
  ];
  for (const block of blocks('variables')) {
    if (!isObject(block)) continue;
    for (const [name, value] of Object.entries(block)) {
      env[name] =
        isObject(value) && typeof value['from_cfn'] === 'string'
          ? { kind: 'from_cfn', exportName: value['from_cfn'] }
          : { kind: 'literal', value: String(value) };
    }
  }
  for (const block of blocks('secrets')) {
    if (!isObject(block)) continue;
    for (const [name, value] of Object.entries(block)) {
      env[name] =
        isObject(value) && typeof value['from_cfn'] === 'string'
          ? { kind: 'from_cfn', exportName: value['from_cfn'] }
          : { kind: 'ssm-secret', parameter: String(value) };
    }
  }
  for (const addon of workload.addons) {
    for (const output of addon.outputs) {
      // Policies go to the task role and security groups to the tasks;
      // secrets and every other output become variables.
      if (output.refType === 'AWS::IAM::ManagedPolicy') continue;
      if (output.refType === 'AWS::EC2::SecurityGroup') continue;
      env[screamingSnake(output.name)] =
        output.refType === 'AWS::SecretsManager::Secret'
          ? { kind: 'addon-secret', output: output.name }
          : { kind: 'addon-output', output: output.name };
    }
  }
  return env;
}

export { COPILOT_EXPORT_PREFIX };
