/**
 * Process census: every `/proc/[pid]/stat` state letter counted, with thread totals. Processes that
 * exit while being read are skipped.
 *
 * @module
 */
import type { RootPath } from "./_read.ts";
import { type PidStat, readProcStats } from "./process.ts";

/** Processes by state letter, and totals. */
export interface ProcessCensus {
  /** Processes by `/proc/[pid]/stat` state letter (R, S, D, T, t, Z, X, I, W, P, …). */
  byState: Map<string, number>;
  /** Processes counted. */
  processes: number;
  /** Threads over all processes counted. */
  threads: number;
}

/** Counts processes by state. */
export async function readProcessCensus(root: RootPath = ""): Promise<ProcessCensus> {
  return censusOf(await readProcStats(root));
}

/** Counts processes by state from stats already read (those that failed are skipped). */
export function censusOf(stats: readonly PidStat[]): ProcessCensus {
  const byState = new Map<string, number>();
  let processes = 0;
  let threads = 0;
  for (const { stat } of stats) {
    if (stat === undefined) continue;
    processes++;
    threads += stat.threads;
    byState.set(stat.state, (byState.get(stat.state) ?? 0) + 1);
  }
  return { byState, processes, threads };
}
