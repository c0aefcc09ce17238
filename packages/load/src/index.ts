export { closedLoop, medianOf, openLoop, percentile, spread, summarise } from './measure.js';
export type { Measurement, OpenLoopRun, Spread } from './measure.js';
