import { status as Status } from '@grpc/grpc-js';
import type { Server, ServerDuplexStream, ServiceDefinition } from '@grpc/grpc-js';
import { create, createFileRegistry, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, Message } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { DescriptorProto, FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { standardDescriptorSetBase64 } from './gen/descriptors.js';

/** The reflection services a server offers; grpcurl asks v1 first, older tools v1alpha. */
const REFLECTION_SERVICES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
] as const;

/** The standard services whose descriptors service-kit carries itself. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/**
 * The files of a descriptor set, indexed by name and by every symbol they
 * define: packages' messages (nested ones too), enums and their values,
 * services and their methods, fields and extensions. The bytes kept per
 * file are those the compiler wrote, so a client decodes exactly what
 * protoc would have given it.
 */
interface DescriptorIndex {
  readonly files: ReadonlyMap<string, { proto: FileDescriptorProto; bytes: Uint8Array }>;
  readonly symbols: ReadonlyMap<string, string>;
  /** Message full name -> extension numbers declared for it, in any file. */
  readonly extensions: ReadonlyMap<string, ReadonlyMap<number, string>>;
}

function indexDescriptorSets(sets: readonly Uint8Array[]): DescriptorIndex {
  const files = new Map<string, { proto: FileDescriptorProto; bytes: Uint8Array }>();
  const symbols = new Map<string, string>();
  const extensions = new Map<string, Map<number, string>>();
  const strip = (name: string) => name.replace(/^\./, '');

  for (const set of sets) {
    for (const proto of fromBinary(FileDescriptorSetSchema, set).file) {
      if (files.has(proto.name)) continue;
      files.set(proto.name, { proto, bytes: toBinary(FileDescriptorProtoSchema, proto) });
      const scope = proto.package === '' ? '' : `${proto.package}.`;
      const define = (name: string) => {
        if (!symbols.has(name)) symbols.set(name, proto.name);
      };
      const addExtension = (extendee: string, number: number) => {
        const byNumber = extensions.get(strip(extendee)) ?? new Map<number, string>();
        byNumber.set(number, proto.name);
        extensions.set(strip(extendee), byNumber);
      };
      // Enum values are scoped like their enum's siblings, not inside the enum.
      const defineEnums = (prefix: string, enums: FileDescriptorProto['enumType']) => {
        for (const e of enums) {
          define(`${prefix}${e.name}`);
          for (const value of e.value) define(`${prefix}${value.name}`);
        }
      };
      const defineMessage = (prefix: string, message: DescriptorProto) => {
        const name = `${prefix}${message.name}`;
        define(name);
        for (const field of message.field) define(`${name}.${field.name}`);
        for (const oneof of message.oneofDecl) define(`${name}.${oneof.name}`);
        for (const ext of message.extension) {
          define(`${name}.${ext.name}`);
          addExtension(ext.extendee, ext.number);
        }
        defineEnums(`${name}.`, message.enumType);
        for (const nested of message.nestedType) defineMessage(`${name}.`, nested);
      };
      for (const message of proto.messageType) defineMessage(scope, message);
      defineEnums(scope, proto.enumType);
      for (const service of proto.service) {
        define(`${scope}${service.name}`);
        for (const method of service.method) define(`${scope}${service.name}.${method.name}`);
      }
      for (const ext of proto.extension) {
        define(`${scope}${ext.name}`);
        addExtension(ext.extendee, ext.number);
      }
    }
  }
  for (const { proto } of files.values())
    for (const dependency of proto.dependency)
      if (!files.has(dependency))
        throw new Error(
          `the descriptor set has ${proto.name} but not its import ${dependency}; build it with its imports (buf build --as-file-descriptor-set)`,
        );
  return { files, symbols, extensions };
}

/** A file and everything it imports, transitively, the file itself first. */
function withDependencies(index: DescriptorIndex, name: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const entry = index.files.get(file);
    if (entry === undefined) return;
    out.push(entry.bytes);
    for (const dependency of entry.proto.dependency) visit(dependency);
  };
  visit(name);
  return out;
}

type Json = Record<string, unknown>;
type Reply = { case: string; value: Json };

/** Answers one reflection request; an unknown name is NOT_FOUND, as grpc-go answers it. */
function answer(
  index: DescriptorIndex,
  services: readonly string[],
  request: { case: string | undefined; value?: unknown },
): Reply {
  const notFound = (what: string): Reply => ({
    case: 'errorResponse',
    value: { errorCode: Status.NOT_FOUND, errorMessage: `${what} not found` },
  });
  const files = (name: string): Reply => ({
    case: 'fileDescriptorResponse',
    value: { fileDescriptorProto: withDependencies(index, name) },
  });
  switch (request.case) {
    case 'listServices':
      return {
        case: 'listServicesResponse',
        value: { service: services.map((name) => ({ name })) },
      };
    case 'fileByFilename': {
      const name = String(request.value);
      return index.files.has(name) ? files(name) : notFound(`file ${name}`);
    }
    case 'fileContainingSymbol': {
      const symbol = String(request.value).replace(/^\./, '');
      const file = index.symbols.get(symbol);
      return file === undefined ? notFound(`symbol ${symbol}`) : files(file);
    }
    case 'fileContainingExtension': {
      const { containingType, extensionNumber } = request.value as {
        containingType: string;
        extensionNumber: number;
      };
      const file = index.extensions.get(containingType)?.get(extensionNumber);
      return file === undefined
        ? notFound(`extension ${String(extensionNumber)} of ${containingType}`)
        : files(file);
    }
    case 'allExtensionNumbersOfType': {
      const type = String(request.value);
      if (!index.symbols.has(type)) return notFound(`type ${type}`);
      return {
        case: 'allExtensionNumbersResponse',
        value: {
          baseTypeName: type,
          extensionNumber: [...(index.extensions.get(type)?.keys() ?? [])],
        },
      };
    }
    default:
      return {
        case: 'errorResponse',
        value: {
          errorCode: Status.INVALID_ARGUMENT,
          errorMessage: 'the reflection request names no known kind of request',
        },
      };
  }
}

/**
 * Adds gRPC server reflection (grpc.reflection.v1 and v1alpha) to a server:
 * the protocol grpcurl, grpcui, Postman and Evans use to discover services
 * without .proto files.
 *
 * It answers from the compiled descriptors themselves, not from a
 * re-encoding of parsed .proto files, so well-known types, map entries and
 * nested types arrive exactly as protoc wrote them. `descriptorSets` are
 * FileDescriptorSets that include their imports; the descriptors of
 * grpc.health.v1 and of reflection itself are added here. `services` are
 * the names `list` reports, besides reflection's own; each must be defined
 * in the sets, or this throws at startup rather than fail a client later.
 */
export function addReflection(
  server: Server,
  options: { descriptorSets: readonly Uint8Array[]; services: readonly string[] },
): void {
  const standard = Buffer.from(standardDescriptorSetBase64, 'base64');
  const index = indexDescriptorSets([...options.descriptorSets, standard]);
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, standard));
  const listed = [...options.services, ...REFLECTION_SERVICES];
  for (const name of listed)
    if (!index.symbols.has(name))
      throw new Error(
        `reflection cannot describe ${name}: no descriptor in the given sets defines it`,
      );

  for (const service of REFLECTION_SERVICES) {
    const pkg = service.replace(/\.ServerReflection$/, '');
    const requestType = registry.getMessage(`${pkg}.ServerReflectionRequest`);
    const responseType = registry.getMessage(`${pkg}.ServerReflectionResponse`);
    if (requestType === undefined || responseType === undefined)
      throw new Error(`the embedded descriptors lack ${pkg}`);
    const definition: ServiceDefinition = {
      ServerReflectionInfo: {
        path: `/${service}/ServerReflectionInfo`,
        requestStream: true,
        responseStream: true,
        originalName: 'serverReflectionInfo',
        requestSerialize: (message: Message) => Buffer.from(toBinary(requestType, message)),
        requestDeserialize: (bytes: Buffer) => fromBinary(requestType, bytes),
        responseSerialize: (message: Message) => Buffer.from(toBinary(responseType, message)),
        responseDeserialize: (bytes: Buffer) => fromBinary(responseType, bytes),
      },
    };
    server.addService(definition, {
      ServerReflectionInfo: (call: ServerDuplexStream<Message, Message>) =>
        serveStream(call, index, listed, responseType),
    });
  }
}

function serveStream(
  call: ServerDuplexStream<Message, Message>,
  index: DescriptorIndex,
  services: readonly string[],
  responseType: DescMessage,
) {
  call.on('data', (request: Message & { host?: string; messageRequest?: Reply }) => {
    const reply = answer(index, services, request.messageRequest ?? { case: undefined });
    call.write(
      create(responseType, {
        validHost: request.host ?? '',
        originalRequest: request,
        messageResponse: reply,
      }),
    );
  });
  call.on('end', () => call.end());
  // A client that goes away mid-stream is not the server's error.
  call.on('error', () => undefined);
}
