import { assertRole, assertUser } from '@comms/auth';
import type { Principal, TokenVerifier } from '@comms/auth';
import { AppError } from '@comms/service-kit';

/** A command on an existing order. */
export type OrderAction = 'pay' | 'cancel' | 'ship';

/** What the rules need of an order: whose it is. */
interface Owned {
  readonly userId: string;
}

/**
 * Who may do what to orders, in the domain's terms, for REST and gRPC
 * alike: a user places, reads, pays and cancels only their own orders; the
 * operator role ships, rebuilds and reads any order. Service tokens act for
 * no user and are refused. With no verifier (AUTH_ISSUER_URL unset) every
 * check passes, as before. A refusal is PERMISSION_DENIED naming the
 * permission. A user who is not an operator and names an order that is not
 * theirs gets the same PERMISSION_DENIED, word for word, whether the order
 * belongs to someone else or does not exist at all ("user 'u' has no order
 * 'id'", true of both), so trying ids teaches nobody which orders exist; only
 * the operator is ever told NOT_FOUND for an id. What does not depend on the
 * order (a user's token, the operator role to ship) is checked before the
 * order is loaded, so it answers the same for every id too. A principal of
 * `undefined` means authentication is off.
 */
export interface OrderAccess {
  /** True when callers must present a token. */
  readonly enabled: boolean;
  /** Verifies an `Authorization` value (`Bearer <token>`); undefined when authentication is off. */
  authenticate(authorization: string | undefined): Promise<Principal | undefined>;
  /** Placing an order for `userId` (the request's): only the user themself. */
  create(principal: Principal | undefined, userId: string): void;
  /** Listing the orders of `userId`: that user or an operator. */
  list(principal: Principal | undefined, userId: string): void;
  /**
   * Reading order `orderId`, which `load` fetches (NOT_FOUND when there is
   * none): the owner or an operator. Any other user gets PERMISSION_DENIED,
   * the same for someone else's order and for an id that names none.
   */
  read<T extends Owned>(
    principal: Principal | undefined,
    orderId: string,
    load: () => Promise<T>,
  ): Promise<T>;
  /**
   * pay and cancel: the owner (an operator, who may read the order and so
   * learns whether it exists, gets NOT_FOUND for an unknown id and
   * PERMISSION_DENIED for someone's order; any other user PERMISSION_DENIED
   * for both); ship: an operator, checked before the order is loaded. Off,
   * `load` is not called.
   */
  act(
    principal: Principal | undefined,
    action: OrderAction,
    orderId: string,
    load: () => Promise<Owned>,
  ): Promise<void>;
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
      list: () => undefined,
      read: (_principal, _orderId, load) => load(),
      act: () => Promise.resolve(),
      rebuild: () => undefined,
    };
  const { verifier, operatorRole } = auth;
  // Authentication is on: a missing principal is a route that skipped it, a bug, never a pass.
  const user = (principal: Principal | undefined, permission: string): Principal => {
    if (principal === undefined) throw new AppError('INTERNAL', 'the call was not authenticated');
    assertUser(principal, permission);
    return principal;
  };
  const isOperator = (caller: Principal) => caller.roles.includes(operatorRole);
  // What a user who is not an operator hears for an order that is not theirs,
  // whether it is someone else's or no one's: the same words, true of both.
  const notTheirs = (permission: string, caller: Principal, orderId: string, who: string) =>
    new AppError(
      'PERMISSION_DENIED',
      `permission '${permission}' is for ${who}; user '${caller.subject}' has no order '${orderId}'`,
    );
  /** Loads the order for a user who is not an operator: an unknown id is refused as another's order is. */
  const loadAs = async <T extends Owned>(
    caller: Principal,
    load: () => Promise<T>,
    refusal: () => AppError,
  ): Promise<T> => {
    if (isOperator(caller)) return load();
    let order: T;
    try {
      order = await load();
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') throw refusal();
      throw error;
    }
    if (order.userId !== caller.subject) throw refusal();
    return order;
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
    list(principal, userId) {
      // Says nothing about any order: a user's orders are refused whether they have any or not.
      const caller = user(principal, 'orders:read');
      if (caller.subject === userId || isOperator(caller)) return;
      throw new AppError(
        'PERMISSION_DENIED',
        `permission 'orders:read' is for the orders' owner or the role '${operatorRole}'; user '${caller.subject}' is neither`,
      );
    },
    async read(principal, orderId, load) {
      const caller = user(principal, 'orders:read');
      return loadAs(caller, load, () =>
        notTheirs(
          'orders:read',
          caller,
          orderId,
          `the order's owner or the role '${operatorRole}'`,
        ),
      );
    },
    async act(principal, action, orderId, load) {
      const permission = `orders:${action}`;
      const caller = user(principal, permission);
      // An operator ships, whoever owns the order; the command itself finds out whether it exists.
      if (action === 'ship') {
        assertRole(caller, operatorRole, permission);
        return;
      }
      const order = await loadAs(caller, load, () =>
        notTheirs(permission, caller, orderId, "the order's owner"),
      );
      if (caller.subject === order.userId) return;
      // Paying and cancelling stay the owner's; an operator may know the order exists.
      throw new AppError(
        'PERMISSION_DENIED',
        `permission '${permission}' is for the order's owner; user '${caller.subject}' is not`,
      );
    },
    rebuild: (principal) =>
      assertRole(user(principal, 'orders:rebuild'), operatorRole, 'orders:rebuild'),
  };
}
