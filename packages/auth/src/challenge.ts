import type { AppError } from '@comms/contracts';

/** Errors that mean "no token was presented": RFC 6750 section 3.1 says to send no error code then. */
const missingToken = new WeakSet<AppError>();

/** Marks an UNAUTHENTICATED error as "no token at all" (used by the verifier). */
export function markMissingToken(error: AppError): AppError {
  missingToken.add(error);
  return error;
}

// RFC 6750 section 3: error_description is %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash).
const quoted = (text: string) => text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?').slice(0, 300);

/**
 * The `WWW-Authenticate` value (RFC 6750) for an authentication or
 * authorization refusal: `Bearer realm="..."` when no token came,
 * `error="invalid_token"` for UNAUTHENTICATED, `error="insufficient_scope"`
 * for PERMISSION_DENIED, each with the error's message as
 * `error_description`. Undefined for any other code (no challenge).
 */
export function bearerChallenge(error: AppError, realm?: string): string | undefined {
  const parts = realm === undefined ? [] : [`realm="${quoted(realm)}"`];
  if (error.code === 'UNAUTHENTICATED') {
    if (!missingToken.has(error))
      parts.push('error="invalid_token"', `error_description="${quoted(error.message)}"`);
  } else if (error.code === 'PERMISSION_DENIED') {
    parts.push('error="insufficient_scope"', `error_description="${quoted(error.message)}"`);
  } else {
    return undefined;
  }
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`;
}
