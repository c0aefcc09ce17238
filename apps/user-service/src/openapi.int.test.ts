// user-service's REST contract, kept: docs/openapi/user-service.json is the
// OpenAPI document the service serves at GET /docs/json, committed so that a
// change to it is seen in review. After a deliberate change to the routes:
//   cd apps/user-service && npx vitest run src/openapi.int.test.ts -u
// docs/openapi/baseline/user-service.json is the published document: oasdiff's
// breaking check refuses a change that would break its clients. Copy the
// document over it only when publishing a new API on purpose (docs/contracts.md).
// The document is the default one, AUTH_ISSUER_URL unset: the bearer scheme is
// declared and each secured route lists it beside the empty requirement (a token
// is optional then); with AUTH_ISSUER_URL set the served document requires it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  describeOpenApiContract,
  openApiBreakingChanges,
  openApiPaths,
  testInfra,
} from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { loadConfig } from './config.js';
import { startUserService } from './main.js';

const { baseline: BASELINE } = openApiPaths('user-service');

let db: TestDatabase;
let service: Awaited<ReturnType<typeof startUserService>>;

beforeAll(async () => {
  db = await createTestDatabase('user_openapi');
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: testInfra().kafkaBrokers,
    KAFKA_CLIENT: testInfra().kafkaClient,
    LOG_LEVEL: 'silent',
  });
  service = await startUserService({ ...config, PORT: 0, GRPC_PORT: 0 });
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
  await db.drop();
});

describeOpenApiContract('user-service', () =>
  service.app.inject({ method: 'GET', url: '/docs/json' }),
);

// The check above is only as good as oasdiff's verdicts on this document:
// changes a client would notice must be refused, an addition must pass.
describe('oasdiff breaking, on changes to the published user-service document', () => {
  type Doc = {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  const requestSchema = (doc: Doc) =>
    (
      doc.paths['/users']!['post']!['requestBody'] as {
        content: Record<string, { schema: { required: string[]; properties: object } }>;
      }
    ).content['application/json']!.schema;
  const createdSchema = (doc: Doc) =>
    (
      doc.paths['/users']!['post']!['responses'] as Record<
        string,
        { content: Record<string, { schema: { required: string[]; properties: object } }> }
      >
    )['201']!.content['application/json']!.schema;

  it.each<[string, (doc: Doc) => void, boolean]>([
    ['a route removed', (doc) => void delete doc.paths['/users/{id}/deactivate'], true],
    [
      'a required request field added',
      (doc) => {
        const schema = requestSchema(doc);
        schema.properties = { ...schema.properties, phone: { type: 'string' } };
        schema.required = [...schema.required, 'phone'];
      },
      true,
    ],
    [
      'a response field removed',
      (doc) => {
        const schema = createdSchema(doc);
        const { email: _email, ...rest } = schema.properties as Record<string, unknown>;
        schema.properties = rest;
        schema.required = schema.required.filter((name) => name !== 'email');
      },
      true,
    ],
    [
      'an optional request field added',
      (doc) => {
        const schema = requestSchema(doc);
        schema.properties = { ...schema.properties, nickname: { type: 'string' } };
      },
      false,
    ],
  ])(
    '%s: breaking = %s',
    async (_label, change, expected) => {
      const doc = JSON.parse(await readFile(BASELINE, 'utf8')) as Doc;
      change(doc);
      const dir = await mkdtemp(join(tmpdir(), 'openapi-'));
      try {
        const revision = join(dir, 'user-service.json');
        await writeFile(revision, JSON.stringify(doc));
        const { breaking, report } = await openApiBreakingChanges(BASELINE, revision);
        expect(breaking, report).toBe(expected);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    600_000,
  );
});
