/**
 * The event compatibility check, as `buf breaking` is for proto: a published
 * event version may change only in ways every consumer, old or new, keeps
 * accepting. Consumers on the old schema must accept what producers on the
 * new one publish (no loosening), and consumers on the new schema must accept
 * every event already in the topic (no tightening). What is left: adding an
 * optional field (objects allow unknown fields) and editing annotations.
 * Anything else is a new version, published beside the old one.
 *
 * The schemas compared are the JSON Schemas the code validates with (TypeBox
 * builds them), so the check sees exactly what a consumer checks.
 */

/** A JSON Schema as plain JSON. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** One change that would break a consumer. */
export interface BreakingChange {
  /** The event type and version, such as `order.created.v1`, or `envelope`. */
  readonly event: string;
  /** Where in the event, such as `data.items[].price`; empty for the event as a whole. */
  readonly path: string;
  /** What changed, such as `maxLength tightened from 200 to 100`. */
  readonly change: string;
}

/** What the baseline keeps of one published event version. */
export interface BaselineEvent {
  readonly topic: string;
  readonly data: JsonSchema;
  /** A valid event of this version, as it was first published; consumer tests replay it. */
  readonly example: unknown;
}

/** packages/contracts/baseline/events.json. */
export interface EventBaseline {
  readonly envelope: JsonSchema;
  readonly events: Readonly<Record<string, BaselineEvent>>;
}

/** Keywords that only describe; changing them changes no event's validity. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'examples',
  'default',
  '$comment',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$id',
  '$schema',
]);

/** Lower bounds: a larger value is a tightening. */
const LOWER_BOUNDS = new Set([
  'minLength',
  'minItems',
  'minProperties',
  'minimum',
  'exclusiveMinimum',
]);
/** Upper bounds: a smaller value is a tightening. */
const UPPER_BOUNDS = new Set([
  'maxLength',
  'maxItems',
  'maxProperties',
  'maximum',
  'exclusiveMaximum',
]);
/** Keywords whose subschemas are compared, not their values. */
const STRUCTURAL = new Set(['properties', 'required', 'items', 'type', 'enum', 'const', 'anyOf']);

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value);
}

function join(path: string, property: string): string {
  return path === '' ? property : `${path}.${property}`;
}

/** The values a schema allows when it is an enumeration (`enum`, `const`, or `anyOf` of `const`s). */
function enumeration(schema: JsonSchema): unknown[] | undefined {
  if (Array.isArray(schema['enum'])) return schema['enum'] as unknown[];
  if ('const' in schema) return [schema['const']];
  const anyOf = schema['anyOf'];
  if (Array.isArray(anyOf) && anyOf.every((s) => isObject(s) && 'const' in s))
    return anyOf.map((s) => (s as JsonSchema)['const']);
  return undefined;
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value))
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/**
 * The breaking changes from `before` (published) to `after` (the catalog
 * now), for the schemas TypeBox writes: objects, arrays, strings, numbers,
 * literals and unions of literals. A keyword it does not understand must
 * stay exactly as it was.
 */
export function compareSchemas(
  before: JsonSchema,
  after: JsonSchema,
  path = '',
): { path: string; change: string }[] {
  const changes: { path: string; change: string }[] = [];
  const add = (at: string, change: string) => changes.push({ path: at, change });

  const oldValues = enumeration(before);
  const newValues = enumeration(after);
  if (oldValues !== undefined && newValues !== undefined) {
    // The values say it all (a literal's `type` is implied by its value).
    const dropped = oldValues.filter((v) => !newValues.some((n) => sameJson(n, v)));
    const added = newValues.filter((v) => !oldValues.some((o) => sameJson(o, v)));
    if (dropped.length > 0) add(path, `enum narrowed: ${dropped.map(show).join(', ')} removed`);
    if (added.length > 0)
      add(
        path,
        `enum widened: ${added.map(show).join(', ')} added, which consumers of the published version refuse`,
      );
    return changes;
  }
  if (!sameJson(before['type'], after['type'])) {
    add(path, `type changed from ${show(before['type'])} to ${show(after['type'])}`);
    return changes;
  }
  if (oldValues !== undefined || newValues !== undefined) {
    add(path, newValues === undefined ? 'no longer an enumeration' : 'became an enumeration');
    return changes;
  }
  if (!sameJson(before['anyOf'], after['anyOf'])) add(path, 'the alternatives (anyOf) changed');

  const keywords = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const keyword of [...keywords].sort()) {
    if (ANNOTATIONS.has(keyword) || STRUCTURAL.has(keyword)) continue;
    const was = before[keyword];
    const now = after[keyword];
    if (sameJson(was, now)) continue;
    if (LOWER_BOUNDS.has(keyword) || UPPER_BOUNDS.has(keyword)) {
      const lower = LOWER_BOUNDS.has(keyword);
      if (was === undefined) add(path, `${keyword} ${show(now)} added (a constraint tightened)`);
      else if (now === undefined)
        add(path, `${keyword} ${show(was)} removed (a constraint loosened)`);
      else {
        const tighter = lower ? Number(now) > Number(was) : Number(now) < Number(was);
        add(
          path,
          `${keyword} ${tighter ? 'tightened' : 'loosened'} from ${show(was)} to ${show(now)}`,
        );
      }
    } else if (was === undefined) {
      add(path, `${keyword} ${show(now)} added (a constraint tightened)`);
    } else if (now === undefined) {
      add(path, `${keyword} ${show(was)} removed (a constraint loosened)`);
    } else {
      add(path, `${keyword} changed from ${show(was)} to ${show(now)}`);
    }
  }

  if (isObject(before['items']) && isObject(after['items'])) {
    changes.push(...compareSchemas(before['items'], after['items'], `${path}[]`));
  } else if (!sameJson(before['items'], after['items'])) {
    add(path, 'the schema of its items changed');
  }

  const oldProps = isObject(before['properties']) ? before['properties'] : {};
  const newProps = isObject(after['properties']) ? after['properties'] : {};
  const oldRequired = new Set((before['required'] as string[] | undefined) ?? []);
  const newRequired = new Set((after['required'] as string[] | undefined) ?? []);
  for (const name of Object.keys(oldProps).sort()) {
    const at = join(path, name);
    const was = oldProps[name];
    const now = newProps[name];
    if (now === undefined) {
      add(at, 'field removed (or renamed)');
      continue;
    }
    if (!oldRequired.has(name) && newRequired.has(name)) add(at, 'optional field made required');
    if (oldRequired.has(name) && !newRequired.has(name))
      add(at, 'required field made optional, and consumers of the published version rely on it');
    if (isObject(was) && isObject(now)) changes.push(...compareSchemas(was, now, at));
  }
  for (const name of Object.keys(newProps).sort()) {
    if (name in oldProps) continue;
    if (newRequired.has(name))
      add(join(path, name), 'required field added: events already published lack it');
  }
  return changes;
}

/** The message a breaking change is refused with: what changed, and what to do instead. */
export function describeBreakingChange(change: BreakingChange): string {
  const where = change.path === '' ? change.event : `${change.event} ${change.path}`;
  if (change.event === 'envelope')
    return `${where}: ${change.change}. The CloudEvents envelope is shared by every published version: keep it as it is.`;
  const next = change.event.replace(/\.v(\d+)$/, (_m, n: string) => `.v${Number(n) + 1}`);
  return (
    `${where}: ${change.change}. ${change.event} is published, and consumers accept every version ever published: ` +
    `leave it as it is and add the change as a new version, ${next}, beside it ` +
    `(EVENT_CATALOG, a fixture under fixtures/events/, then \`npx turbo run events:baseline --filter=@comms/contracts\`).`
  );
}

/**
 * Every breaking change of the catalog against the baseline: published
 * versions missing from the catalog, moved to another topic, or whose data
 * schema changed in a way a consumer would notice; and an envelope change.
 * Versions in the catalog but not in the baseline are not changes; they
 * are reported by {@link unbaselinedVersions}.
 */
export function breakingChanges(
  baseline: EventBaseline,
  current: {
    readonly envelope: JsonSchema;
    readonly events: Readonly<
      Record<string, { readonly topic: string; readonly data: JsonSchema }>
    >;
  },
): BreakingChange[] {
  const found: BreakingChange[] = [];
  for (const change of compareSchemas(baseline.envelope, current.envelope))
    found.push({ event: 'envelope', ...change });
  for (const [event, published] of Object.entries(baseline.events).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const now = current.events[event];
    if (now === undefined) {
      found.push({
        event,
        path: '',
        change:
          'removed from EVENT_CATALOG, but events of it are in the topics and consumers must still read them',
      });
      continue;
    }
    if (now.topic !== published.topic)
      found.push({
        event,
        path: '',
        change: `moved from topic ${published.topic} to ${now.topic}`,
      });
    for (const change of compareSchemas(published.data, now.data, 'data'))
      found.push({ event, ...change });
  }
  return found;
}

/** Event versions of the catalog that the baseline does not record yet. */
export function unbaselinedVersions(
  baseline: EventBaseline,
  catalog: Readonly<Record<string, unknown>>,
): string[] {
  return Object.keys(catalog)
    .filter((type) => !Object.hasOwn(baseline.events, type))
    .sort();
}
