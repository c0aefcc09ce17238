import type { CalleeCredential } from '@comms/auth';
import { createRoundRobin } from '@comms/endpoints';
import type { Pool, PoolClient } from '@comms/postgres';
import { createCircuitBreaker } from '@comms/service-kit';
import type { BreakerState, Logger } from '@comms/service-kit';

/** Who gets a notification. */
export interface Contact {
  readonly userId: string;
  readonly name: string;
  readonly email: string;
}

/** The recipient could not be determined now; try again later. */
export class RecipientUnknown extends Error {
  override readonly name = 'RecipientUnknown';
}

/** Writes a user's contact details into the local replica, never replacing newer ones with older. */
export async function upsertContact(
  db: Pool | PoolClient,
  contact: Contact & { status: string; asOf: string | Date },
): Promise<void> {
  await db.query(
    `INSERT INTO user_contacts (user_id, name, email, status, as_of) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (user_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
       status = EXCLUDED.status, as_of = EXCLUDED.as_of
     WHERE user_contacts.as_of <= EXCLUDED.as_of`,
    [contact.userId, contact.name, contact.email, contact.status, contact.asOf],
  );
}

/**
 * Finds a recipient: first the local replica built from user events; when
 * an order event arrived before its user's event, user-service's REST API
 * (with a deadline and a circuit breaker, and this service's own token when
 * it has one). If that fails too, the caller
 * keeps the event and retries later: it never drops or guesses.
 */
export function createRecipients(deps: {
  pool: Pool;
  /** user-service's base URL, or one per instance: each lookup takes the next in turn. */
  userServiceUrl: string | readonly string[];
  timeoutMs: number;
  logger?: Logger;
  /** notification-service's own token for user-service (service identity), when it has one. */
  credential?: CalleeCredential;
}) {
  const nextUrl = createRoundRobin(
    typeof deps.userServiceUrl === 'string' ? [deps.userServiceUrl] : deps.userServiceUrl,
  );
  const breaker = createCircuitBreaker({
    name: 'user-service (contact lookup over REST)',
    failureThreshold: 5,
    openMs: 5_000,
    onStateChange: (state) =>
      deps.logger?.warn({ breaker: state }, `contact lookup circuit ${state}`),
  });

  return {
    breakerState: (): BreakerState => breaker.state(),
    async find(userId: string): Promise<Contact> {
      const local = await deps.pool.query<{ name: string; email: string }>(
        'SELECT name, email FROM user_contacts WHERE user_id = $1',
        [userId],
      );
      const row = local.rows[0];
      if (row !== undefined) return { userId, name: row.name, email: row.email };
      return remote(userId);
    },
    /** Asks user-service for a contact the replica does not have, and keeps the answer. */
    remote,
  };

  async function remote(userId: string): Promise<Contact> {
    let response: Response;
    try {
      // The token first, outside the breaker: the deadline and the breaker
      // are about user-service, not about the token issuer.
      const headers =
        deps.credential === undefined
          ? undefined
          : { authorization: `Bearer ${await deps.credential.token()}` };
      response = await breaker.run(async () => {
        const answer = await fetch(`${nextUrl()}/users/${encodeURIComponent(userId)}`, {
          ...(headers === undefined ? {} : { headers }),
          signal: AbortSignal.timeout(deps.timeoutMs),
        });
        if (answer.status === 401) deps.credential?.refused();
        if (answer.status >= 500) throw new Error(`user-service answered ${answer.status}`);
        return answer;
      });
    } catch (error) {
      throw new RecipientUnknown(
        `user ${userId} is not in the replica and user-service did not answer: ${(error as Error).message}`,
      );
    }
    if (response.status === 404) throw new RecipientUnknown(`user ${userId} is not known yet`);
    if (!response.ok)
      throw new RecipientUnknown(`user-service answered ${response.status} for user ${userId}`);
    const user = (await response.json()) as {
      id: string;
      name: string;
      email: string;
      status: string;
      createdAt: string;
    };
    // Keep what we learned; the user's own events will refresh it.
    await upsertContact(deps.pool, {
      userId,
      name: user.name,
      email: user.email,
      status: user.status,
      asOf: user.createdAt,
    });
    return { userId, name: user.name, email: user.email };
  }
}

export type Recipients = ReturnType<typeof createRecipients>;
