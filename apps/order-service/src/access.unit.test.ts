import { actorOf } from '@comms/auth';
import type { Principal, TokenVerifier } from '@comms/auth';
import { AppError } from '@comms/service-kit';
import { describe, expect, it } from 'vitest';
import { createOrderAccess } from './access.js';

// The rules alone; the tokens they get are real in auth.int.test.ts.
const refuse = (): Promise<Principal> => Promise.reject(new Error('no token in a unit test'));
const verifier: TokenVerifier = { verify: refuse, authenticate: refuse };
const access = createOrderAccess({ verifier, operatorRole: 'operator' });

const principal = (over: Partial<Principal>): Principal => ({
  subject: 'u-1',
  kind: 'user',
  roles: [],
  clientId: 'comms-cli',
  scopes: [],
  expiresAt: Date.now() + 60_000,
  ...over,
});
const ada = principal({ subject: 'ada' });
const operator = principal({ subject: 'ops', roles: ['operator'] });
const console_ = principal({ subject: 'console', kind: 'service', clientId: 'console' });
const ORDER = '5e1d2c3b-4a59-4876-9543-210fedcba987';

/** A load of Brian's order that counts its calls. */
function brians() {
  const calls = { n: 0 };
  return {
    calls,
    load: () => {
      calls.n += 1;
      return Promise.resolve({ userId: 'brian' });
    },
  };
}

async function codeOf(work: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await work();
    return undefined;
  } catch (error) {
    return error instanceof AppError ? `${error.code}: ${error.message}` : String(error);
  }
}

/** A load of an id that names no order, as the store answers it. */
const nobodys = () => Promise.reject(new AppError('NOT_FOUND', `order ${ORDER} not found`));

describe('given a user who is neither the owner nor an operator', () => {
  it('when they read the order, then the permission is refused, as for an unknown id', async () => {
    const { load } = brians();
    const refusal = `PERMISSION_DENIED: permission 'orders:read' is for the order's owner or the role 'operator'; user 'ada' has no order '${ORDER}'`;
    expect(await codeOf(() => access.read(ada, ORDER, load))).toBe(refusal);
    expect(await codeOf(() => access.read(ada, ORDER, nobodys))).toBe(refusal);
  });

  it.each(['pay', 'cancel'] as const)(
    'when they %s it, then the permission is refused, as for an unknown id',
    async (action) => {
      const { load } = brians();
      const refusal = `PERMISSION_DENIED: permission 'orders:${action}' is for the order's owner; user 'ada' has no order '${ORDER}'`;
      expect(await codeOf(() => access.act(ada, action, ORDER, load))).toBe(refusal);
      expect(await codeOf(() => access.act(ada, action, ORDER, nobodys))).toBe(refusal);
    },
  );

  it('when they ship it, then the role is refused before the order is even loaded', async () => {
    const { load, calls } = brians();
    expect(await codeOf(() => access.act(ada, 'ship', ORDER, load))).toMatch(
      /^PERMISSION_DENIED: permission 'orders:ship' needs the role 'operator'/,
    );
    expect(calls.n).toBe(0);
  });
});

describe('given a service token', () => {
  it('when it reads an order, then it is refused before the order is loaded', async () => {
    const { load, calls } = brians();
    expect(await codeOf(() => access.read(console_, ORDER, load))).toMatch(
      /^PERMISSION_DENIED: permission 'orders:read' needs an end user's token/,
    );
    expect(calls.n).toBe(0);
  });
});

describe('given the operator', () => {
  it('reads anyone’s order, and may be told it exists but is not theirs to pay', async () => {
    const { load } = brians();
    await expect(access.read(operator, ORDER, load)).resolves.toEqual({ userId: 'brian' });
    expect(await codeOf(() => access.act(operator, 'pay', ORDER, load))).toMatch(
      /^PERMISSION_DENIED: permission 'orders:pay' is for the order's owner/,
    );
    await expect(access.act(operator, 'ship', ORDER, load)).resolves.toBeUndefined();
  });

  it('is told an unknown id is not found', async () => {
    const notFound = `NOT_FOUND: order ${ORDER} not found`;
    expect(await codeOf(() => access.read(operator, ORDER, nobodys))).toBe(notFound);
    expect(await codeOf(() => access.act(operator, 'pay', ORDER, nobodys))).toBe(notFound);
  });
});

describe('with authentication off', () => {
  it('loads and passes everything, and records no actor', async () => {
    const open = createOrderAccess(undefined);
    const { load } = brians();
    await expect(open.read(undefined, ORDER, load)).resolves.toEqual({ userId: 'brian' });
    await expect(open.act(undefined, 'pay', ORDER, load)).resolves.toBeUndefined();
    expect(actorOf(undefined)).toBeUndefined();
  });
});
