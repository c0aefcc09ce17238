import { AppError, formatActor } from '@comms/contracts';

/** Who is calling, from a verified access token. */
export interface Principal {
  /** `sub`: the user's id, or for a service the client id. */
  readonly subject: string;
  /** `user` for an end user's token; `service` for a client's own token (client credentials). */
  readonly kind: 'user' | 'service';
  /** The roles claim (for example `operator`); always empty for a service. */
  readonly roles: readonly string[];
  /** `client_id`: the application that obtained the token. */
  readonly clientId: string;
  /** The token's scopes, from the space-separated `scope` claim. */
  readonly scopes: readonly string[];
  /** When the token expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/**
 * Refuses anything but an end user's token: a service's own token cannot
 * act as a user. Throws PERMISSION_DENIED naming `permission`.
 */
export function assertUser(principal: Principal, permission: string): void {
  if (principal.kind !== 'user')
    throw new AppError(
      'PERMISSION_DENIED',
      `permission '${permission}' needs an end user's token; client '${principal.clientId}' presented its own service token`,
    );
}

/** Throws PERMISSION_DENIED naming `permission` unless the principal has `role`. */
export function assertRole(principal: Principal, role: string, permission: string): void {
  if (!principal.roles.includes(role))
    throw new AppError(
      'PERMISSION_DENIED',
      `permission '${permission}' needs the role '${role}'; ${principal.kind} '${principal.subject}' does not have it`,
    );
}

/**
 * Service identity: refuses anything but the own token of one of `clients`.
 * Throws PERMISSION_DENIED naming `permission`.
 */
export function assertService(
  principal: Principal,
  clients: readonly string[],
  permission: string,
): void {
  if (principal.kind !== 'service' || !clients.includes(principal.clientId))
    throw new AppError(
      'PERMISSION_DENIED',
      `permission '${permission}' is for the services ${clients.join(', ')}; got the ${principal.kind} token of client '${principal.clientId}'`,
    );
}

/**
 * The CloudEvents `actor` of a caller: `user:<sub>` for an end user,
 * `service:<client id>` for a service's own token, undefined when
 * authentication is off. Never the token. Throws PERMISSION_DENIED when
 * the token's subject or client id cannot be an actor (too long, not
 * printable ASCII): the change is refused rather than recorded wrong.
 */
export function actorOf(
  principal: Pick<Principal, 'kind' | 'subject' | 'clientId'> | undefined,
): string | undefined {
  if (principal === undefined) return undefined;
  const actor =
    principal.kind === 'user'
      ? { kind: 'user' as const, id: principal.subject }
      : { kind: 'service' as const, id: principal.clientId };
  try {
    return formatActor(actor);
  } catch (error) {
    // A verified token whose subject cannot be recorded: refuse the change rather than lose who made it.
    throw new AppError(
      'PERMISSION_DENIED',
      `the token's ${actor.kind === 'user' ? 'sub' : 'client_id'} cannot be recorded as who made the change: ${(error as Error).message}`,
    );
  }
}
