// `npm run redrive -w @comms/notification-service`: once the cause of the
// failures is fixed, sends every dead-lettered message back to the topic it
// came from (original key, value and headers), so the consumer handles it
// again; handling is idempotent by event id. Stops when the DLQ is drained.
import { createKafka } from '@comms/kafka';
import type { OutgoingMessage } from '@comms/kafka';
import { loadConfig } from './config.js';
import { DLQ_HEADERS } from './consumer.js';

const config = loadConfig();
const kafka = createKafka({ ...config.kafka, clientId: 'notification-redrive' });
const producer = await kafka.producer();
const consumer = await kafka.consumer({
  groupId: `${config.CONSUMER_GROUP}-redrive`,
  topics: [config.DLQ_TOPIC],
});
const dlqValues = new Set<string>(Object.values(DLQ_HEADERS));
let redriven = 0;
let skipped = 0;
let lastActivity = Date.now();

await consumer.run(async (message) => {
  lastActivity = Date.now();
  const target = message.headers[DLQ_HEADERS.topic];
  if (target === undefined) {
    skipped += 1;
    console.warn(`offset ${message.offset}: no ${DLQ_HEADERS.topic} header; left alone`);
    return;
  }
  const headers = Object.fromEntries(
    Object.entries(message.headers).filter(([name]) => !dlqValues.has(name)),
  );
  headers[DLQ_HEADERS.redriven] = String(Number(message.headers[DLQ_HEADERS.redriven] ?? 0) + 1);
  const outgoing: OutgoingMessage = { key: message.key, value: message.value, headers };
  await producer.send(target, [outgoing]);
  redriven += 1;
});

// Wait until the redrive group has caught up with the DLQ, then leave.
for (;;) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const lag = consumer.joined() ? (await consumer.lag()).reduce((sum, p) => sum + p.lag, 0) : 1;
  if (lag === 0 && Date.now() - lastActivity > 1_000) break;
}
await consumer.close();
await producer.close();
console.log(`redriven ${redriven} message(s) from ${config.DLQ_TOPIC}; skipped ${skipped}`);
