// Decoding a Kafka record into a validated event: the hand-written codec
// (parseKafkaEvent) against the `cloudevents` SDK's Kafka binding
// (Kafka.toEvent), each in structured and binary mode. The SDK does not know
// the event schemas, so its path still ends in parseEvent; what is measured
// is what the consumer would run per message. Median of interleaved trials,
// with the spread (min..max), in microseconds per record.
//   npx turbo run build --filter=@comms/contracts && node scripts/bench-cloudevents.mjs
import { Buffer } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { URL } from 'node:url';
import { Kafka } from 'cloudevents';
import { CLOUDEVENTS_CONTENT_TYPE, parseEvent, parseKafkaEvent } from '../dist/events/index.js';

const TRIALS = Number(process.env.TRIALS ?? 15);
const PER_TRIAL = Number(process.env.PER_TRIAL ?? 20000);

const event = JSON.parse(
  await readFile(new URL('../fixtures/events/order.created.v1.json', import.meta.url), 'utf8'),
);
const { data, datacontenttype: _ct, ...attributes } = event;
const structured = {
  key: event.subject,
  value: Buffer.from(JSON.stringify(event)),
  headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
};
const binaryHeaders = { 'content-type': 'application/json' };
for (const [name, value] of Object.entries(attributes)) binaryHeaders[`ce_${name}`] = String(value);
const binary = {
  key: event.subject,
  value: Buffer.from(JSON.stringify(data)),
  headers: binaryHeaders,
};

const cases = {
  'codec structured': () => parseKafkaEvent(structured.value, structured.headers),
  'sdk structured': () => parseEvent({ ...Kafka.toEvent(structured) }),
  'codec binary': () => parseKafkaEvent(binary.value, binary.headers),
  'sdk binary': () => parseEvent({ ...Kafka.toEvent(binary) }),
};
// Same result, or the comparison means nothing.
for (const [name, run] of Object.entries(cases))
  if (run().data.orderId !== data.orderId) throw new Error(`${name} decoded something else`);

const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let trial = 0; trial < TRIALS + 2; trial++) {
  // Rotate the order so no case always runs first (or warm); two warm-up rounds are dropped.
  const names = Object.keys(cases);
  const order = [...names.slice(trial % names.length), ...names.slice(0, trial % names.length)];
  for (const name of order) {
    const run = cases[name];
    const start = process.hrtime.bigint();
    for (let i = 0; i < PER_TRIAL; i++) run();
    const us = Number(process.hrtime.bigint() - start) / 1000 / PER_TRIAL;
    if (trial >= 2) samples[name].push(us);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
process.stdout.write(`node ${process.version}, ${TRIALS} trials x ${PER_TRIAL} records\n`);
for (const [name, xs] of Object.entries(samples)) {
  const sorted = [...xs].sort((a, b) => a - b);
  process.stdout.write(
    `${name.padEnd(18)} median ${median(xs).toFixed(2)} us  (min ${sorted[0].toFixed(2)}, max ${sorted.at(-1).toFixed(2)})\n`,
  );
}
