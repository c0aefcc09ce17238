// `npm run redrive -w @comms/notification-service`: once the cause of the
// failures is fixed, sends every dead-lettered message back to the topic it
// came from (redriveDlq in dlq.ts; `POST /dlq/redrive` runs the same). Stops
// when the DLQ is drained.
import { createKafka } from '@comms/kafka';
import { createLogger } from '@comms/service-kit';
import { loadConfig } from './config.js';
import { redriveDlq, redriveGroupOf } from './dlq.js';

const config = loadConfig();
const kafka = createKafka({ ...config.kafka, clientId: 'notification-redrive' });
const producer = await kafka.producer();
const outcome = await redriveDlq({
  kafka,
  producer,
  dlqTopic: config.DLQ_TOPIC,
  redriveGroup: redriveGroupOf(config.CONSUMER_GROUP),
  timeoutMs: 120_000,
  logger: createLogger('notification-redrive', config.LOG_LEVEL),
});
await producer.close();
console.log(
  `redriven ${String(outcome.redriven)} message(s) from ${config.DLQ_TOPIC}; skipped ${String(outcome.skipped)}${outcome.drained ? '' : '; not drained within 120 s, run it again'}`,
);
