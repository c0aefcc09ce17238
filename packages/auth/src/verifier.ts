import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { AppError } from '@comms/contracts';
import { markMissingToken } from './challenge.js';
import type { Principal } from './principal.js';

/** Options for {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /** The issuer identifier the tokens must carry as `iss`, e.g. `http://127.0.0.1:8084`. */
  readonly issuer: string;
  /** This API's audience (its resource indicator): the tokens' `aud` must contain it. */
  readonly audience: string;
  /** Where the issuer's public keys are. Default `<issuer>/jwks`. */
  readonly jwksUrl?: string;
  /** The signature algorithms accepted; anything else (`none`, HS256) is refused. Default RS256, ES256. */
  readonly algorithms?: readonly string[];
  /** Slack for `exp`, `nbf` and `iat` against this host's clock. Default 5 s. */
  readonly clockToleranceSeconds?: number;
  /** Refuses tokens issued longer ago than this. Default one day. */
  readonly maxTokenAgeSeconds?: number;
  /** The JWT `typ` header required (RFC 9068: `at+jwt`); `null` accepts any. Default `at+jwt`. */
  readonly tokenType?: string | null;
  /** The claim with the user's roles. Default `roles` (RFC 9068 section 2.2.3.1). */
  readonly rolesClaim?: string;
  /** How long fetched keys are used before they are fetched again. Default 10 minutes. */
  readonly keysMaxAgeMs?: number;
  /** After a fetch, how long an unknown `kid` waits before it may fetch the keys again. Default 30 s. */
  readonly keysCooldownMs?: number;
  /** Timeout of one key fetch. Default 5 s. */
  readonly keysTimeoutMs?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** Verifies bearer access tokens; see {@link createTokenVerifier}. */
export interface TokenVerifier {
  /** Verifies one token (the JWT itself) into a principal, or throws an AppError. */
  verify(token: string): Promise<Principal>;
  /** Takes an `Authorization` header value (`Bearer <token>`), or undefined when there was none. */
  authenticate(authorization: string | undefined): Promise<Principal>;
}

const unauthenticated = (message: string, cause?: unknown) =>
  new AppError('UNAUTHENTICATED', message, [], { cause });

/** Attacker-controlled text in a message: short and printable. */
const shown = (value: unknown) =>
  JSON.stringify(value ?? null)
    .replace(/[^\x20-\x7E]/g, '?')
    .slice(0, 100);

function unverifiedClaims(token: string): JWTPayload {
  try {
    return decodeJwt(token);
  } catch {
    return {};
  }
}

/**
 * A verifier for the JWT access tokens (RFC 9068) of one issuer and one
 * audience, built on `jose`: keys from the issuer's JWKS (fetched on first
 * use, cached, fetched again for a `kid` it does not know), and checks of
 * signature, algorithm allow-list, `typ`, `iss`, `aud`, `exp`, `nbf` and
 * `iat` with a small clock tolerance. Every refusal is an AppError:
 * UNAUTHENTICATED with what was wrong and what was expected, or
 * UNAVAILABLE when the issuer's keys cannot be fetched (a 503 the caller
 * may retry; nothing is let through).
 *
 * A token whose `sub` equals its `client_id` is a client's own token
 * (client credentials, RFC 9068 section 2.2): kind `service`, no roles.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const jwksUrl = new URL(options.jwksUrl ?? `${options.issuer.replace(/\/$/, '')}/jwks`);
  const algorithms = [...(options.algorithms ?? ['RS256', 'ES256'])];
  const tokenType = options.tokenType === undefined ? 'at+jwt' : options.tokenType;
  const rolesClaim = options.rolesClaim ?? 'roles';
  const tolerance = options.clockToleranceSeconds ?? 5;
  const now = options.now ?? Date.now;
  const maxAge = options.maxTokenAgeSeconds ?? 86_400;
  const keys = createRemoteJWKSet(jwksUrl, {
    cacheMaxAge: options.keysMaxAgeMs ?? 600_000,
    cooldownDuration: options.keysCooldownMs ?? 30_000,
    timeoutDuration: options.keysTimeoutMs ?? 5_000,
  });

  const explain = (error: unknown, token: string): AppError => {
    const claims = unverifiedClaims(token);
    if (error instanceof errors.JWTExpired)
      return unauthenticated(
        error.claim === 'iat'
          ? `the access token was issued more than ${String(maxAge)} s ago`
          : `the access token expired at ${typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : 'an unknown time'}`,
        error,
      );
    if (error instanceof errors.JWTClaimValidationFailed) {
      switch (error.claim) {
        case 'iss':
          return unauthenticated(
            `the access token's issuer is ${shown(claims.iss)}; expected "${options.issuer}"`,
            error,
          );
        case 'aud':
          return unauthenticated(
            `the access token is for ${shown(claims.aud)}; expected "${options.audience}"`,
            error,
          );
        case 'nbf':
        case 'iat':
          return unauthenticated(
            `the access token is not valid yet (its "${error.claim}" is in the future)`,
            error,
          );
        case 'typ':
          return unauthenticated(
            `the token's type is ${shown(decodeHeader(token).typ)}; expected an access token ("${String(tokenType)}")`,
            error,
          );
        default:
          return unauthenticated(`the access token's "${error.claim}" claim is invalid`, error);
      }
    }
    if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
      return unauthenticated(
        `the access token is signed with ${shown(decodeHeader(token).alg)}; allowed: ${algorithms.join(', ')}`,
        error,
      );
    if (error instanceof errors.JWSSignatureVerificationFailed)
      return unauthenticated("the access token's signature does not verify", error);
    if (
      error instanceof errors.JWKSNoMatchingKey ||
      error instanceof errors.JWKSMultipleMatchingKeys
    )
      return unauthenticated(
        `no key of the issuer matches the access token's kid ${shown(decodeHeader(token).kid)}`,
        error,
      );
    if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
      return unauthenticated(`the access token is not a well-formed JWT: ${error.message}`, error);
    // The keys could not be fetched (issuer down, timeout, not a JWKS): refuse, retryably.
    const reason = error instanceof Error ? error.message : String(error);
    return new AppError(
      'UNAVAILABLE',
      `could not get the token issuer's keys from ${jwksUrl.href} (${reason}); try again shortly`,
      [],
      { cause: error },
    );
  };

  const verify = async (token: string): Promise<Principal> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: tolerance,
        maxTokenAge: maxAge,
        currentDate: new Date(now()),
        ...(tokenType === null ? {} : { typ: tokenType }),
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      throw explain(error, token);
    }
    const subject = payload.sub;
    const clientId = payload['client_id'];
    if (typeof subject !== 'string' || subject === '' || typeof clientId !== 'string')
      throw unauthenticated('the access token has no "sub" or no "client_id"');
    const kind = subject === clientId ? 'service' : 'user';
    const claimed = payload[rolesClaim];
    const roles =
      kind === 'user' && Array.isArray(claimed)
        ? claimed.filter((role): role is string => typeof role === 'string')
        : [];
    const scope = payload['scope'];
    return {
      subject,
      kind,
      roles,
      clientId,
      scopes: typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : [],
      expiresAt: (payload.exp ?? 0) * 1000,
    };
  };

  return {
    verify,
    async authenticate(authorization) {
      if (authorization === undefined || authorization.trim() === '')
        throw markMissingToken(
          unauthenticated(
            'this request needs a bearer access token (Authorization: Bearer <token>)',
          ),
        );
      const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
      if (match?.[1] === undefined)
        throw unauthenticated('the Authorization header must be "Bearer <access token>"');
      return verify(match[1]);
    },
  };
}

function decodeHeader(token: string): { alg?: unknown; kid?: unknown; typ?: unknown } {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return {};
  }
}
