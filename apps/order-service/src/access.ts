import type { FastifyReply, FastifyRequest } from 'fastify';
import { assertRole, assertUser, bearerChallenge } from '@comms/auth';
import type { Principal, TokenVerifier } from '@comms/auth';
import { AppError } from '@comms/service-kit';

/** A command on an existing order. */
export type OrderAction = 'pay' | 'cancel' | 'ship';

/**
 * Who may do what to orders, in the domain's terms: a user places, reads,
 * pays and cancels only their own orders; the operator role ships, rebuilds
 * and reads any order. Service tokens act for no user and are refused.
 * With no verifier (AUTH_ISSUER_URL unset) everything is allowed, as before.
 * Every refusal is PERMISSION_DENIED naming the permission.
 */
export interface OrderAccess {
  /** True when requests must carry a token. */
  readonly enabled: boolean;
  /** onRequest hook: verifies the bearer token of an /orders route (401 before anything else). */
  authenticate(request: FastifyRequest): Promise<void>;
  /** onError hook: the RFC 6750 challenge on a 401 or 403. */
  challenge(reply: FastifyReply, error: unknown): void;
  /** Placing an order for `userId` (the body's): only the user themself. */
  create(request: FastifyRequest, userId: string): void;
  /** Reading an order of `ownerId`, or listing their orders: the owner or an operator. */
  read(request: FastifyRequest, ownerId: string): void;
  /** pay and cancel: the owner; ship: an operator. */
  act(request: FastifyRequest, action: OrderAction, ownerId: string): void;
  /** Rebuilding a read-model row: an operator. */
  rebuild(request: FastifyRequest): void;
}

/** Builds the access rules; `auth` undefined turns them off. */
export function createOrderAccess(
  auth: { readonly verifier: TokenVerifier; readonly operatorRole: string } | undefined,
): OrderAccess {
  const principals = new WeakMap<FastifyRequest, Principal>();
  const principalOf = (request: FastifyRequest): Principal | undefined => {
    if (auth === undefined) return undefined;
    const principal = principals.get(request);
    // Every /orders route is authenticated in onRequest: a route without it is a bug, not a pass.
    if (principal === undefined)
      throw new AppError('INTERNAL', 'the request was not authenticated');
    return principal;
  };
  const user = (request: FastifyRequest, permission: string): Principal | undefined => {
    const principal = principalOf(request);
    if (principal !== undefined) assertUser(principal, permission);
    return principal;
  };
  const isOperator = (principal: Principal) =>
    auth !== undefined && principal.roles.includes(auth.operatorRole);
  const ownerOrOperator = (request: FastifyRequest, permission: string, ownerId: string) => {
    const principal = user(request, permission);
    if (principal === undefined || principal.subject === ownerId || isOperator(principal)) return;
    throw new AppError(
      'PERMISSION_DENIED',
      `permission '${permission}' is for the order's owner or the role '${auth?.operatorRole ?? ''}'; user '${principal.subject}' is neither`,
    );
  };

  return {
    enabled: auth !== undefined,
    async authenticate(request) {
      if (auth === undefined || request.routeOptions.url?.startsWith('/orders') !== true) return;
      principals.set(request, await auth.verifier.authenticate(request.headers.authorization));
    },
    challenge(reply, error) {
      if (auth === undefined || !(error instanceof AppError)) return;
      const value = bearerChallenge(error, 'order-service');
      if (value !== undefined) reply.header('www-authenticate', value);
    },
    create(request, userId) {
      const principal = user(request, 'orders:create');
      if (principal !== undefined && principal.subject !== userId)
        throw new AppError(
          'PERMISSION_DENIED',
          `permission 'orders:create' is for one's own orders: the token is user '${principal.subject}', the body names userId '${userId}'`,
        );
    },
    read: (request, ownerId) => ownerOrOperator(request, 'orders:read', ownerId),
    act(request, action, ownerId) {
      if (action !== 'ship') {
        // An operator ships and reads; paying and cancelling stay the owner's.
        const principal = user(request, `orders:${action}`);
        if (principal !== undefined && principal.subject !== ownerId)
          throw new AppError(
            'PERMISSION_DENIED',
            `permission 'orders:${action}' is for the order's owner; user '${principal.subject}' is not`,
          );
        return;
      }
      const principal = user(request, 'orders:ship');
      if (principal !== undefined && auth !== undefined)
        assertRole(principal, auth.operatorRole, 'orders:ship');
    },
    rebuild(request) {
      const principal = user(request, 'orders:rebuild');
      if (principal !== undefined && auth !== undefined)
        assertRole(principal, auth.operatorRole, 'orders:rebuild');
    },
  };
}
