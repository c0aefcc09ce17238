/**
 * Path 2: PostgreSQL and Kafka in containers, through testcontainers, for
 * machines where a container runtime answers. testcontainers' reaper removes
 * the containers even when this process dies.
 */

/** Images used when a container runtime is available. */
export const IMAGES = {
  postgres: 'postgres:17-alpine',
  // Confluent Platform 7.9 ships Apache Kafka 3.9; testcontainers' KafkaContainer drives it in KRaft mode.
  kafka: 'confluentinc/cp-kafka:7.9.0',
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

export async function startContainerKafka(): Promise<ContainerServer> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const container = await new KafkaContainer(IMAGES.kafka)
    .withKraft()
    .withEnvironment({
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '5',
    })
    .start();
  return {
    address: `${container.getHost()}:${container.getMappedPort(9093)}`,
    stop: async () => {
      await container.stop();
    },
  };
}
