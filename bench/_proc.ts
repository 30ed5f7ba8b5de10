/**
 * Process CPU and memory from `/proc` (Linux only): `utime + stime` from `/proc/<pid>/stat` and
 * `VmRSS` / `VmHWM` / `RssAnon` from `/proc/<pid>/status`. Counts every thread of the process.
 *
 * @module
 */

/** One reading of a process's CPU time and memory. */
export interface ProcSample {
  /** User plus system CPU time consumed so far, in seconds. */
  cpuSeconds: number;
  /** Resident set size now, in bytes. */
  rssBytes: number;
  /** Peak resident set size so far (`VmHWM`), in bytes. */
  hwmBytes: number;
  /** The anonymous part of the resident set (`RssAnon`: heaps, stacks; no file pages), in bytes. */
  anonBytes?: number;
  /** Minor page faults so far (`minflt`: memory touched for the first time since it was mapped). */
  minorFaults?: number;
}

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux). */
const CLK_TCK = 100;

/** The `utime + stime` of a `/proc/<pid>/stat` line, in clock ticks. */
export function parseStatTicks(stat: string): number {
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** A `kB` field of `/proc/<pid>/status` in bytes, or 0 when absent. */
export function parseStatusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** The `minflt` (minor page faults) of a `/proc/<pid>/stat` line. */
export function parseStatMinorFaults(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
}

/** Reads the CPU time and memory of process `pid`; throws when it does not exist. */
export async function sampleProc(pid: number): Promise<ProcSample> {
  const [stat, status] = await Promise.all([
    Deno.readTextFile(`/proc/${pid}/stat`),
    Deno.readTextFile(`/proc/${pid}/status`),
  ]);
  return {
    cpuSeconds: parseStatTicks(stat) / CLK_TCK,
    rssBytes: parseStatusKb(status, "VmRSS"),
    hwmBytes: parseStatusKb(status, "VmHWM"),
    anonBytes: parseStatusKb(status, "RssAnon"),
    minorFaults: parseStatMinorFaults(stat),
  };
}
