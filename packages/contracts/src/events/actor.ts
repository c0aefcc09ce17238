/**
 * Who caused an event: the CloudEvents extension attribute `actor`
 * (extension names are lowercase a-z0-9 only), `user:<sub>` for an end user
 * and `service:<client id>` for a service acting on its own token. It names
 * the caller, never carries its token. Absent when the producer runs without
 * authentication (AUTH_ISSUER_URL unset) or nothing authenticated caused the
 * event; events published before it existed have none, so consumers accept
 * events with and without it.
 */

/** The CloudEvents extension attribute (and, in binary mode, `ce_actor`) that names who caused an event. */
export const ACTOR_ATTRIBUTE = 'actor';

/** The kinds of caller an actor names. */
export type ActorKind = 'user' | 'service';

/** An actor, taken apart. */
export interface Actor {
  readonly kind: ActorKind;
  /** The user's `sub`, or the service's client id. */
  readonly id: string;
}

/** Longest id an actor carries: OpenID Connect caps `sub` at 255 ASCII characters. */
export const MAX_ACTOR_ID_LENGTH = 255;

/**
 * JSON Schema `pattern` of the `actor` attribute: `user:` or `service:`,
 * then 1-255 printable ASCII characters (what `sub` and client ids are).
 */
export const ACTOR_PATTERN = `^(?:user|service):[ -~]{1,${MAX_ACTOR_ID_LENGTH}}$`;

const ACTOR = new RegExp(ACTOR_PATTERN);

/** `{ kind: 'user', id: 'abc' }` -> `user:abc`; throws when the id cannot be an actor's. */
export function formatActor(actor: Actor): string {
  const text = `${actor.kind}:${actor.id}`;
  if (!ACTOR.test(text))
    throw new Error(
      `an actor's id must be 1-${MAX_ACTOR_ID_LENGTH} printable ASCII characters, got '${actor.id.slice(0, 60)}' (${actor.id.length} characters)`,
    );
  return text;
}

/** `user:abc` -> `{ kind: 'user', id: 'abc' }`; undefined for an absent or malformed attribute. */
export function parseActor(text: string | undefined): Actor | undefined {
  if (text === undefined || !ACTOR.test(text)) return undefined;
  const colon = text.indexOf(':');
  return { kind: text.slice(0, colon) as ActorKind, id: text.slice(colon + 1) };
}
