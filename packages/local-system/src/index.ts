export { startSystem } from './system.js';
export type { RunningService, RunningSystem, SystemOptions } from './system.js';
export { DEFAULT_RESTART_POLICY, supervise } from './supervisor.js';
export type { RestartPolicy, Supervised, SuperviseOptions } from './supervisor.js';
