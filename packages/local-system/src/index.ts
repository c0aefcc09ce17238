export { startSystem } from './system.js';
export type { RunningService, RunningSystem, SystemOptions } from './system.js';
export { DEFAULT_RESTART_POLICY, supervise } from './supervisor.js';
export type { RestartPolicy, Supervised, SuperviseOptions } from './supervisor.js';
export {
  checkReplicas,
  defaultInstancePorts,
  INSTANCE_PORT_STEP,
  MAX_REPLICAS,
  parseReplicas,
} from './replicas.js';
export type { Replicas } from './replicas.js';
export { FAULT_TARGETS, openFaultControl } from './console-faults.js';
export type { FaultControl, FaultTarget, FaultTargetName } from './console-faults.js';
