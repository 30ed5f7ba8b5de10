/**
 * What the memory limiter measures and can do about memory: the runtime's live memory, the
 * total memory available to it (a cgroup limit, else the machine's), and forcing a garbage
 * collection where the runtime allows it.
 *
 * @module
 */

/**
 * The runtime's live memory in bytes: the V8 heap in use plus external (ArrayBuffer) memory, of
 * every isolate of the process (with `service.workers` above 1 the workers' too, so one
 * `limit_mib` holds for the process, not for each worker).
 */
export { readProcessLiveMemory as readLiveMemory } from "../../../lib/host/isolate_memory.ts";

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** A cgroup memory limit file's value in bytes; undefined for `max`, absent or unreadable. */
export function parseCgroupLimit(text: string | undefined): number | undefined {
  const value = text?.trim();
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const bytes = Number(value);
  // cgroup v1 reports "no limit" as a huge number (2^63 rounded down to the page size).
  return bytes > 0 && bytes < 2 ** 62 ? bytes : undefined;
}

/** `MemTotal` of `/proc/meminfo` text in bytes. */
export function parseMemTotal(text: string | undefined): number | undefined {
  const m = text === undefined ? null : /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  return m === null ? undefined : Number(m[1]) * 1024;
}

/** The cgroup (v2, else v1) memory limit of this process in bytes, if it has one. */
function cgroupLimit(): number | undefined {
  const own = readText("/proc/self/cgroup");
  const v2Path = own === undefined ? undefined : /^0::(\/.*)$/m.exec(own)?.[1];
  const candidates = [
    ...(v2Path === undefined || v2Path === "/" ? [] : [`/sys/fs/cgroup${v2Path}/memory.max`]),
    "/sys/fs/cgroup/memory.max",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
  ];
  for (const path of candidates) {
    const limit = parseCgroupLimit(readText(path));
    if (limit !== undefined) return limit;
  }
  return undefined;
}

/**
 * The memory available to the process in bytes: the smaller of its cgroup limit and the machine's
 * `MemTotal` (`Deno.systemMemoryInfo` off Linux); undefined when neither can be read.
 */
export function readTotalMemory(): number | undefined {
  let total = parseMemTotal(readText("/proc/meminfo"));
  if (total === undefined) {
    try {
      total = Deno.systemMemoryInfo().total;
    } catch {
      total = undefined;
    }
  }
  const limit = cgroupLimit();
  if (limit === undefined) return total;
  return total === undefined ? limit : Math.min(limit, total);
}

/** Re-exported from `lib/host/gc.ts`, where `tfo run` finds it too. */
export { findGc } from "../../../lib/host/gc.ts";
