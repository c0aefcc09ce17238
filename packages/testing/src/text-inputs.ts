import { Client, credentials, status } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { formatFieldPath } from '@comms/contracts';

/**
 * Finds every text input of an interface from its own description (a JSON
 * Schema, an OpenAPI document, proto descriptors), so a table-driven test
 * of "every text field" cannot forget a field that is added later.
 */

/** Text PostgreSQL cannot store, one sample of each kind: every text input must refuse both. */
export const UNSTORABLE_TEXT = { NUL: 'a\u0000b', 'lone surrogate': 'a\ud800b' } as const;

/** Property names and array indexes (an array's items are reached at index 0). */
export type FieldPath = readonly (string | number)[];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The paths of every string a JSON Schema describes (TypeBox types are JSON
 * Schemas): through `properties`, `items` and `anyOf`/`oneOf`/`allOf`.
 */
export function stringFields(schema: unknown, path: FieldPath = []): FieldPath[] {
  if (!isObject(schema)) return [];
  const found: FieldPath[] = [];
  const types = Array.isArray(schema['type']) ? (schema['type'] as unknown[]) : [schema['type']];
  if (types.includes('string')) found.push(path);
  if (isObject(schema['properties']))
    for (const [key, property] of Object.entries(schema['properties']))
      found.push(...stringFields(property, [...path, key]));
  if (schema['items'] !== undefined) found.push(...stringFields(schema['items'], [...path, 0]));
  for (const keyword of ['anyOf', 'oneOf', 'allOf'])
    if (Array.isArray(schema[keyword]))
      for (const branch of schema[keyword] as unknown[]) found.push(...stringFields(branch, path));
  const seen = new Set<string>();
  return found.filter((p) => {
    const key = JSON.stringify(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Where a request carries text: the part as fastify names it, and the path inside it. */
export interface RestTextInput {
  /** `POST /users/{id}/deactivate`, as the OpenAPI document names the operation. */
  readonly operation: string;
  readonly part: 'params' | 'querystring' | 'headers' | 'body';
  readonly path: FieldPath;
}

const PART = { path: 'params', query: 'querystring', header: 'headers' } as const;

/** Every operation of an OpenAPI 3 document and every text input of each. */
export function restTextInputs(document: unknown): {
  operations: string[];
  inputs: RestTextInput[];
} {
  const operations: string[] = [];
  const inputs: RestTextInput[] = [];
  const paths = isObject(document) && isObject(document['paths']) ? document['paths'] : {};
  for (const [route, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation)) continue;
      const name = `${method.toUpperCase()} ${route}`;
      operations.push(name);
      for (const parameter of (operation['parameters'] as unknown[] | undefined) ?? []) {
        if (!isObject(parameter)) continue;
        const part = PART[parameter['in'] as keyof typeof PART] as
          RestTextInput['part'] | undefined;
        if (part === undefined) continue;
        const key = String(parameter['name']);
        for (const path of stringFields(parameter['schema'], [
          part === 'headers' ? key.toLowerCase() : key,
        ]))
          inputs.push({ operation: name, part, path });
      }
      const body = (operation['requestBody'] as Json | undefined)?.['content'] as Json | undefined;
      const schema = (body?.['application/json'] as Json | undefined)?.['schema'];
      for (const path of stringFields(schema)) inputs.push({ operation: name, part: 'body', path });
    }
  }
  return { operations, inputs };
}

/** The part of a proto-loader package definition these helpers read. */
type PackageDefinition = Record<string, unknown>;
interface FieldDescriptor {
  readonly name: string;
  readonly type: string;
  readonly typeName: string;
}

/** Every text field of a protobuf message, by proto field name, through nested messages. */
function protoStringFields(
  definitions: PackageDefinition,
  messageName: string,
  path: FieldPath,
  depth = 0,
): FieldPath[] {
  const message = definitions[messageName] as { type?: { field?: FieldDescriptor[] } } | undefined;
  if (message?.type?.field === undefined || depth > 8) return [];
  const pkg = messageName.replace(/\.[^.]+$/, '');
  const found: FieldPath[] = [];
  for (const field of message.type.field) {
    const at = [...path, field.name];
    if ((field as { label?: string }).label === 'LABEL_REPEATED') at.push(0);
    if (field.type === 'TYPE_STRING') found.push(at);
    if (field.type === 'TYPE_MESSAGE') {
      const nested = field.typeName.startsWith('.')
        ? field.typeName.slice(1)
        : `${pkg}.${field.typeName}`;
      found.push(...protoStringFields(definitions, nested, at, depth + 1));
    }
  }
  return found;
}

/**
 * Every method of a gRPC service and every text field of each request,
 * from a package definition of @grpc/proto-loader (`loadFileDescriptorSetFromBuffer`).
 */
export function grpcTextInputs(
  definitions: PackageDefinition,
  service: string,
): { methods: string[]; inputs: { method: string; path: FieldPath }[] } {
  const methods = Object.entries(
    (definitions[service] ?? {}) as Record<string, { requestType?: { type?: { name?: string } } }>,
  );
  const pkg = service.replace(/\.[^.]+$/, '');
  return {
    methods: methods.map(([name]) => name),
    inputs: methods.flatMap(([method, definition]) =>
      protoStringFields(definitions, `${pkg}.${definition.requestType?.type?.name ?? ''}`, []).map(
        (path) => ({ method, path }),
      ),
    ),
  };
}

/** A deep copy of `value` with `replacement` at `path`, creating what is missing on the way. */
export function withValueAt<T>(value: T, path: FieldPath, replacement: unknown): T {
  const copy = structuredClone(value) as unknown;
  if (path.length === 0) return replacement as T;
  let node = copy as Record<string | number, unknown>;
  path.forEach((part, i) => {
    if (i === path.length - 1) {
      node[part] = replacement;
      return;
    }
    const next = path[i + 1];
    node[part] ??= typeof next === 'number' ? [] : {};
    node = node[part] as Record<string | number, unknown>;
  });
  return copy as T;
}

/**
 * Three bytes of UTF-8 that a test puts where a lone surrogate should go,
 * then swaps for {@link asLoneSurrogate}'s ED A0 80 in the encoded message:
 * no encoder writes a lone surrogate (protobuf and Node write U+FFFD), but a
 * client in another language can send those bytes.
 */
export const SURROGATE_MARKER = '\u0001\u0002\u0003';

/** The bytes with every {@link SURROGATE_MARKER} replaced by ED A0 80 (U+D800 written as if UTF-8). */
export function asLoneSurrogate(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  const marker = Buffer.from(SURROGATE_MARKER);
  for (let at = out.indexOf(marker); at >= 0; at = out.indexOf(marker, at + 3))
    out.set([0xed, 0xa0, 0x80], at);
  return out;
}

/** Status of one unary gRPC call made with raw request bytes through a real grpc-js client. */
export function callWithBytes(
  address: string,
  path: string,
  bytes: Buffer,
): Promise<{ code: number; details: string }> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (request: Buffer) => request,
      (response: Buffer) => response,
      bytes,
      (error) => {
        client.close();
        resolve({ code: error?.code ?? 0, details: error?.details ?? '' });
      },
    );
  });
}

/** A request an operation accepts, by part; a test puts bad text into one field at a time. */
export interface RestRequestParts {
  readonly params?: Record<string, string>;
  readonly querystring?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

/** Percent-encodes text for a URL; a lone U+D800 as the bytes another client would send (ED A0 80). */
export function encodeUrlText(text: string): string {
  return text
    .split('\ud800')
    .map((part) => encodeURIComponent(part))
    .join('%ED%A0%80');
}

/** `app.inject` options for an OpenAPI operation (`POST /orders/{id}/pay`) and its parts. */
export function restRequest(operation: string, parts: RestRequestParts) {
  const [method = 'GET', route = ''] = operation.split(' ');
  const url = route.replace(/\{(\w+)\}/g, (_m, name: string) =>
    encodeUrlText(parts.params?.[name] ?? ''),
  );
  const query = Object.entries(parts.querystring ?? {})
    .map(([key, value]) => `${key}=${encodeUrlText(value)}`)
    .join('&');
  return {
    method: method as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: query === '' ? url : `${url}?${query}`,
    headers: {
      ...parts.headers,
      ...(parts.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(parts.body === undefined ? {} : { payload: JSON.stringify(parts.body) }),
  };
}

/** `['items', 0, 'product_id']` -> `['items', 0, 'productId']`: proto names as generated code spells them. */
export function camelPath(path: FieldPath): FieldPath {
  return path.map((part) =>
    typeof part === 'string' ? part.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase()) : part,
  );
}

/** The method of a generated grpc-js service definition whose path ends in `/Method`. */
export function methodOf<D extends Record<string, { path: string }>>(
  definition: D,
  method: string,
): D[keyof D] {
  const found = Object.values(definition).find((d) => d.path.endsWith(`/${method}`));
  if (found === undefined) throw new Error(`the service has no method ${method}`);
  return found as D[keyof D];
}

/** What the shared runners need of a fastify instance: `inject` and `close`. */
export interface InjectableApp {
  inject(request: ReturnType<typeof restRequest>): Promise<{
    statusCode: number;
    headers: Record<string, unknown>;
    json<T = unknown>(): T;
  }>;
  close(): Promise<unknown>;
}

/**
 * A service's OpenAPI document, from an app built without a database or a
 * broker (the document needs the routes only); the app is closed after.
 */
export async function openApiDocument(build: () => Promise<InjectableApp>): Promise<unknown> {
  const built = await build();
  const document: unknown = (
    await built.inject({ method: 'GET', url: '/docs/json', headers: {} })
  ).json();
  await built.close();
  return document;
}

/**
 * Declares the REST half of a service's text-input tests: every operation
 * of `openApi` has a baseline request, `expected` inputs are among those
 * found (`POST /users body.name`), and every text input refuses each kind of
 * {@link UNSTORABLE_TEXT} with a 400 problem document (INVALID_ARGUMENT)
 * that names the field and says what is wrong with it.
 */
export function describeRestTextInputs(options: {
  readonly openApi: unknown;
  /** A request per operation that the service accepts; a function, so it can use ids made in beforeAll. */
  readonly baselines: () => Record<string, RestRequestParts>;
  readonly expected: readonly string[];
  /** The running service's app. */
  readonly app: () => InjectableApp;
}): void {
  describe('REST text inputs', () => {
    const { operations, inputs } = restTextInputs(options.openApi);

    it('has a baseline for every operation and finds text inputs', () => {
      expect(Object.keys(options.baselines()).sort()).toEqual([...operations].sort());
      expect(inputs.map((i) => `${i.operation} ${formatFieldPath(i.part, i.path)}`)).toEqual(
        expect.arrayContaining([...options.expected]),
      );
    });

    const cases = inputs.flatMap((input) =>
      Object.entries(UNSTORABLE_TEXT).map(([kind, text]) => ({ ...input, kind, text })),
    );
    it.each(cases)(
      '$operation refuses $kind in $part $path',
      async ({ operation, part, path, kind, text }) => {
        const baseline = options.baselines()[operation] ?? {};
        const broken = { ...baseline, [part]: withValueAt(baseline[part] ?? {}, path, text) };
        const response = await options.app().inject(restRequest(operation, broken));
        expect(response.statusCode).toBe(400);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        const problem = response.json<{
          code: string;
          detail: string;
          errors?: { field: string; message: string }[];
        }>();
        expect(problem.code).toBe('INVALID_ARGUMENT');
        const inUrl = part === 'params' || part === 'querystring';
        if (part === 'params' && kind === 'lone surrogate') {
          // ED A0 80 in the path is not a URL fastify can route: a 400 for the whole URL.
          expect(problem.detail).toMatch(/not a valid url/);
          return;
        }
        expect(problem.errors?.[0]?.field).toBe(formatFieldPath(part, path));
        expect(problem.errors?.[0]?.message).toMatch(
          inUrl && kind === 'lone surrogate'
            ? /percent-encoded UTF-8/
            : kind === 'NUL'
              ? /NUL \(U\+0000\)/
              : /unpaired surrogate/,
        );
      },
    );
  });
}

/**
 * Declares the gRPC half of a service's text-input tests: every RPC of
 * `serviceName` (found in the proto descriptors) has a baseline request,
 * `expected` fields are among those found (`CreateUser name`), and every
 * text field refuses NUL (INVALID_ARGUMENT naming the field) and a lone
 * surrogate (INVALID_ARGUMENT: not valid UTF-8), sent as raw bytes.
 */
export function describeGrpcTextInputs(options: {
  /** The service's proto descriptors, base64 (`descriptorSetBase64` of @comms/contracts/grpc). */
  readonly descriptorSetBase64: string;
  readonly serviceName: string;
  /** The generated service definition, for each method's path and serializer. */
  readonly definition: Record<string, { path: string; requestSerialize(value: never): Buffer }>;
  readonly baselines: () => Record<string, Record<string, unknown>>;
  readonly expected: readonly string[];
  /** The running service's gRPC `host:port`. */
  readonly address: () => string;
}): void {
  describe('gRPC text inputs', () => {
    const definitions = loadFileDescriptorSetFromBuffer(
      Buffer.from(options.descriptorSetBase64, 'base64'),
    );
    const { methods, inputs } = grpcTextInputs(definitions, options.serviceName);

    it('has a baseline for every RPC and finds text fields', () => {
      expect(Object.keys(options.baselines()).sort()).toEqual([...methods].sort());
      expect(inputs.map((i) => `${i.method} ${formatFieldPath('', i.path)}`)).toEqual(
        expect.arrayContaining([...options.expected]),
      );
    });

    it.each(inputs)('$method refuses NUL in $path, naming it', async ({ method, path }) => {
      const definition = methodOf(options.definition, method);
      const request = withValueAt(
        options.baselines()[method],
        camelPath(path),
        UNSTORABLE_TEXT.NUL,
      );
      const bytes = definition.requestSerialize(request as never);
      const answer = await callWithBytes(options.address(), definition.path, bytes);
      expect(answer.code).toBe(status.INVALID_ARGUMENT);
      expect(answer.details).toContain(
        `${formatFieldPath('', path)} must not contain NUL (U+0000)`,
      );
    });

    it.each(inputs)('$method refuses a lone surrogate in $path', async ({ method, path }) => {
      const definition = methodOf(options.definition, method);
      const request = withValueAt(
        options.baselines()[method],
        camelPath(path),
        `a${SURROGATE_MARKER}`,
      );
      const bytes = asLoneSurrogate(definition.requestSerialize(request as never));
      const answer = await callWithBytes(options.address(), definition.path, bytes);
      expect(answer.code).toBe(status.INVALID_ARGUMENT);
      expect(answer.details).toMatch(/not valid UTF-8/);
    });
  });
}
