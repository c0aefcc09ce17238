import { readFile } from 'node:fs/promises';
import Type from 'typebox';
import type { TSchema } from 'typebox';
import { describe, expect, it } from 'vitest';
import { EVENT_CATALOG } from './catalog.js';
import { EventEnvelope, parseEvent } from './codec.js';
import {
  breakingChanges,
  compareSchemas,
  describeBreakingChange,
  unbaselinedVersions,
} from './compatibility.js';
import type { EventBaseline } from './compatibility.js';

const BASELINE = new URL('../../baseline/events.json', import.meta.url);

type Current = Parameters<typeof breakingChanges>[1];
type MutableSchema = { [keyword: string]: unknown };

const plain = (schema: unknown): MutableSchema =>
  JSON.parse(JSON.stringify(schema)) as MutableSchema;

async function baseline(): Promise<EventBaseline> {
  return JSON.parse(await readFile(BASELINE, 'utf8')) as EventBaseline;
}

/** The catalog as the check sees it, as plain JSON that a case may change. */
function catalogNow(): {
  envelope: MutableSchema;
  events: Record<string, { topic: string; data: MutableSchema }>;
} {
  return {
    envelope: plain(EventEnvelope),
    events: Object.fromEntries(
      Object.entries(EVENT_CATALOG).map(([type, e]) => [
        type,
        { topic: e.topic, data: plain(e.data) },
      ]),
    ),
  };
}

function props(schema: MutableSchema): Record<string, MutableSchema> {
  return schema['properties'] as Record<string, MutableSchema>;
}

function messages(published: EventBaseline, current: Current): string[] {
  return breakingChanges(published, current).map(describeBreakingChange);
}

describe('the event catalog against baseline/events.json', () => {
  it('changes no published version in a way that breaks a consumer', async () => {
    expect(messages(await baseline(), catalogNow())).toEqual([]);
  });

  it('records every version of the catalog', async () => {
    expect(
      unbaselinedVersions(await baseline(), EVENT_CATALOG),
      'new event versions: run `npx turbo run events:baseline --filter=@comms/contracts` and commit baseline/events.json',
    ).toEqual([]);
  });

  it('keeps an example of every published version that the codec still accepts', async () => {
    for (const [type, published] of Object.entries((await baseline()).events)) {
      expect(parseEvent(published.example).type, type).toBe(type);
    }
  });
});

// Each case changes the catalog as a developer might; the check must refuse it.
describe('a breaking change to a published version is refused', () => {
  it.each<[string, (now: ReturnType<typeof catalogNow>) => void, string, string]>([
    [
      'a field removed',
      (now) => {
        const data = now.events['order.created.v1']!.data;
        delete props(data)['userName'];
        data['required'] = (data['required'] as string[]).filter((n) => n !== 'userName');
      },
      'order.created.v1 data.userName: field removed (or renamed)',
      'order.created.v2',
    ],
    [
      'a field renamed',
      (now) => {
        const data = now.events['user.registered.v1']!.data;
        const { email, ...rest } = props(data);
        data['properties'] = { ...rest, emailAddress: email };
        data['required'] = (data['required'] as string[]).map((n) =>
          n === 'email' ? 'emailAddress' : n,
        );
      },
      'user.registered.v1 data.email: field removed (or renamed)',
      'user.registered.v2',
    ],
    [
      'a type changed',
      (now) => {
        const line = props(now.events['order.created.v1']!.data)['items']![
          'items'
        ] as MutableSchema;
        props(line)['quantity'] = { type: 'string' };
      },
      'order.created.v1 data.items[].quantity: type changed from "integer" to "string"',
      'order.created.v2',
    ],
    [
      'a constraint tightened',
      (now) => {
        const line = props(now.events['order.created.v1']!.data)['items']![
          'items'
        ] as MutableSchema;
        props(line)['productId']!['maxLength'] = 100;
      },
      'order.created.v1 data.items[].productId: maxLength tightened from 200 to 100',
      'order.created.v2',
    ],
    [
      'a constraint added',
      (now) => {
        props(now.events['order.cancelled.v1']!.data)['reason']!['minLength'] = 1;
      },
      'order.cancelled.v1 data.reason: minLength 1 added (a constraint tightened)',
      'order.cancelled.v2',
    ],
    [
      'a pattern changed',
      (now) => {
        props(now.events['order.paid.v1']!.data)['amount']!['pattern'] = '^[0-9]+$';
      },
      'order.paid.v1 data.amount: pattern changed',
      'order.paid.v2',
    ],
    [
      'a constraint loosened, which consumers of the published version refuse',
      (now) => {
        props(now.events['user.registered.v1']!.data)['email']!['maxLength'] = 320;
      },
      'user.registered.v1 data.email: maxLength loosened from 254 to 320',
      'user.registered.v2',
    ],
    [
      'a required field added',
      (now) => {
        const data = now.events['order.shipped.v1']!.data;
        props(data)['carrier'] = { type: 'string' };
        data['required'] = [...(data['required'] as string[]), 'carrier'];
      },
      'order.shipped.v1 data.carrier: required field added',
      'order.shipped.v2',
    ],
    [
      'a published version removed from the catalog',
      (now) => {
        delete now.events['user.deactivated.v1'];
      },
      'user.deactivated.v1: removed from EVENT_CATALOG',
      'user.deactivated.v2',
    ],
    [
      'a version moved to another topic',
      (now) => {
        now.events['order.paid.v1']!.topic = 'payments';
      },
      'order.paid.v1: moved from topic orders to payments',
      'order.paid.v2',
    ],
  ])('%s', async (_label, change, expected, nextVersion) => {
    const now = catalogNow();
    change(now);
    const refused = messages(await baseline(), now);
    expect(refused).toEqual(expect.arrayContaining([expect.stringContaining(expected)]));
    for (const message of refused)
      expect(message).toContain(`add the change as a new version, ${nextVersion}`);
  });

  it('refuses a change to the envelope every version shares', async () => {
    const now = catalogNow();
    props(now.envelope)['subject']!['maxLength'] = 100;
    expect(messages(await baseline(), now)).toEqual([
      expect.stringContaining('envelope subject: maxLength tightened from 200 to 100'),
    ]);
  });
});

// Schemas the catalog has no example of yet: an optional field, an enumeration.
describe('schema changes, field by field', () => {
  const compare = (before: TSchema, after: TSchema) =>
    compareSchemas(plain(before), plain(after), 'data').map((c) => `${c.path}: ${c.change}`);

  it.each<[string, TSchema, TSchema, string]>([
    [
      'optional made required',
      Type.Object({ note: Type.Optional(Type.String()) }),
      Type.Object({ note: Type.String() }),
      'data.note: optional field made required',
    ],
    [
      'required made optional',
      Type.Object({ note: Type.String() }),
      Type.Object({ note: Type.Optional(Type.String()) }),
      'data.note: required field made optional',
    ],
    [
      'an enum narrowed (enum)',
      Type.Object({ state: Type.Enum(['open', 'closed', 'held']) }),
      Type.Object({ state: Type.Enum(['open', 'closed']) }),
      'data.state: enum narrowed: "held" removed',
    ],
    [
      'an enum narrowed (union of literals)',
      Type.Object({ state: Type.Union([Type.Literal('open'), Type.Literal('closed')]) }),
      Type.Object({ state: Type.Literal('open') }),
      'data.state: enum narrowed: "closed" removed',
    ],
    [
      'an enum widened',
      Type.Object({ state: Type.Union([Type.Literal('open'), Type.Literal('closed')]) }),
      Type.Object({
        state: Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('held')]),
      }),
      'data.state: enum widened: "held" added',
    ],
    [
      'unknown fields refused',
      Type.Object({ note: Type.String() }),
      Type.Object({ note: Type.String() }, { additionalProperties: false }),
      'data: additionalProperties false added (a constraint tightened)',
    ],
  ])('%s', (_label, before, after, expected) => {
    expect(compare(before, after)).toEqual([expect.stringContaining(expected)]);
  });
});

describe('a compatible change passes', () => {
  it('an optional field added to a published version, with its description', async () => {
    const now = catalogNow();
    const data = now.events['order.created.v1']!.data;
    props(data)['giftMessage'] = {
      type: 'string',
      maxLength: 500,
      description: 'Printed on the slip.',
    };
    data['description'] = 'An order was placed for a validated user.';
    expect(messages(await baseline(), now)).toEqual([]);
  });
});
