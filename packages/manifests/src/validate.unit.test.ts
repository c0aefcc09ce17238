import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatProblem, validateManifest } from './validate.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BROKEN = fileURLToPath(new URL('../fixtures/broken/', import.meta.url));

const manifests = [
  'copilot/environments/test/manifest.yml',
  'copilot/environments/prod/manifest.yml',
  'copilot/user-service/manifest.yml',
  'copilot/order-service/manifest.yml',
  'copilot/notification-service/manifest.yml',
];

describe('the Copilot manifests of the project', () => {
  it('lists every manifest under copilot/', () => {
    const found = readdirSync(join(ROOT, 'copilot'), { recursive: true, encoding: 'utf8' })
      .filter((path) => path.endsWith('manifest.yml'))
      .map((path) => `copilot/${path}`)
      .sort();
    expect(found).toEqual([...manifests].sort());
  });

  it.each(manifests)('%s passes the strict checks', (file) => {
    const problems = validateManifest(file, readFileSync(join(ROOT, file), 'utf8'), ROOT);
    expect(problems.map(formatProblem)).toEqual([]);
  });

  it('keeps order-service the only public service', () => {
    const types = manifests
      .filter((f) => !f.includes('environments'))
      .map((f) => [f, /^type: (.+)$/m.exec(readFileSync(join(ROOT, f), 'utf8'))?.[1]]);
    expect(
      types.filter(([, type]) => type === 'Load Balanced Web Service').map(([f]) => f),
    ).toEqual(['copilot/order-service/manifest.yml']);
  });

  it('patches user-service to register its gRPC port as user-service-grpc', () => {
    const patch = readFileSync(
      join(ROOT, 'copilot/user-service/overrides/cfn.patches.yml'),
      'utf8',
    );
    expect(patch).toMatch(/DiscoveryName: user-service-grpc/);
    expect(patch).toMatch(/ContainerPort: 50051/);
    expect(patch).toMatch(/AppProtocol: grpc/);
  });
});

describe('broken fixtures are rejected with a message that points at the line', () => {
  const fixtures = readdirSync(BROKEN).filter((f) => f.endsWith('.yml'));

  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(8);
  });

  it.each(fixtures)('%s', (fixture) => {
    const text = readFileSync(join(BROKEN, fixture), 'utf8');
    const expectation = /^# expect: (\d+): (.+)$/m.exec(text);
    expect(expectation, 'fixture states what it expects').not.toBeNull();
    const [, line, message] = expectation ?? [];
    const problems = validateManifest(`fixtures/broken/${fixture}`, text, ROOT).map(formatProblem);
    expect(problems.length).toBeGreaterThan(0);
    const wanted = new RegExp(
      `^fixtures/broken/${fixture.replace('.', '\\.')}:${line}: ${message ?? ''}`,
    );
    expect(
      problems.some((p) => wanted.test(p)),
      `${wanted} in\n${problems.join('\n')}`,
    ).toBe(true);
  });
});
