/**
 * Reads the statistics maps (one `BPF_MAP_LOOKUP_BATCH` pass per map), sums the per-CPU values
 * and decodes keys and command names; removes the entries of processes that have exited once
 * their last values are read.
 *
 * @module
 */
import { type BpfMap, deleteBatch, lookupBatch } from "../../../lib/ebpf/bpf.ts";
import type { StatsLayout } from "./_layout.ts";

/** One map entry: its key words, the process's command name and the counters summed over CPUs. */
export interface Entry {
  /** The key as u32 words: `[pid, …]`. */
  key: number[];
  comm: string;
  /**
   * By counter name, as in the layout: numbers, exact up to 2^53 (104 days of summed nanoseconds,
   * 8 PiB), which spares a BigInt per counter until a point needs one.
   */
  values: number[];
}

const decoder = new TextDecoder();

function commOf(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

const TWO_32 = 4294967296;

/**
 * Reads one map; per-CPU values are summed. The command name is `knownComm(pid)` (asked once per
 * process) when it gives one, else the one stored with the entry (from the first CPU that has it).
 */
export function readStats(
  layout: StatsLayout,
  map: BpfMap,
  knownComm: (pid: number) => string | undefined = () => undefined,
): Entry[] {
  const batch = lookupBatch(map);
  const keys = new Uint32Array(batch.keys.buffer, batch.keys.byteOffset, batch.keys.byteLength / 4);
  // Value strides are multiples of 8 bytes, so the buffer reads as pairs of u32 words.
  const words = new Uint32Array(
    batch.values.buffer,
    batch.values.byteOffset,
    batch.values.byteLength / 4,
  );
  const stride = Math.ceil(layout.valueSize / 8);
  const entryWords = map.userValueSize / 8;
  const cpus = entryWords / stride;
  const keyWords = layout.keySize / 4;
  const counters = layout.counters.length;
  const comms = new Map<number, string>();
  const unknown = new Set<number>();
  const out: Entry[] = new Array(batch.count);
  for (let i = 0; i < batch.count; i++) {
    const key = new Array<number>(keyWords);
    for (let k = 0; k < keyWords; k++) key[k] = keys[i * keyWords + k]!;
    const sums = new Array<number>(counters);
    for (let c = 0; c < counters; c++) {
      let lo = 0;
      let hi = 0;
      for (let cpu = 0; cpu < cpus; cpu++) {
        const at = (i * entryWords + cpu * stride + c) * 2;
        lo += words[at]!;
        hi += words[at + 1]!;
      }
      sums[c] = hi * TWO_32 + lo;
    }
    const pid = key[0]!;
    let comm = comms.get(pid);
    if (comm === undefined && !unknown.has(pid)) {
      comm = knownComm(pid);
      if (comm === undefined) unknown.add(pid);
      else comms.set(pid, comm);
    }
    if (comm === undefined) {
      // An exited process: each entry keeps the name it was made under (before or after exec).
      comm = "";
      for (let cpu = 0; comm === "" && cpu < cpus && layout.commAt !== undefined; cpu++) {
        const at = batch.values.byteOffset + (i * entryWords + cpu * stride) * 8 + layout.commAt;
        comm = commOf(new Uint8Array(batch.values.buffer, at, 16));
      }
    }
    out[i] = { key, comm, values: sums };
  }
  return out;
}

/**
 * The command name of a running process (`/proc/<pid>/comm`), or undefined once it has exited.
 * A process that called `execve` after its first event has a newer name than its entries.
 */
export function currentComm(pid: number, procRoot = "/proc"): string | undefined {
  try {
    return Deno.readTextFileSync(`${procRoot}/${pid}/comm`).trimEnd();
  } catch {
    return undefined;
  }
}

/** The processes alive now: the numeric entries of `/proc`. */
export function livePids(procRoot = "/proc"): Set<number> {
  const out = new Set<number>();
  for (const e of Deno.readDirSync(procRoot)) {
    const c = e.name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.add(Number(e.name));
  }
  return out;
}

/** Deletes the entries of `pids` from a map (processes that exited), in one batch. */
export function forget(
  layout: StatsLayout,
  map: BpfMap,
  entries: Entry[],
  pids: Set<number>,
): void {
  const gone = entries.filter((e) => pids.has(e.key[0]!));
  if (gone.length === 0) return;
  const keys = new Uint32Array(gone.length * (layout.keySize / 4));
  gone.forEach((e, i) => keys.set(e.key, i * (layout.keySize / 4)));
  deleteBatch(map, new Uint8Array(keys.buffer), gone.length);
}

/** The per-CPU drop counters summed: events not counted because a map was full, by slot. */
export function readDrops(map: BpfMap): bigint[] {
  const batch = lookupBatch(map);
  const view = new DataView(batch.values.buffer);
  const keys = new DataView(batch.keys.buffer);
  const stride = map.userValueSize / 8;
  const out = new Array<bigint>(map.maxEntries).fill(0n);
  for (let i = 0; i < batch.count; i++) {
    const slot = keys.getUint32(i * 4, true);
    let sum = 0n;
    for (let c = 0; c < stride; c++) sum += view.getBigUint64((i * stride + c) * 8, true);
    out[slot] = sum;
  }
  return out;
}
