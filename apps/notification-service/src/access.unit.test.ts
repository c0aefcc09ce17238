import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Principal, TokenVerifier } from '@comms/auth';
import { AppError } from '@comms/service-kit';
import { createNotificationAccess } from './access.js';

// The rules as given / when / then, without infra: principals built by hand.

const refuseAll: TokenVerifier = {
  verify: () => Promise.reject(new AppError('UNAUTHENTICATED', 'no')),
  authenticate: () => Promise.reject(new AppError('UNAUTHENTICATED', 'no')),
};
const access = createNotificationAccess({
  verifier: refuseAll,
  operatorRole: 'operator',
  operatorClients: ['console'],
});
const user = (subject: string, roles: string[] = []): Principal => ({
  subject,
  kind: 'user',
  roles,
  clientId: 'comms-cli',
  scopes: ['notifications'],
  expiresAt: Date.now() + 60_000,
});
const service = (clientId: string): Principal => ({
  subject: clientId,
  kind: 'service',
  roles: [],
  clientId,
  scopes: ['notifications'],
  expiresAt: Date.now() + 60_000,
});
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof AppError ? `${error.code}: ${error.message}` : String(error);
  }
  return 'allowed';
};

describe('who may read notifications', () => {
  it('given a user, when they name no user or themself, then they read their own', () => {
    expect(access.readable(user('a'), undefined)).toBe('a');
    expect(access.readable(user('a'), 'a')).toBe('a');
  });

  it('given a user, when they name another, then PERMISSION_DENIED naming notifications:read', () => {
    expect(refusal(() => access.readable(user('a'), 'b'))).toMatch(
      /^PERMISSION_DENIED: permission 'notifications:read' is for one's own notifications or the role 'operator' or the client console: the token is user 'a', the request names userId 'b'$/,
    );
  });

  it('given the operator role or the console, then they read whoever they name, or everyone', () => {
    expect(access.readable(user('ops', ['operator']), 'b')).toBe('b');
    expect(access.readable(user('ops', ['operator']), undefined)).toBeUndefined();
    expect(access.readable(service('console'), undefined)).toBeUndefined();
  });

  it('given another service, then it reads nothing, even naming nobody', () => {
    expect(refusal(() => access.readable(service('order-service'), undefined))).toMatch(
      /^PERMISSION_DENIED: permission 'notifications:read' is for end users \(their own\) and the role 'operator' or the client console; client 'order-service' presented its own service token$/,
    );
  });
});

describe('who may use the operator routes', () => {
  it.each([
    [user('ops', ['operator']), 'allowed'],
    [service('console'), 'allowed'],
    [user('a'), /user 'a' is neither/],
    [service('order-service'), /client 'order-service' is neither/],
  ] as const)('%j on dlq:redrive: %s', (principal, expected) => {
    const outcome = refusal(() => access.operate(principal, 'dlq:redrive'));
    if (expected === 'allowed') expect(outcome).toBe('allowed');
    else expect(outcome).toMatch(expected);
  });

  it('given authentication on but no principal (a route that skipped it), then INTERNAL, never a pass', () => {
    expect(refusal(() => access.operate(undefined, 'dlq:read'))).toMatch(/^INTERNAL/);
    expect(refusal(() => access.readable(undefined, undefined))).toMatch(/^INTERNAL/);
  });

  it('given authentication off, then everything passes and the filter is the request’s', () => {
    const off = createNotificationAccess(undefined);
    expect(off.enabled).toBe(false);
    expect(off.readable(undefined, 'b')).toBe('b');
    expect(refusal(() => off.operate(undefined, 'dlq:read'))).toBe('allowed');
  });
});

describe('how long a stream lives', () => {
  afterEach(() => vi.useRealTimers());
  const expiringIn = (ms: number): Principal => ({ ...user('a'), expiresAt: Date.now() + ms });

  it('given a token that expires in 30 s, then `expired` runs once at its expiry, not before', () => {
    vi.useFakeTimers();
    const expired = vi.fn();
    access.untilExpiry(expiringIn(30_000), expired);
    vi.advanceTimersByTime(29_999);
    expect(expired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60_000);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('given a stream that ends first (client gone, shutdown), when cancelled, then no timer is left', () => {
    vi.useFakeTimers();
    const expired = vi.fn();
    const cancel = access.untilExpiry(expiringIn(30_000), expired);
    expect(vi.getTimerCount()).toBe(1);
    cancel();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(expired).not.toHaveBeenCalled();
  });

  it('given a token longer-lived than setTimeout can wait (~24.8 days), then it still runs at expiry, not at once', () => {
    vi.useFakeTimers();
    const expired = vi.fn();
    const days30 = 30 * 86_400_000;
    access.untilExpiry(expiringIn(days30), expired);
    vi.advanceTimersByTime(days30 - 1);
    expect(expired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('given a token already past its expiry (within the clock tolerance), then UNAUTHENTICATED and nothing scheduled', () => {
    vi.useFakeTimers();
    expect(refusal(() => access.untilExpiry(expiringIn(-1_000), vi.fn()))).toMatch(
      /^UNAUTHENTICATED: the access token expired at .*; a stream needs a token that has not$/,
    );
    expect(vi.getTimerCount()).toBe(0);
  });

  it('given authentication off, then nothing is scheduled', () => {
    vi.useFakeTimers();
    createNotificationAccess(undefined).untilExpiry(undefined, vi.fn())();
    expect(vi.getTimerCount()).toBe(0);
  });
});
