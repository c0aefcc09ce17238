import { assertService } from '@comms/auth';
import type { Principal, TokenVerifier } from '@comms/auth';
import { AppError } from '@comms/service-kit';

/** What a caller may do: read users (GetUser, ValidateUser, ListUsers) or write them (create, deactivate). */
export type CallerPermission = 'users:read' | 'users:write';

/** A service allowed to call, and what it may do (one AUTH_CALLERS entry). */
export interface Caller {
  readonly clientId: string;
  readonly permissions: readonly CallerPermission[];
}

const GRANTS = { read: 'users:read', write: 'users:write' } as const;

/** The AUTH_CALLERS syntax: `id`, `id:read`, `id:write` or `id:read+write`, comma-separated. */
export const CALLERS_PATTERN =
  '^[A-Za-z0-9._-]+(:(read|write)([+](read|write))?)?(,[A-Za-z0-9._-]+(:(read|write)([+](read|write))?)?)*$';

/**
 * Reads AUTH_CALLERS (already matched against {@link CALLERS_PATTERN}). A
 * bare client id may read and write, which is what every listed caller
 * could do before permissions were listed; an entry named twice gets both.
 */
export function parseCallers(text: string): Caller[] {
  const byClient = new Map<string, Set<CallerPermission>>();
  for (const entry of text.split(',')) {
    const [clientId = '', grants = 'read+write'] = entry.split(':');
    const permissions = byClient.get(clientId) ?? new Set<CallerPermission>();
    for (const grant of grants.split('+')) permissions.add(GRANTS[grant as keyof typeof GRANTS]);
    byClient.set(clientId, permissions);
  }
  return [...byClient].map(([clientId, permissions]) => ({
    clientId,
    permissions: [...permissions].sort(),
  }));
}

/**
 * Service identity: user-service is internal, so with a verifier
 * (AUTH_ISSUER_URL) every call must carry the own access token
 * (client credentials, audience user-service) of one of the allowed
 * services, and that service must hold the call's permission. No token
 * or a bad one is UNAUTHENTICATED; a user's token, another client's, or a
 * read-only caller's write is PERMISSION_DENIED naming the permission.
 * Without a verifier every call passes, as before.
 */
export interface CallerCheck {
  readonly enabled: boolean;
  /**
   * Checks an `Authorization` value for `permission`; resolves with the
   * calling service's principal (undefined when the check is off).
   */
  check(
    authorization: string | undefined,
    permission: CallerPermission,
  ): Promise<Principal | undefined>;
}

/** Builds the check; `auth` undefined turns it off. */
export function createCallerCheck(
  auth: { readonly verifier: TokenVerifier; readonly callers: readonly Caller[] } | undefined,
): CallerCheck {
  if (auth === undefined) return { enabled: false, check: () => Promise.resolve(undefined) };
  const { verifier, callers } = auth;
  const ids = callers.map((caller) => caller.clientId);
  return {
    enabled: true,
    async check(authorization, permission) {
      const principal = await verifier.authenticate(authorization);
      assertService(principal, ids, permission);
      const caller = callers.find((one) => one.clientId === principal.clientId);
      if (caller?.permissions.includes(permission) !== true) {
        const holders = callers.filter((one) => one.permissions.includes(permission));
        throw new AppError(
          'PERMISSION_DENIED',
          `permission '${permission}' is for ${holders.length === 0 ? 'no caller' : holders.map((one) => one.clientId).join(', ')} (AUTH_CALLERS); client '${principal.clientId}' may only ${caller?.permissions.join(', ') ?? 'nothing'}`,
        );
      }
      return principal;
    },
  };
}
