/**
 * Path 2: PostgreSQL and Kafka in containers, through testcontainers, for
 * machines where a container runtime answers. testcontainers' reaper removes
 * the containers even when this process dies.
 */

import { findFreePort } from './process-util.js';

/** Images used when a container runtime is available. */
export const IMAGES = {
  postgres: 'postgres:17-alpine',
  // Apache's own image, the same release that the native path runs (infra/kafka/pom.xml)
  // and docker compose uses.
  kafka: 'apache/kafka:4.2.1',
} as const;

/** A server running in a container. */
export interface ContainerServer {
  /** DATABASE_URL or KAFKA_BROKERS value that reaches it. */
  readonly address: string;
  stop(): Promise<void>;
}

/** True when testcontainers finds a container runtime that answers. */
export async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startContainerPostgres(): Promise<ContainerServer> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer(IMAGES.postgres)
    .withDatabase('postgres')
    .withUsername('postgres')
    .withPassword('postgres')
    .withCommand(['postgres', '-c', 'max_connections=300', '-c', 'fsync=off'])
    .start();
  return {
    address: container.getConnectionUri(),
    stop: async () => {
      await container.stop();
    },
  };
}

/**
 * Kafka 4 in KRaft mode (one combined broker and controller) from Apache's
 * image. @testcontainers/kafka drives Confluent's images only, so this sets
 * the image's own variables. The broker must advertise the address a client
 * on this machine dials, so the host port is chosen before the container
 * starts; a second listener serves the broker's own traffic inside.
 */
export async function startContainerKafka(): Promise<ContainerServer> {
  const { GenericContainer, getContainerRuntimeClient, Wait } = await import('testcontainers');
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
  const hostPort = await findFreePort();
  const container = await new GenericContainer(IMAGES.kafka)
    .withExposedPorts({ container: 9092, host: hostPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'EXTERNAL://:9092,INTERNAL://:19092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `EXTERNAL://${host}:${hostPort},INTERNAL://localhost:19092`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:
        'EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '5',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_HEAP_OPTS: '-Xms512m -Xmx512m',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000)
    .start();
  return {
    address: `${host}:${hostPort}`,
    stop: async () => {
      await container.stop();
    },
  };
}
