import { LineCounter, parseDocument, YAMLMap } from 'yaml';
import type { Document, ParsedNode, Tags } from 'yaml';

/**
 * CloudFormation's short-form intrinsic functions (`!Ref`, `!Sub`, ...) as
 * YAML tags, resolved to their long form (`{ Ref: ... }`, `{ 'Fn::Sub': ... }`)
 * so a template reads as the JSON CloudFormation sees.
 */
const FUNCTIONS = [
  'Base64',
  'Cidr',
  'Condition',
  'Equals',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'And',
  'Not',
  'Or',
  'Ref',
  'Select',
  'Split',
  'Sub',
] as const;

const longName = (fn: string) => (fn === 'Ref' || fn === 'Condition' ? fn : `Fn::${fn}`);

const wrap = (fn: string, node: unknown) => {
  const map = new YAMLMap();
  map.set(longName(fn), node);
  return map;
};

export const CFN_TAGS: Tags = FUNCTIONS.flatMap((fn) => [
  {
    tag: `!${fn}`,
    resolve: (value: string) => ({
      [longName(fn)]: fn === 'GetAtt' ? value.split('.') : value,
    }),
  },
  { tag: `!${fn}`, collection: 'seq' as const, resolve: (node: unknown) => wrap(fn, node) },
  { tag: `!${fn}`, collection: 'map' as const, resolve: (node: unknown) => wrap(fn, node) },
]);

/** A parsed CloudFormation YAML file with the positions of its nodes. */
export interface CfnDocument {
  readonly doc: Document.Parsed<ParsedNode>;
  readonly counter: LineCounter;
}

export function parseCfnYaml(text: string): CfnDocument {
  const counter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: counter,
    prettyErrors: false,
    customTags: CFN_TAGS,
  });
  return { doc, counter };
}
