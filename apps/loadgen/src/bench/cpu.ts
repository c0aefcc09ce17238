import { readdir, readFile } from 'node:fs/promises';

/**
 * CPU accounting from /proc (Linux): how many cores each party kept busy
 * while a case ran. On a small machine the load generator, the service,
 * PostgreSQL and Kafka compete for the same cores, and this is what shows
 * where the time went. Elsewhere it measures nothing and says so
 * (undefined), and the report leaves the column out.
 */

// Linux reports utime and stime in clock ticks; USER_HZ is 100 on every
// mainstream architecture.
const TICKS_PER_SECOND = 100;

/** Names a process, or returns undefined to leave it out. */
export type Classifier = (process: {
  pid: number;
  command: string;
  cmdline: string;
}) => string | undefined;

interface Snapshot {
  readonly at: number;
  readonly ticks: ReadonlyMap<number, { party: string; ticks: number }>;
}

async function readProcess(
  pid: number,
  classify: Classifier,
): Promise<{ party: string; ticks: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
    // The command sits in parentheses and may itself contain spaces or ')'.
    const close = stat.lastIndexOf(')');
    const command = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat
      .slice(close + 2)
      .split(' ')
      .map((field) => Number(field));
    // After the command: state is field 3 of stat(5), utime 14, stime 15.
    const ticks = (fields[11] ?? 0) + (fields[12] ?? 0);
    const cmdline = (await readFile(`/proc/${String(pid)}/cmdline`, 'utf8')).replaceAll('\0', ' ');
    const party = classify({ pid, command, cmdline });
    return party === undefined ? undefined : { party, ticks };
  } catch {
    return undefined; // the process ended meanwhile, or this is not Linux
  }
}

async function snapshot(classify: Classifier): Promise<Snapshot | undefined> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return undefined;
  }
  const ticks = new Map<number, { party: string; ticks: number }>();
  const pids = entries.filter((entry) => /^\d+$/.test(entry)).map(Number);
  const read = await Promise.all(pids.map((pid) => readProcess(pid, classify)));
  pids.forEach((pid, index) => {
    const value = read[index];
    if (value !== undefined) ticks.set(pid, value);
  });
  return ticks.size === 0 ? undefined : { at: performance.now(), ticks };
}

/** CPU ticks of this process' children that ended and were reaped (cutime + cstime of /proc/self/stat). */
async function reapedChildTicks(): Promise<number | undefined> {
  try {
    const stat = await readFile('/proc/self/stat', 'utf8');
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // After the command: cutime is field 16 of stat(5), cstime 17.
    return (fields[13] ?? 0) + (fields[14] ?? 0);
  } catch {
    return undefined;
  }
}

/**
 * Runs `work` and returns its result with the cores each party used on
 * average meanwhile (CPU seconds / wall seconds, rounded to 0.01). A child
 * process that starts and ends within `work` (a load generator) is gone
 * from /proc by the second reading; its time is in this process'
 * reaped-children counters, and goes to the party `reaped` names.
 */
export async function withCpu<T>(
  classify: Classifier,
  work: () => Promise<T>,
  reaped?: string,
): Promise<{ result: T; cpu?: Record<string, number> }> {
  const before = await snapshot(classify);
  const childrenBefore = await reapedChildTicks();
  const result = await work();
  const childrenAfter = await reapedChildTicks();
  const after = await snapshot(classify);
  if (before === undefined || after === undefined) return { result };
  const seconds = (after.at - before.at) / 1000;
  const busy: Record<string, number> = {};
  for (const [pid, now] of after.ticks) {
    const start = before.ticks.get(pid)?.ticks ?? 0;
    busy[now.party] = (busy[now.party] ?? 0) + (now.ticks - start) / TICKS_PER_SECOND;
  }
  if (reaped !== undefined && childrenBefore !== undefined && childrenAfter !== undefined)
    busy[reaped] = (busy[reaped] ?? 0) + (childrenAfter - childrenBefore) / TICKS_PER_SECOND;
  const cpu: Record<string, number> = {};
  for (const [party, cpuSeconds] of Object.entries(busy)) {
    cpu[party] = Math.round((cpuSeconds / seconds) * 100) / 100;
  }
  return { result, cpu };
}

/** The machine's CPU time so far, in ticks summed over its cores (/proc/stat). */
export interface MachineTicks {
  readonly total: number;
  /** Given to other guests of the host. */
  readonly steal: number;
  /** Idle or waiting for I/O. */
  readonly idle: number;
}

/** Total, stolen and idle CPU time of the machine so far (ticks), from /proc/stat; undefined elsewhere. */
export async function machineTicks(): Promise<MachineTicks | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return undefined;
    return {
      total: fields.reduce((a, b) => a + b, 0),
      steal: fields[7] ?? 0,
      idle: (fields[3] ?? 0) + (fields[4] ?? 0),
    };
  } catch {
    return undefined;
  }
}

/**
 * The share of the machine's CPU time that the hypervisor gave to other
 * guests between two readings, in percent. On a shared virtual machine
 * this is the first thing to check when two runs disagree.
 */
export function stealPercent(
  before: { total: number; steal: number } | undefined,
  after: { total: number; steal: number } | undefined,
): number | undefined {
  if (before === undefined || after === undefined || after.total <= before.total) return undefined;
  return Math.round(((after.steal - before.steal) / (after.total - before.total)) * 1000) / 10;
}

/**
 * How many of the machine's `cpus` cores were busy on average between two
 * readings (every process, ours or not; steal counts as not ours to use),
 * rounded to 0.01; undefined when either reading is missing.
 */
export function busyCores(
  before: MachineTicks | undefined,
  after: MachineTicks | undefined,
  cpus: number,
): number | undefined {
  if (before === undefined || after === undefined || after.total <= before.total) return undefined;
  const total = after.total - before.total;
  const idle = after.idle - before.idle + (after.steal - before.steal);
  return Math.round(((total - idle) / total) * cpus * 100) / 100;
}
