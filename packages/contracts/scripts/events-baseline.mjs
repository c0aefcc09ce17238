// Records the event versions of the catalog in baseline/events.json, the
// baseline the compatibility check compares against (as proto/baseline.binpb
// is for buf). Run it deliberately, after the build, when a new version is
// added or a published one gained an optional field:
//   npx turbo run events:baseline --filter=@comms/contracts
// A version already recorded keeps its first example (a real event of it as
// first published); its schema moves forward only by compatible changes. A
// breaking change is refused here as in the test: it needs a new version.
import { readFile, writeFile } from 'node:fs/promises';
import process from 'node:process';
import { URL } from 'node:url';
import { EVENT_CATALOG, EventEnvelope } from '../dist/events/index.js';
import { breakingChanges, describeBreakingChange } from '../dist/events/compatibility.js';

const target = new URL('../baseline/events.json', import.meta.url);
const plain = (schema) => JSON.parse(JSON.stringify(schema));

let baseline;
try {
  baseline = JSON.parse(await readFile(target, 'utf8'));
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
  baseline = { envelope: plain(EventEnvelope), events: {} };
}

const current = {
  envelope: plain(EventEnvelope),
  events: Object.fromEntries(
    Object.entries(EVENT_CATALOG).map(([type, e]) => [
      type,
      { topic: e.topic, data: plain(e.data) },
    ]),
  ),
};
const breaking = breakingChanges(baseline, current);
if (breaking.length > 0) {
  for (const change of breaking) process.stderr.write(`${describeBreakingChange(change)}\n`);
  process.stderr.write('baseline/events.json left as it was\n');
  process.exit(1);
}

const events = { ...baseline.events };
const added = [];
for (const [type, now] of Object.entries(current.events)) {
  const kept = events[type];
  if (kept === undefined) {
    const fixture = new URL(`../fixtures/events/${type}.json`, import.meta.url);
    events[type] = { ...now, example: JSON.parse(await readFile(fixture, 'utf8')) };
    added.push(type);
  } else {
    events[type] = { ...now, example: kept.example };
  }
}
const sorted = Object.fromEntries(Object.entries(events).sort(([a], [b]) => a.localeCompare(b)));
await writeFile(
  target,
  `${JSON.stringify({ envelope: current.envelope, events: sorted }, null, 2)}\n`,
);
process.stdout.write(
  `baseline/events.json: ${Object.keys(sorted).length} version(s)` +
    (added.length > 0 ? `, added ${added.join(', ')}\n` : ', none added\n'),
);
