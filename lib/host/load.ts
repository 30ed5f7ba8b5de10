/**
 * Load average reader: `/proc/loadavg`.
 *
 * @module
 */
import { hostPath, num, readText, type RootPath, splitFields } from "./_read.ts";

/** What `/proc/loadavg` says. */
export interface LoadAverage {
  load1: number;
  load5: number;
  load15: number;
  /** Runnable scheduling entities now. */
  running: number;
  /** Scheduling entities (processes and threads) that exist now. */
  total: number;
  /** The most recently created PID. */
  lastPid: number;
}

/** Parses the text of `/proc/loadavg`. */
export function parseLoadAverage(text: string): LoadAverage {
  const f = splitFields(text);
  const tasks = f[3] ?? "0/0";
  const slash = tasks.indexOf("/");
  return {
    load1: num(f[0]),
    load5: num(f[1]),
    load15: num(f[2]),
    running: num(slash < 0 ? tasks : tasks.slice(0, slash)),
    total: slash < 0 ? 0 : num(tasks.slice(slash + 1)),
    lastPid: num(f[4]),
  };
}

/** Reads `/proc/loadavg`. */
export async function readLoadAverage(root: RootPath = ""): Promise<LoadAverage> {
  return parseLoadAverage(await readText(hostPath(root, "/proc/loadavg")));
}
