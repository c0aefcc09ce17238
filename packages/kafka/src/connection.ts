import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { parseBrokers } from './brokers.js';

/**
 * How a client proves who it is to the brokers. `aws-msk-iam` signs a token
 * with the task's AWS credentials (Amazon MSK with IAM access control, as the
 * Copilot addon and the CDK app create it); the others are the classic
 * username/password mechanisms for self-managed clusters.
 */
export type KafkaAuth =
  | { readonly mechanism: 'aws-msk-iam'; readonly region: string }
  | {
      readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
      readonly username: string;
      readonly password: string;
    };

/** The client libraries the adapter runs on (`KAFKA_CLIENT`). */
export type KafkaClientName = 'kafkajs' | 'platformatic';

const CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];

/** Where the cluster is and how to talk to it, as read from the environment. */
export interface KafkaConnection {
  readonly brokers: string[];
  /** The client library; `createKafka` picks its driver from this. */
  readonly client: KafkaClientName;
  /** TLS to the brokers (with the system's certificate authorities). */
  readonly ssl: boolean;
  readonly sasl?: KafkaAuth;
}

const MECHANISMS = ['aws-msk-iam', 'plain', 'scram-sha-256', 'scram-sha-512'] as const;

/**
 * Reads the Kafka connection of a service:
 *
 * - `KAFKA_BROKERS` `host:port[,host:port]` (required);
 * - `KAFKA_SASL_MECHANISM` `aws-msk-iam`, `plain`, `scram-sha-256` or
 *   `scram-sha-512` (unset: no authentication);
 * - `AWS_REGION` for `aws-msk-iam` (ECS sets it in every task);
 * - `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD` for the others;
 * - `KAFKA_SSL` `true`/`false`, by default true exactly when SASL is on;
 * - `KAFKA_CLIENT` `kafkajs` (default) or `platformatic` (@platformatic/kafka).
 *
 * Throws naming the variable and what it expects; never echoes a password.
 */
export function kafkaConnectionFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): KafkaConnection {
  const brokers = parseBrokers(env['KAFKA_BROKERS']);
  const mechanism = blankToUndefined(env['KAFKA_SASL_MECHANISM'])?.toLowerCase();
  let sasl: KafkaAuth | undefined;
  if (mechanism === 'aws-msk-iam') {
    const region =
      blankToUndefined(env['AWS_REGION']) ?? blankToUndefined(env['AWS_DEFAULT_REGION']);
    if (region === undefined) {
      throw new Error(
        'KAFKA_SASL_MECHANISM=aws-msk-iam needs AWS_REGION (the region of the MSK cluster, for example eu-west-1)',
      );
    }
    sasl = { mechanism, region };
  } else if (
    mechanism === 'plain' ||
    mechanism === 'scram-sha-256' ||
    mechanism === 'scram-sha-512'
  ) {
    const username = blankToUndefined(env['KAFKA_SASL_USERNAME']);
    const password = env['KAFKA_SASL_PASSWORD'];
    if (username === undefined || password === undefined || password === '') {
      throw new Error(
        `KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`,
      );
    }
    sasl = { mechanism, username, password };
  } else if (mechanism !== undefined) {
    throw new Error(
      `KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(', ')} (or unset for none), got '${mechanism}'`,
    );
  }
  const sslText = blankToUndefined(env['KAFKA_SSL'])?.toLowerCase();
  if (sslText !== undefined && sslText !== 'true' && sslText !== 'false') {
    throw new Error(`KAFKA_SSL must be true or false, got '${sslText}'`);
  }
  const ssl = sslText === undefined ? sasl !== undefined : sslText === 'true';
  const client = parseClient(env['KAFKA_CLIENT']);
  return sasl === undefined ? { brokers, client, ssl } : { brokers, client, ssl, sasl };
}

/**
 * A SASL/OAUTHBEARER token for Amazon MSK IAM access control: a presigned
 * `kafka-cluster:Connect` request signed with the default AWS credential
 * chain (the ECS task role in a container), valid for 15 minutes. The client
 * asks for a new one whenever it (re)authenticates.
 */
export async function mskIamToken(region: string): Promise<{ value: string; expiresAt: number }> {
  const { token, expiryTime } = await generateAuthToken({ region });
  return { value: token, expiresAt: expiryTime };
}

function parseClient(value: string | undefined): KafkaClientName {
  const text = blankToUndefined(value)?.toLowerCase() ?? 'kafkajs';
  const client = CLIENTS.find((name) => name === text);
  if (client === undefined) {
    throw new Error(
      `KAFKA_CLIENT must be one of ${CLIENTS.join(', ')} (or unset for kafkajs), got '${text}'`,
    );
  }
  return client;
}

function blankToUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
