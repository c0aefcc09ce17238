import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IMAGES } from './containers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFile(`${ROOT}${path}`, 'utf8');

describe('one Kafka release on every path', () => {
  it('is a 4.x release in the native pom, the testcontainers image and docker compose', async () => {
    const pom = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(await read('infra/kafka/pom.xml'));
    const native = pom?.[1];
    expect(native).toMatch(/^4\.\d+\.\d+$/);
    expect(IMAGES.kafka).toBe(`apache/kafka:${native ?? ''}`);
    const compose = [...(await read('docker-compose.yml')).matchAll(/image: apache\/kafka:(\S+)/g)];
    expect(compose.length).toBeGreaterThan(0);
    for (const [, tag] of compose) expect(tag).toBe(native);
  });
});
