import { describe, expect, it } from 'vitest';
import { AppError } from '@comms/contracts';
import { bearerChallenge } from './challenge.js';
import { challengeOnError } from './http-challenge.js';

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

  it('is put on a 401 or 403 answer by the onError hook, and on nothing else', () => {
    const headers = (error: unknown) => {
      const set: Record<string, string> = {};
      let done = false;
      challengeOnError('notification-service')(
        {},
        { header: (name, value) => (set[name] = value) },
        error,
        () => (done = true),
      );
      expect(done).toBe(true);
      return set;
    };
    expect(headers(new AppError('PERMISSION_DENIED', "permission 'dlq:read'"))).toEqual({
      'www-authenticate':
        'Bearer realm="notification-service", error="insufficient_scope", error_description="permission \'dlq:read\'"',
    });
    expect(headers(new AppError('NOT_FOUND', 'no such thing'))).toEqual({});
    expect(headers(new Error('not an AppError'))).toEqual({});
  });
});
