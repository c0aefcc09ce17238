import { readFile } from 'node:fs/promises';
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderAsyncApi } from './asyncapi.js';
import { CONSUMER_GROUPS, EVENT_CATALOG, TOPIC_PARTITIONS, TOPICS } from './catalog.js';
import { CLOUDEVENTS_CONTENT_TYPE, parseEvent } from './codec.js';

const DOCUMENT = new URL('../../../../docs/asyncapi.yaml', import.meta.url);
const REGENERATE = 'npx turbo run asyncapi --filter=@comms/contracts';

// One parser for the file: building one loads its whole rule set. Parsing
// runs those rules (seconds of CPU each time on a busy two-core machine),
// hence the generous timeouts below.
const parser = new Parser();
const PARSE_TIMEOUT_MS = 120_000;

// DiagnosticSeverity of @stoplight/types: 0 error, 1 warning, 2 information, 3 hint.
async function parsed(text: string) {
  const { document, diagnostics } = await parser.parse(text);
  const problems = diagnostics
    .filter((d) => Number(d.severity) <= 1)
    .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
  return { document, problems };
}

describe('docs/asyncapi.yaml', () => {
  it('is what the event catalog generates', async () => {
    const committed = await readFile(DOCUMENT, 'utf8');
    // One readable line instead of a diff of 900: the fix is always the same.
    expect(
      committed === renderAsyncApi(),
      `docs/asyncapi.yaml differs from what packages/contracts generates: run \`${REGENERATE}\` and commit the file`,
    ).toBe(true);
  });

  it(
    'is a valid AsyncAPI 3.0 document, by @asyncapi/parser',
    async () => {
      const { document, problems } = await parsed(await readFile(DOCUMENT, 'utf8'));
      expect(problems).toEqual([]);
      expect(document?.version()).toBe('3.0.0');
    },
    PARSE_TIMEOUT_MS,
  );

  it.each([
    ['an unknown action', (t: string) => t.replace('action: send', 'action: publish')],
    ['a reference to nothing', (t: string) => t.replace('#/channels/users"', '#/channels/nobody"')],
    [
      'a channel without its address type',
      (t: string) => t.replace('address: users', 'address: [users]'),
    ],
  ])(
    'the parser check refuses %s',
    async (_label, breakIt) => {
      const text = await readFile(DOCUMENT, 'utf8');
      const broken = breakIt(text);
      expect(broken).not.toBe(text);
      expect((await parsed(broken)).problems).not.toEqual([]);
    },
    PARSE_TIMEOUT_MS,
  );

  it('has every event type and version on its topic, with the schema the code validates with', async () => {
    const doc = parse(await readFile(DOCUMENT, 'utf8')) as {
      channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
      components: {
        messages: Record<
          string,
          { name: string; payload: { properties: { data: unknown } }; examples: unknown[] }
        >;
      };
    };
    for (const [type, entry] of Object.entries(EVENT_CATALOG)) {
      const channel = Object.values(doc.channels).find((c) => c.address === entry.topic);
      const refs = Object.values(channel?.messages ?? {}).map((m) => m.$ref.split('/').pop());
      const message = Object.values(doc.components.messages).find((m) => m.name === type);
      expect(message, type).toBeDefined();
      expect(refs, `${type} on ${entry.topic}`).toContain(
        Object.keys(doc.components.messages).find((k) => doc.components.messages[k] === message),
      );
      expect(message?.payload.properties.data).toEqual(JSON.parse(JSON.stringify(entry.data)));
      // The example in the document is an event the consumers accept.
      for (const example of message?.examples ?? []) {
        const { payload } = example as { payload: unknown };
        expect(parseEvent(payload).type).toBe(type);
      }
    }
  });

  it('states the topics, partitions, headers and consumer group the services use', async () => {
    const text = await readFile(DOCUMENT, 'utf8');
    const doc = parse(text) as {
      channels: Record<string, { address: string; bindings: { kafka: { partitions: number } } }>;
      operations: Record<string, { bindings?: { kafka: { groupId: { const: string } } } }>;
    };
    const partitions = Object.fromEntries(
      Object.values(doc.channels).map((c) => [c.address, c.bindings.kafka.partitions]),
    );
    expect(partitions).toEqual({
      [TOPICS.users]: TOPIC_PARTITIONS.users,
      [TOPICS.orders]: TOPIC_PARTITIONS.orders,
      [TOPICS.notificationsDlq]: TOPIC_PARTITIONS.notificationsDlq,
    });
    const groups = Object.values(doc.operations).flatMap((o) =>
      o.bindings === undefined ? [] : [o.bindings.kafka.groupId.const],
    );
    expect(new Set(groups)).toEqual(new Set([CONSUMER_GROUPS.notificationService]));
    expect(text).toContain(`const: ${CLOUDEVENTS_CONTENT_TYPE}`);
    expect(text).toContain('traceparent:');
  });
});
