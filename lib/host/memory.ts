/**
 * Memory reader: `/proc/meminfo`, in bytes, with the derived figures the OpenTelemetry Collector
 * (through gopsutil) reports: `cached` includes reclaimable slab, and `used` is what is neither
 * free, buffers nor cached.
 *
 * @module
 */
import { hostPath, kbValue, parseKeyValueLines, readText, type RootPath } from "./_read.ts";

/** Memory figures in bytes (hugepage counts are pages). */
export interface MemInfo {
  total: number;
  free: number;
  /** `MemAvailable`: an estimate of memory available without swapping. */
  available: number;
  buffers: number;
  /** `Cached` as the kernel reports it (page cache, without reclaimable slab). */
  pageCache: number;
  /** Page cache plus reclaimable slab (gopsutil's and the Collector's `cached`). */
  cached: number;
  /** `total - free - buffers - cached` (gopsutil's and the Collector's `used`). */
  used: number;
  active: number;
  inactive: number;
  slab: number;
  slabReclaimable: number;
  slabUnreclaimable: number;
  dirty: number;
  shared: number;
  swapTotal: number;
  swapFree: number;
  swapCached: number;
  hugePagesTotal: number;
  hugePagesFree: number;
  hugePagesReserved: number;
  hugePagesSurplus: number;
  hugePageSize: number;
  /** Every line, in bytes (counts stay counts). */
  raw: ReadonlyMap<string, number>;
}

/** Parses the text of `/proc/meminfo`. */
export function parseMemInfo(text: string): MemInfo {
  const raw = new Map<string, number>();
  for (const [key, value] of parseKeyValueLines(text)) raw.set(key, kbValue(value));
  const get = (key: string) => raw.get(key) ?? 0;
  const total = get("MemTotal");
  const free = get("MemFree");
  const buffers = get("Buffers");
  const slabReclaimable = get("SReclaimable");
  const cached = get("Cached") + slabReclaimable;
  return {
    total,
    free,
    available: raw.get("MemAvailable") ?? free + cached,
    buffers,
    pageCache: get("Cached"),
    cached,
    used: total - free - buffers - cached,
    active: get("Active"),
    inactive: get("Inactive"),
    slab: get("Slab"),
    slabReclaimable,
    slabUnreclaimable: get("SUnreclaim"),
    dirty: get("Dirty"),
    shared: get("Shmem"),
    swapTotal: get("SwapTotal"),
    swapFree: get("SwapFree"),
    swapCached: get("SwapCached"),
    hugePagesTotal: get("HugePages_Total"),
    hugePagesFree: get("HugePages_Free"),
    hugePagesReserved: get("HugePages_Rsvd"),
    hugePagesSurplus: get("HugePages_Surp"),
    hugePageSize: get("Hugepagesize"),
    raw,
  };
}

/** Reads `/proc/meminfo`. */
export async function readMemInfo(root: RootPath = ""): Promise<MemInfo> {
  return parseMemInfo(await readText(hostPath(root, "/proc/meminfo")));
}
