export { parseBrokers } from './brokers.js';
export { createKafka, driverFor } from './client.js';
export { kafkaConnectionFromEnv, mskIamToken } from './connection.js';
export type { KafkaAuth, KafkaClientName, KafkaConnection } from './connection.js';
export type {
  ConsumerOptions,
  IncomingMessage,
  KafkaAdmin,
  KafkaClient,
  KafkaConfig,
  KafkaConsumer,
  KafkaProducer,
  BatchControl,
  MessageControl,
  PartitionLag,
  PartitionOffsets,
  OutgoingMessage,
  TopicSpec,
} from './port.js';
export type {
  DriverAdmin,
  DriverConsumer,
  DriverConsumerOptions,
  DriverFactory,
  DriverMessage,
  DriverProducer,
  DriverRecord,
  KafkaDriver,
  PartitionLeader,
} from './driver.js';
export { kafkajsDriver } from './drivers/kafkajs.js';
export { platformaticDriver } from './drivers/platformatic.js';
export { keepTopics } from './topics.js';
export type { TopicKeeper } from './topics.js';
