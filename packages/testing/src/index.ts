export { createTestDatabase, testInfra, uniqueName, waitFor } from './infra.js';
export type { TestDatabase } from './infra.js';
