import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Compile } from 'typebox/compile';
import type { Validator } from 'typebox/compile';
import { isMap, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { isServiceName, SERVICES } from '@comms/endpoints';
import { parseTaskCount } from './count.js';
import { MANIFEST_SCHEMAS } from './schemas.js';

/** One thing wrong with a manifest, with the line to look at. */
export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly path: string;
  readonly message: string;
}

/** `file:line: path: message`, the way editors and CI logs link to a place. */
export function formatProblem(problem: Problem): string {
  return `${problem.file}:${problem.line}: ${problem.path === '' ? '' : `${problem.path}: `}${problem.message}`;
}

const validators: Record<string, Validator> = Object.fromEntries(
  Object.entries(MANIFEST_SCHEMAS).map(([type, schema]) => [type, Compile(schema)]),
);

/** The YAML syntax errors of a parsed document, each at its line. */
export function yamlProblems(file: string, doc: Document, counter: LineCounter): Problem[] {
  return doc.errors.map((error) => ({
    file,
    line: counter.linePos(error.pos[0]).line,
    path: '',
    message: `YAML: ${error.message.split('\n')[0] ?? ''}`,
  }));
}

/** The line of the deepest node of `path` that exists (a key points at itself). */
export function lineOf(doc: Document, counter: LineCounter, path: string[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as
      { range?: [number, number, number] } | undefined;
    const keyNode = depth > 0 ? findKey(doc, path.slice(0, depth)) : undefined;
    const offset = keyNode ?? node?.range?.[0];
    if (offset !== undefined) return counter.linePos(offset).line;
  }
  return 1;
}

/** The offset of the key of a map entry, so an unknown key points at itself. */
function findKey(doc: Document, path: string[]): number | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find(
    (item) => String((item.key as { value?: unknown } | null)?.value) === path.at(-1),
  );
  return (pair?.key as { range?: [number, number, number] } | null)?.range?.[0];
}

/**
 * Checks one Copilot manifest strictly: the fields and types of its manifest
 * type, unknown keys, the shape of `network.connect` and its alias, and, for
 * services of the system, the name, the port of the endpoints table and a
 * Dockerfile that exists. `root` is the repository root.
 */
export function validateManifest(
  file: string,
  text: string,
  root: string,
  options: { readonly exports?: ReadonlySet<string> } = {},
): Problem[] {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const problems: Problem[] = [];
  const at = (path: string[], message: string) =>
    problems.push({ file, line: lineOf(doc, counter, path), path: path.join('.'), message });

  problems.push(...yamlProblems(file, doc, counter));
  if (problems.length > 0) return problems;

  const manifest = doc.toJS() as Record<string, unknown> | null;
  const type = manifest?.['type'];
  const validator = typeof type === 'string' ? validators[type] : undefined;
  if (manifest === null || validator === undefined) {
    at(
      ['type'],
      `unknown manifest type ${JSON.stringify(type)}; expected one of ${Object.keys(validators).join(', ')}`,
    );
    return problems;
  }
  for (const error of validator.Errors(manifest)) {
    const path = error.instancePath.split('/').filter((p) => p !== '');
    const params = error.params as {
      additionalProperties?: string[];
      requiredProperties?: string[];
    };
    if (error.keyword === 'additionalProperties' && params.additionalProperties !== undefined) {
      for (const key of params.additionalProperties)
        at([...path, key], `unknown key '${key}' (Copilot would ignore it silently)`);
    } else if (error.keyword === 'required' && params.requiredProperties !== undefined) {
      for (const key of params.requiredProperties) at(path, `missing required field '${key}'`);
    } else if (error.message === 'schema is false') {
      // The same unknown key, reported again by the schema behind additionalProperties.
      continue;
    } else if (error.keyword !== 'anyOf' || problems.length === 0) {
      at(path, error.message);
    }
  }

  if (options.exports !== undefined) {
    for (const { path, name } of fromCfnReferences(manifest)) {
      if (!name.startsWith(COPILOT_EXPORT_PREFIX)) {
        at(path, `from_cfn must name an export '${COPILOT_EXPORT_PREFIX}<name>'`);
      } else if (!options.exports.has(name.slice(COPILOT_EXPORT_PREFIX.length))) {
        at(
          path,
          `no environment addon exports '${name.slice(COPILOT_EXPORT_PREFIX.length)}' (copilot/environments/addons/)`,
        );
      }
    }
  }

  if (type !== 'Environment') {
    // A range the schema lets through but auto scaling cannot use.
    const environments = manifest['environments'];
    const counts: [string[], unknown][] = [[['count'], manifest['count']]];
    if (typeof environments === 'object' && environments !== null) {
      for (const [env, override] of Object.entries(environments)) {
        counts.push([
          ['environments', env, 'count'],
          (override as { count?: unknown } | null)?.count,
        ]);
      }
    }
    for (const [path, count] of counts) {
      const range = typeof count === 'object' && count !== null ? parseTaskCount(count) : undefined;
      if (range !== undefined && range.min > range.max) {
        at(
          [...path, 'range'],
          `the minimum ${range.min} is above the maximum ${range.max}; write min-max`,
        );
      }
    }

    const name = manifest['name'];
    const image = manifest['image'] as
      { port?: unknown; build?: { dockerfile?: string; context?: string } } | undefined;
    if (typeof name === 'string' && isServiceName(name)) {
      const expected = SERVICES[name].http;
      if (image?.port !== expected)
        at(
          ['image', 'port'],
          `${name} listens on ${expected} (packages/endpoints), not ${String(image?.port)}`,
        );
    } else {
      at(['name'], `'${String(name)}' is not a service of packages/endpoints`);
    }
    const build = image?.build;
    if (
      typeof build === 'object' &&
      typeof build.dockerfile === 'string' &&
      !existsSync(join(root, build.context ?? '.', build.dockerfile))
    ) {
      at(['image', 'build', 'dockerfile'], `${build.dockerfile} does not exist`);
    }
  }
  return problems;
}

/** How a manifest names an export of its environment in `from_cfn`. */
export const COPILOT_EXPORT_PREFIX = '${COPILOT_APPLICATION_NAME}-${COPILOT_ENVIRONMENT_NAME}-';

/** Every `from_cfn` of a manifest's variables and secrets, with its path. */
export function fromCfnReferences(
  manifest: Record<string, unknown>,
): { path: string[]; name: string }[] {
  const found: { path: string[]; name: string }[] = [];
  const scan = (block: unknown, path: string[]) => {
    if (typeof block !== 'object' || block === null) return;
    for (const [key, value] of Object.entries(block)) {
      const fromCfn = (value as { from_cfn?: unknown } | null)?.from_cfn;
      if (typeof fromCfn === 'string')
        found.push({ path: [...path, key, 'from_cfn'], name: fromCfn });
    }
  };
  scan(manifest['variables'], ['variables']);
  scan(manifest['secrets'], ['secrets']);
  const environments = manifest['environments'];
  if (typeof environments === 'object' && environments !== null) {
    for (const [env, override] of Object.entries(environments)) {
      const o = override as Record<string, unknown> | null;
      scan(o?.['variables'], ['environments', env, 'variables']);
      scan(o?.['secrets'], ['environments', env, 'secrets']);
    }
  }
  return found;
}
