import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '@comms/endpoints';
import { checkCopilotWorkspace } from '@comms/manifests';
import { ENVIRONMENT_NAMES, SCALING_TARGETS, SIZING } from './config.js';

// The two ways to deploy (docs/deploy.md) must run the same number of tasks
// and scale them the same way: copilot/<service>/manifest.yml `count`
// (with each environment's override laid over it) against this app's config.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const workspace = checkCopilotWorkspace(ROOT);

describe('the Copilot manifests and the CDK app', () => {
  it('know the same environments', () => {
    expect([...workspace.environmentNames].sort()).toEqual([...ENVIRONMENT_NAMES].sort());
  });

  describe.each(ENVIRONMENT_NAMES)('in %s', (env) => {
    it.each(SERVICE_NAMES)('%s has the same task range, targets and cooldowns', (service) => {
      const { min, max } = SIZING[env].tasks[service];
      expect(workspace.taskCount(service, env)).toEqual({
        min,
        max,
        cpuPercentage: SCALING_TARGETS.cpuPercent,
        ...(service === 'order-service'
          ? { requests: SCALING_TARGETS.orderRequestsPerTarget }
          : {}),
        cooldownInSeconds: SCALING_TARGETS.scaleInCooldown.toSeconds(),
        cooldownOutSeconds: SCALING_TARGETS.scaleOutCooldown.toSeconds(),
      });
    });
  });
});
