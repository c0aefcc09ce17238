import { assertRole, assertUser } from '@comms/auth';
import type { Principal, TokenVerifier } from '@comms/auth';
import { AppError } from '@comms/service-kit';

/** A command on an existing order. */
export type OrderAction = 'pay' | 'cancel' | 'ship';

/**
 * Who may do what to orders, in the domain's terms, for REST and gRPC
 * alike: a user places, reads, pays and cancels only their own orders; the
 * operator role ships, rebuilds and reads any order. Service tokens act for
 * no user and are refused. With no verifier (AUTH_ISSUER_URL unset) every
 * check passes, as before. Every refusal is PERMISSION_DENIED naming the
 * permission. A principal of `undefined` means authentication is off.
 */
export interface OrderAccess {
  /** True when callers must present a token. */
  readonly enabled: boolean;
  /** Verifies an `Authorization` value (`Bearer <token>`); undefined when authentication is off. */
  authenticate(authorization: string | undefined): Promise<Principal | undefined>;
  /** Placing an order for `userId` (the request's): only the user themself. */
  create(principal: Principal | undefined, userId: string): void;
  /** Reading an order of `ownerId`, or listing their orders: the owner or an operator. */
  read(principal: Principal | undefined, ownerId: string): void;
  /** pay and cancel: the owner; ship: an operator. */
  act(principal: Principal | undefined, action: OrderAction, ownerId: string): void;
  /** Rebuilding a read-model row: an operator. */
  rebuild(principal: Principal | undefined): void;
}

/** Builds the access rules; `auth` undefined turns them off. */
export function createOrderAccess(
  auth: { readonly verifier: TokenVerifier; readonly operatorRole: string } | undefined,
): OrderAccess {
  if (auth === undefined)
    return {
      enabled: false,
      authenticate: () => Promise.resolve(undefined),
      create: () => undefined,
      read: () => undefined,
      act: () => undefined,
      rebuild: () => undefined,
    };
  const { verifier, operatorRole } = auth;
  // Authentication is on: a missing principal is a route that skipped it, a bug, never a pass.
  const user = (principal: Principal | undefined, permission: string): Principal => {
    if (principal === undefined) throw new AppError('INTERNAL', 'the call was not authenticated');
    assertUser(principal, permission);
    return principal;
  };
  const ownerOrOperator = (
    principal: Principal | undefined,
    permission: string,
    ownerId: string,
  ) => {
    const caller = user(principal, permission);
    if (caller.subject === ownerId || caller.roles.includes(operatorRole)) return;
    throw new AppError(
      'PERMISSION_DENIED',
      `permission '${permission}' is for the order's owner or the role '${operatorRole}'; user '${caller.subject}' is neither`,
    );
  };
  return {
    enabled: true,
    authenticate: (authorization) => verifier.authenticate(authorization),
    create(principal, userId) {
      const caller = user(principal, 'orders:create');
      if (caller.subject !== userId)
        throw new AppError(
          'PERMISSION_DENIED',
          `permission 'orders:create' is for one's own orders: the token is user '${caller.subject}', the request names userId '${userId}'`,
        );
    },
    read: (principal, ownerId) => ownerOrOperator(principal, 'orders:read', ownerId),
    act(principal, action, ownerId) {
      const permission = `orders:${action}`;
      const caller = user(principal, permission);
      // An operator ships and reads; paying and cancelling stay the owner's.
      if (action === 'ship') assertRole(caller, operatorRole, permission);
      else if (caller.subject !== ownerId)
        throw new AppError(
          'PERMISSION_DENIED',
          `permission '${permission}' is for the order's owner; user '${caller.subject}' is not`,
        );
    },
    rebuild: (principal) =>
      assertRole(user(principal, 'orders:rebuild'), operatorRole, 'orders:rebuild'),
  };
}
