#!/usr/bin/env node
// Stops `npm install`, `npm start` and `npm test` early, with one line that
// says what to install, when the Node.js running them is older than the
// project supports (package.json `engines`). Kept to syntax old Node reads.
import { readFileSync } from 'node:fs';

const wanted = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines
  .node;
const minimum = Number(/(\d+)/.exec(wanted)[1]);
const major = Number(process.versions.node.split('.')[0]);
if (major < minimum) {
  console.error(
    `This project needs Node.js ${minimum} or newer (package.json engines: "${wanted}"), and this is ${process.version}: install Node.js ${minimum} LTS (nvm install, with .nvmrc), or run scripts/node-runtime.sh ${minimum} and put the directory it prints first on PATH.`,
  );
  process.exit(1);
}
