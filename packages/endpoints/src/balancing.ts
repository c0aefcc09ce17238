/**
 * Spreading calls over the addresses `Resolver.resolveAll` gives.
 * The client holds the set and picks for each call, as the Service Connect
 * proxy beside every task does for the tasks behind a name.
 */

/** A gRPC channel's target and the channel options it needs. */
export interface GrpcChannelTarget {
  /** What to hand to a grpc-js client as its address. */
  readonly target: string;
  /** Channel options to merge into the client's (empty for one address). */
  readonly options: Readonly<Record<string, string>>;
}

/** grpc-js service config that balances calls over every ready address, in turn. */
const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

/**
 * The grpc-js target for a set of `host:port` addresses. One address is
 * used as it is (grpc-js's default `dns:` resolution, first address).
 * Several become one `ipv4:` (or `ipv6:`) target with the `round_robin`
 * policy: grpc-js keeps a connection to each, sends each call to the next
 * ready one, and leaves out an address whose connection is down until it
 * is back. The resolver only lets several addresses through when they are
 * all IPv4 or all IPv6 literals.
 */
export function grpcChannelTarget(addresses: readonly string[]): GrpcChannelTarget {
  const [first] = addresses;
  if (first === undefined) throw new Error('grpcChannelTarget needs at least one address');
  if (addresses.length === 1) return { target: first, options: {} };
  const scheme = first.startsWith('[') ? 'ipv6' : 'ipv4';
  return {
    target: `${scheme}:${addresses.join(',')}`,
    options: { 'grpc.service_config': ROUND_ROBIN },
  };
}

/**
 * Picks among addresses in turn: each call to the returned function gives
 * the next one, so N calls land evenly on N instances, and a retry goes to
 * another instance than the try that failed. A round robin rather than a
 * random pick, so the spread is exact and a test can see it.
 */
export function createRoundRobin(addresses: readonly string[]): () => string {
  if (addresses.length === 0) throw new Error('createRoundRobin needs at least one address');
  const set = [...addresses];
  let next = 0;
  return () => {
    const address = set[next % set.length] ?? '';
    next = (next + 1) % set.length;
    return address;
  };
}
