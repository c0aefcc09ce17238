import { describe, expect, it } from 'vitest';
import { actorOf } from './principal.js';

// actorOf reads who the token names: the kind, the subject and the client.
const user = (subject: string) => ({ kind: 'user' as const, subject, clientId: 'comms-cli' });
// A service is named by its client id, whatever its token's sub says.
const service = (clientId: string) => ({
  kind: 'service' as const,
  subject: `sub-${clientId}`,
  clientId,
});

describe('actorOf', () => {
  it('names a user by sub and a service by client id, and nobody when authentication is off', () => {
    expect(actorOf(user('ada'))).toBe('user:ada');
    expect(actorOf(service('console'))).toBe('service:console');
    expect(actorOf(undefined)).toBeUndefined();
  });

  it('refuses a subject or client id no consumer could read rather than record it wrong', () => {
    expect(() => actorOf(user('x'.repeat(256)))).toThrow(
      /^the token's sub cannot be recorded as who made the change/,
    );
    expect(() => actorOf(service('x'.repeat(256)))).toThrow(
      /^the token's client_id cannot be recorded as who made the change/,
    );
  });
});
