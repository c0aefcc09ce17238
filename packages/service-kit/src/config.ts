import { Compile } from 'typebox/compile';
import type { Static, TObject } from 'typebox';

/**
 * Parses the environment against a TypeBox schema at boot. Values are
 * converted (numbers, booleans) and defaults applied; the first problem
 * stops the process with the variable's name and what was expected.
 * The returned type is derived from the schema.
 */
export function parseEnv<S extends TObject>(
  schema: S,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Static<S> {
  const validator = Compile(schema);
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const converted = validator.Default(validator.Convert(picked));
  if (validator.Check(converted)) return converted;
  const error = validator.Errors(converted)[0];
  let variable = error?.instancePath.replace(/^\//, '') ?? '';
  if (error?.keyword === 'required') {
    variable =
      (error.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? variable;
    throw new Error(`${variable} is required${describe(schema, variable)}`);
  }
  const got = picked[variable];
  throw new Error(
    `${variable} ${error?.message ?? 'is invalid'}${describe(schema, variable)}; got '${String(got)}'`,
  );
}

function describe(schema: TObject, variable: string): string {
  const property: unknown = schema.properties[variable];
  const description = (property as { description?: unknown } | undefined)?.description;
  return typeof description === 'string' ? ` (${description})` : '';
}
