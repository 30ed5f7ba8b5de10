/**
 * Virtual memory statistics reader: `/proc/vmstat` (page and swap traffic, faults, reclaim, OOM
 * kills; `nr_*` lines are current page counts, the others event counters).
 *
 * @module
 */
import { hostPath, num, readText, type RootPath, splitLines } from "./_read.ts";

/** Every `/proc/vmstat` line, by name. */
export type VmStat = ReadonlyMap<string, number>;

/** Parses the text of `/proc/vmstat`. */
export function parseVmStat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of splitLines(text)) {
    const space = line.indexOf(" ");
    if (space <= 0) continue;
    out.set(line.slice(0, space), num(line.slice(space + 1)));
  }
  return out;
}

/** Reads `/proc/vmstat`. */
export async function readVmStat(root: RootPath = ""): Promise<Map<string, number>> {
  return parseVmStat(await readText(hostPath(root, "/proc/vmstat")));
}
