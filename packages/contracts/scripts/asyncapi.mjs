// Writes docs/asyncapi.yaml from the event catalog (run after the build, as
// the turbo task `asyncapi` does). asyncapi.unit.test.ts fails when the
// committed file differs from what this writes.
import { writeFile } from 'node:fs/promises';
import process from 'node:process';
import { URL } from 'node:url';
import { renderAsyncApi } from '../dist/events/asyncapi.js';

const target = new URL('../../../docs/asyncapi.yaml', import.meta.url);
await writeFile(target, renderAsyncApi());
process.stdout.write(`wrote ${target.pathname}\n`);
