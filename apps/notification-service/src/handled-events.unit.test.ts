import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { EVENT_CATALOG } from '@comms/contracts';
import { EVENT_HANDLING, handlingOf } from './handled-events.js';

const BASELINE = createRequire(import.meta.url).resolve('@comms/contracts/baseline/events.json');

/** Every version ever published (the baseline) and every one the producers have now (the catalog). */
async function producedVersions(): Promise<string[]> {
  const baseline = JSON.parse(await readFile(BASELINE, 'utf8')) as {
    events: Record<string, unknown>;
  };
  return [...new Set([...Object.keys(baseline.events), ...Object.keys(EVENT_CATALOG)])].sort();
}

describe("notification-service's declaration of the events it consumes", () => {
  it('handles or ignores, on purpose, every event version the producers ever published', async () => {
    const undeclared = (await producedVersions()).filter((type) => handlingOf(type) === undefined);
    expect(
      undeclared,
      'notification-service neither handles nor ignores these: add each to EVENT_HANDLING in src/handled-events.ts',
    ).toEqual([]);
  });

  it('declares nothing that no producer ever published', async () => {
    const produced = new Set(await producedVersions());
    expect(Object.keys(EVENT_HANDLING).filter((type) => !produced.has(type))).toEqual([]);
  });
});
