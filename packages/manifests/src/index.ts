export { formatProblem, fromCfnReferences, validateManifest } from './validate.js';
export type { Problem } from './validate.js';
export { MANIFEST_SCHEMAS } from './schemas.js';
export { COPILOT_ADDON_PARAMETERS, validateAddon, validateAddonParameters } from './addons.js';
export type { AddonKind, AddonOutput, AddonSummary } from './addons.js';
export {
  checkCopilotWorkspace,
  COPILOT_ENVIRONMENT_EXPORTS,
  COPILOT_EXPORT_PREFIX,
  screamingSnake,
} from './workspace.js';
export type { CopilotWorkspace, TaskValue } from './workspace.js';
export { CFN_TAGS, parseCfnYaml } from './cfn-yaml.js';
export { mergeCount, parseTaskCount } from './count.js';
export type { TaskCount } from './count.js';
export { CFN_LINT_VERSION, ensureCfnLint, runCfnLint } from './cfn-lint.js';
export type { CfnLint } from './cfn-lint.js';
