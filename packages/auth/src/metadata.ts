/**
 * The `authorization` value of a gRPC call's metadata (`Bearer <token>`),
 * for the verifier's `authenticate`; undefined when there is none.
 * Takes anything with grpc-js's `Metadata.get` shape.
 */
export function authorizationOf(call: {
  readonly metadata?: { get(key: string): readonly unknown[] };
}): string | undefined {
  const [value] = call.metadata?.get('authorization') ?? [];
  return typeof value === 'string' ? value : undefined;
}
