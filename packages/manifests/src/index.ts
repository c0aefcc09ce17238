export { formatProblem, validateManifest } from './validate.js';
export type { Problem } from './validate.js';
export { MANIFEST_SCHEMAS } from './schemas.js';
