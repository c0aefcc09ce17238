/**
 * A service's `count` as Copilot runs it: a fixed number of tasks (`min` =
 * `max`, no targets) or a range that auto scaling moves within.
 */
export interface TaskCount {
  readonly min: number;
  readonly max: number;
  /** Target average CPU, percent. */
  readonly cpuPercentage?: number;
  /** Target average memory, percent. */
  readonly memoryPercentage?: number;
  /** Target load balancer requests per task per minute. */
  readonly requests?: number;
  /** Seconds between scale-in steps. */
  readonly cooldownInSeconds?: number;
  /** Seconds between scale-out steps. */
  readonly cooldownOutSeconds?: number;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

function seconds(duration: unknown): number | undefined {
  if (typeof duration !== 'string') return undefined;
  const match = /^([0-9]+)(ms|s|m|h)$/.exec(duration);
  return match === null ? undefined : Number(match[1]) * (SECONDS[match[2]!] ?? NaN);
}

const number = (value: unknown): number | undefined =>
  typeof value === 'number' ? value : undefined;

/**
 * `environments.<env>.count` laid over the top-level `count` as Copilot does:
 * a number replaces whatever was there, a map is merged key by key (and
 * `cooldown` within it).
 */
export function mergeCount(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isObject(override) || !isObject(base)) return override;
  const merged: Record<string, unknown> = { ...base, ...override };
  if (isObject(base['cooldown']) && isObject(override['cooldown'])) {
    merged['cooldown'] = { ...base['cooldown'], ...override['cooldown'] };
  }
  return merged;
}

/**
 * Reads a `count` value (already checked against the schema): a number,
 * `{ range: 'min-max', ... }`, or nothing (Copilot's default of one task).
 * Returns undefined for a shape it does not know.
 */
export function parseTaskCount(count: unknown): TaskCount | undefined {
  if (count === undefined) return { min: 1, max: 1 };
  if (typeof count === 'number') return { min: count, max: count };
  if (!isObject(count) || typeof count['range'] !== 'string') return undefined;
  const match = /^([0-9]+)-([0-9]+)$/.exec(count['range']);
  if (match === null) return undefined;
  const cooldown = isObject(count['cooldown']) ? count['cooldown'] : {};
  const optional = {
    cpuPercentage: number(count['cpu_percentage']),
    memoryPercentage: number(count['memory_percentage']),
    requests: number(count['requests']),
    cooldownInSeconds: seconds(cooldown['in']),
    cooldownOutSeconds: seconds(cooldown['out']),
  };
  return {
    min: Number(match[1]),
    max: Number(match[2]),
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  };
}
