import { parseCfnYaml } from './cfn-yaml.js';
import { lineOf, yamlProblems } from './validate.js';
import type { Problem } from './validate.js';

/**
 * Copilot addons: CloudFormation templates under `copilot/environments/addons/`
 * (environment addons) or `copilot/<service>/addons/` (workload addons), with
 * an optional `addons.parameters.yml` giving values to extra parameters.
 */
export type AddonKind = 'environment' | 'workload';

/** What other checks need to know about a valid addon template. */
export interface AddonSummary {
  readonly file: string;
  /** Declared parameters, with whether they have a default. */
  readonly parameters: ReadonlyMap<string, { readonly hasDefault: boolean; readonly line: number }>;
  /** Logical id -> resource type. */
  readonly resources: ReadonlyMap<string, string>;
  readonly outputs: readonly AddonOutput[];
  /** Suffixes X of `Fn::ImportValue: !Sub '${App}-${Env}-X'`. */
  readonly imports: readonly { readonly name: string; readonly line: number }[];
}

export interface AddonOutput {
  readonly name: string;
  /** Resource type of the resource the value `Ref`s, when it is a plain `!Ref`. */
  readonly refType: string | undefined;
  /** Suffix X of an export named `${App}-${Env}-X`. */
  readonly exportSuffix: string | undefined;
}

/** Parameters Copilot passes to every addon of that kind. */
export const COPILOT_ADDON_PARAMETERS: Record<AddonKind, readonly string[]> = {
  environment: ['App', 'Env'],
  workload: ['App', 'Env', 'Name'],
};

const TOP_LEVEL = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Rules',
  'Mappings',
  'Conditions',
  'Transform',
  'Resources',
  'Outputs',
]);
const RESOURCE_TYPE = /^(AWS::[A-Za-z0-9]+::[A-Za-z0-9:]+|Custom::[A-Za-z0-9_@-]+)$/;
const EXPORT_PREFIX = '${App}-${Env}-';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks one addon template: Copilot's required parameters (`App`, `Env`,
 * and `Name` for a workload), at least one resource, resource types of the
 * right form, outputs with values, environment exports namespaced
 * `${App}-${Env}-` so workloads can import them. Every problem names a line.
 */
export function validateAddon(
  file: string,
  text: string,
  kind: AddonKind,
): { problems: Problem[]; summary: AddonSummary | undefined } {
  const { doc, counter } = parseCfnYaml(text);
  const problems: Problem[] = [];
  const at = (path: string[], message: string) =>
    problems.push({ file, line: lineOf(doc, counter, path), path: path.join('.'), message });
  problems.push(...yamlProblems(file, doc, counter));
  if (problems.length > 0) return { problems, summary: undefined };

  const template = doc.toJS() as unknown;
  if (!isObject(template)) {
    at([], 'an addon must be a CloudFormation template (a mapping)');
    return { problems, summary: undefined };
  }
  for (const key of Object.keys(template)) {
    if (!TOP_LEVEL.has(key)) at([key], `unknown top-level section '${key}'`);
  }

  const parameters = new Map<string, { hasDefault: boolean; line: number }>();
  const declared = isObject(template['Parameters']) ? template['Parameters'] : {};
  for (const [name, spec] of Object.entries(declared)) {
    if (!isObject(spec) || typeof spec['Type'] !== 'string') {
      at(['Parameters', name], `parameter '${name}' needs a Type`);
      continue;
    }
    parameters.set(name, {
      hasDefault: spec['Default'] !== undefined,
      line: lineOf(doc, counter, ['Parameters', name]),
    });
  }
  for (const required of COPILOT_ADDON_PARAMETERS[kind]) {
    const spec = declared[required];
    if (spec === undefined) {
      at(
        ['Parameters'],
        `missing parameter '${required}': Copilot passes ${COPILOT_ADDON_PARAMETERS[kind].join(', ')} to every ${kind} addon and fails the deployment if the template does not declare them`,
      );
    } else if (isObject(spec) && spec['Type'] !== 'String') {
      at(['Parameters', required, 'Type'], `parameter '${required}' must be of Type String`);
    }
  }

  const resources = new Map<string, string>();
  const declaredResources = template['Resources'];
  if (!isObject(declaredResources) || Object.keys(declaredResources).length === 0) {
    at(['Resources'], 'an addon needs at least one resource');
  } else {
    for (const [id, resource] of Object.entries(declaredResources)) {
      const type = isObject(resource) ? resource['Type'] : undefined;
      if (typeof type !== 'string') {
        at(['Resources', id], `resource '${id}' has no Type`);
      } else if (!RESOURCE_TYPE.test(type)) {
        at(['Resources', id, 'Type'], `'${type}' is not a resource type (AWS::Service::Resource)`);
      } else {
        resources.set(id, type);
      }
    }
  }

  const outputs: AddonOutput[] = [];
  const declaredOutputs = isObject(template['Outputs']) ? template['Outputs'] : {};
  for (const [name, output] of Object.entries(declaredOutputs)) {
    if (!isObject(output) || output['Value'] === undefined) {
      at(['Outputs', name], `output '${name}' has no Value`);
      continue;
    }
    const value = output['Value'];
    const ref = isObject(value) && typeof value['Ref'] === 'string' ? value['Ref'] : undefined;
    const exportName = isObject(output['Export']) ? output['Export']['Name'] : undefined;
    const exportText =
      isObject(exportName) && typeof exportName['Fn::Sub'] === 'string'
        ? exportName['Fn::Sub']
        : undefined;
    const exportSuffix = exportText?.startsWith(EXPORT_PREFIX)
      ? exportText.slice(EXPORT_PREFIX.length)
      : undefined;
    if (kind === 'environment' && exportSuffix === undefined) {
      at(
        ['Outputs', name],
        `output '${name}' of an environment addon needs Export: { Name: !Sub '${EXPORT_PREFIX}${name}' }; without it no service can use the value`,
      );
    }
    outputs.push({
      name,
      refType: ref === undefined ? undefined : resources.get(ref),
      exportSuffix,
    });
  }

  const imports: { name: string; line: number }[] = [];
  const visit = (node: unknown, path: string[]) => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => {
        visit(item, [...path, String(index)]);
      });
    } else if (isObject(node)) {
      const imported = node['Fn::ImportValue'];
      if (imported !== undefined) {
        const sub = isObject(imported) ? imported['Fn::Sub'] : undefined;
        if (typeof sub === 'string' && sub.startsWith(EXPORT_PREFIX)) {
          imports.push({
            name: sub.slice(EXPORT_PREFIX.length),
            line: lineOf(doc, counter, path),
          });
        } else {
          at(path, `import a value as Fn::ImportValue: !Sub '${EXPORT_PREFIX}<export>'`);
        }
      }
      for (const [key, value] of Object.entries(node)) visit(value, [...path, key]);
    }
  };
  visit(template['Resources'], ['Resources']);

  return { problems, summary: { file, parameters, resources, outputs, imports } };
}

/**
 * Checks `addons.parameters.yml` against the templates of its directory:
 * every value names a parameter some template declares, and every extra
 * parameter without a default gets a value.
 */
export function validateAddonParameters(
  file: string,
  text: string | undefined,
  templates: readonly AddonSummary[],
  kind: AddonKind,
): { problems: Problem[]; values: ReadonlyMap<string, unknown> } {
  const problems: Problem[] = [];
  const values = new Map<string, unknown>();
  if (text !== undefined) {
    const { doc, counter } = parseCfnYaml(text);
    problems.push(...yamlProblems(file, doc, counter));
    const parsed = doc.toJS() as unknown;
    const given = isObject(parsed) ? parsed['Parameters'] : undefined;
    if (problems.length === 0 && !isObject(given)) {
      problems.push({ file, line: 1, path: '', message: "expected a 'Parameters' mapping" });
    }
    for (const [name, value] of Object.entries(isObject(given) ? given : {})) {
      values.set(name, value);
      if (!templates.some((t) => t.parameters.has(name))) {
        problems.push({
          file,
          line: lineOf(doc, counter, ['Parameters', name]),
          path: `Parameters.${name}`,
          message: `no addon template in this directory declares parameter '${name}'`,
        });
      }
    }
  }
  for (const template of templates) {
    for (const [name, { hasDefault, line }] of template.parameters) {
      if (COPILOT_ADDON_PARAMETERS[kind].includes(name) || hasDefault || values.has(name)) continue;
      problems.push({
        file: template.file,
        line,
        path: `Parameters.${name}`,
        message: `parameter '${name}' has no Default and no value in addons.parameters.yml`,
      });
    }
  }
  return { problems, values };
}
