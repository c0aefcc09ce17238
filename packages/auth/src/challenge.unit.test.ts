import { describe, expect, it } from 'vitest';
import { AppError } from '@comms/contracts';
import { bearerChallenge } from './challenge.js';

describe('bearerChallenge (RFC 6750 section 3)', () => {
  it('says invalid_token for a refused token, insufficient_scope for a missing permission', () => {
    expect(bearerChallenge(new AppError('UNAUTHENTICATED', 'the access token expired'), 'x')).toBe(
      'Bearer realm="x", error="invalid_token", error_description="the access token expired"',
    );
    expect(bearerChallenge(new AppError('PERMISSION_DENIED', 'needs operator'))).toBe(
      'Bearer error="insufficient_scope", error_description="needs operator"',
    );
  });

  it('keeps error_description to the characters the RFC allows, so a message cannot break the header', () => {
    const header = bearerChallenge(
      new AppError('UNAUTHENTICATED', 'kid "a\\b"\r\nSet-Cookie: x=1 ü'),
    );
    expect(header).toBe(
      'Bearer error="invalid_token", error_description="kid ?a?b???Set-Cookie: x=1 ?"',
    );
  });

  it('gives no challenge for other errors', () => {
    expect(bearerChallenge(new AppError('NOT_FOUND', 'no such order'))).toBeUndefined();
  });
});
