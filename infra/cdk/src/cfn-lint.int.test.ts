import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCfnLint, runCfnLint } from '@comms/manifests';
import type { CfnLint } from '@comms/manifests';
import { synthTemplates } from './app.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const outdir = mkdtempSync(join(tmpdir(), 'comms-cdk-lint-'));
let lint: CfnLint;

beforeAll(() => {
  lint = ensureCfnLint(ROOT, process.env);
  if (!lint.available) console.warn(`cfn-lint checks skipped: ${lint.reason}`);
}, 300_000);
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('cfn-lint over the synthesised CDK templates', () => {
  // Each environment with Service Connect TLS off (the default) and on (-c serviceConnectTls=true).
  for (const [env, serviceConnectTls] of [
    ['test', false],
    ['test', true],
    ['prod', false],
    ['prod', true],
  ] as const) {
    it(`passes both ${env} stacks with serviceConnectTls=${String(serviceConnectTls)}`, async (context) => {
      if (!lint.available) return context.skip(lint.reason);
      // Every template the app synthesises: the platform's and the services'.
      const templates = await synthTemplates(
        join(outdir, `${env}-tls-${String(serviceConnectTls)}`),
        {
          env,
          serviceConnectTls,
        },
      );
      expect(templates.map((file) => basename(file)).sort()).toEqual([
        `comms-${env}-platform.template.json`,
        `comms-${env}-services.template.json`,
      ]);
      // W3005 (a DependsOn already implied by a Ref) comes from constructs
      // inside aws-cdk-lib, not from this app.
      expect(runCfnLint(lint, templates, { ignoreChecks: ['W3005'] }).problems).toEqual([]);
    }, 120_000);
  }
});
