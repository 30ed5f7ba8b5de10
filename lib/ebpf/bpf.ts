/**
 * The `bpf(2)` commands tfo uses: map create, lookup, update, delete, next key, batch lookup and
 * batch delete;
 * program load with the verifier log; raw tracepoint open and link create.
 *
 * @module
 */
import { addressOf, bpfRaw } from "./_libc.ts";
import { BpfError } from "./errors.ts";

const CMD = {
  mapCreate: 0,
  mapLookupElem: 1,
  mapUpdateElem: 2,
  mapDeleteElem: 3,
  mapGetNextKey: 4,
  progLoad: 5,
  rawTracepointOpen: 17,
  mapLookupBatch: 24,
  mapDeleteBatch: 27,
  linkCreate: 28,
} as const;

/** `bpf_attr` is a union of at most this many bytes here; the rest stays zero. */
const ATTR_SIZE = 144;
const ENOENT = 2;
const ENOSPC = 28;

/** Map types tfo creates. */
export const MapType = {
  hash: 1,
  array: 2,
  percpuHash: 5,
  percpuArray: 6,
  lruHash: 9,
  lruPercpuHash: 10,
  /** Per-task storage: no entries of its own (`maxEntries` 0, `BPF_F_NO_PREALLOC`), needs BTF. */
  taskStorage: 29,
} as const;

/** `BPF_F_NO_PREALLOC`: entries allocated when inserted (required by task storage). */
export const NO_PREALLOC = 1;

/** Program types tfo loads. */
export const ProgType = {
  tracepoint: 5,
  perfEvent: 7,
  rawTracepoint: 17,
} as const;

/** Attach types of `BPF_LINK_CREATE` used here. */
export const AttachType = { perfEvent: 41 } as const;

function attr(): { buf: Uint8Array<ArrayBuffer>; view: DataView } {
  const buf = new Uint8Array(ATTR_SIZE);
  return { buf, view: new DataView(buf.buffer) };
}

function name16(view: DataView, offset: number, name: string): void {
  // Object names: up to 15 characters of [A-Za-z0-9_.].
  const clean = name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15);
  for (let i = 0; i < clean.length; i++) view.setUint8(offset + i, clean.charCodeAt(i));
}

/** What a map is made of. */
export interface MapSpec {
  /** Shown by `bpftool map`; up to 15 characters. */
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** `BPF_F_*` flags. @default 0 */
  flags?: number;
  /** The key and value types in a loaded BTF object (`lib/ebpf/btf_write.ts`). */
  btf?: { fd: number; keyTypeId: number; valueTypeId: number };
}

/** A created map: its descriptor and shape. Per-CPU maps read and write one value per CPU. */
export interface BpfMap extends Readonly<MapSpec> {
  readonly fd: number;
  /** Bytes of one element's value as user space sees it (× possible CPUs for per-CPU maps). */
  readonly userValueSize: number;
}

let possible: number | undefined;

/** The number of possible CPUs (`/sys/devices/system/cpu/possible`), the per-CPU value count. */
export function possibleCpus(): number {
  if (possible !== undefined) return possible;
  const text = Deno.readTextFileSync("/sys/devices/system/cpu/possible").trim();
  let n = 0;
  for (const part of text.split(",")) {
    const [a, b] = part.split("-").map(Number);
    n = Math.max(n, (b ?? a!) + 1);
  }
  possible = n;
  return n;
}

function isPerCpu(type: number): boolean {
  return type === MapType.percpuHash || type === MapType.percpuArray ||
    type === MapType.lruPercpuHash;
}

/** Creates a map; throws a {@linkcode BpfError} naming it. */
export function createMap(spec: MapSpec): BpfMap {
  const { buf, view } = attr();
  view.setUint32(0, spec.type, true);
  view.setUint32(4, spec.keySize, true);
  view.setUint32(8, spec.valueSize, true);
  view.setUint32(12, spec.maxEntries, true);
  view.setUint32(16, spec.flags ?? 0, true);
  name16(view, 28, spec.name);
  if (spec.btf !== undefined) {
    view.setUint32(48, spec.btf.fd, true);
    view.setUint32(52, spec.btf.keyTypeId, true);
    view.setUint32(56, spec.btf.valueTypeId, true);
  }
  const fd = bpfRaw(CMD.mapCreate, buf);
  if (fd < 0) throw new BpfError(`Cannot create BPF map "${spec.name}"`, -fd);
  const userValueSize = isPerCpu(spec.type)
    ? Math.ceil(spec.valueSize / 8) * 8 * possibleCpus()
    : spec.valueSize;
  return { ...spec, fd, userValueSize };
}

function elemAttr(
  map: BpfMap,
  key: Uint8Array<ArrayBuffer>,
  value: Uint8Array<ArrayBuffer> | undefined,
  flags: number,
): Uint8Array<ArrayBuffer> {
  const { buf, view } = attr();
  view.setUint32(0, map.fd, true);
  view.setBigUint64(8, addressOf(key), true);
  if (value !== undefined) view.setBigUint64(16, addressOf(value), true);
  view.setBigUint64(24, BigInt(flags), true);
  return buf;
}

function checkKey(map: BpfMap, key: Uint8Array): void {
  if (key.length !== map.keySize) {
    throw new RangeError(`Map "${map.name}" takes ${map.keySize}-byte keys, not ${key.length}`);
  }
}

/** The value of `key` (all CPUs' values for a per-CPU map), or undefined when absent. */
export function lookupElem(
  map: BpfMap,
  key: Uint8Array<ArrayBuffer>,
): Uint8Array<ArrayBuffer> | undefined {
  checkKey(map, key);
  const value = new Uint8Array(map.userValueSize);
  const r = bpfRaw(CMD.mapLookupElem, elemAttr(map, key, value, 0));
  if (r === -ENOENT) return undefined;
  if (r < 0) throw new BpfError(`Cannot look up an element of BPF map "${map.name}"`, -r);
  return value;
}

/** Sets `key` to `value` (`flags`: 0 any, 1 only new, 2 only existing). */
export function updateElem(
  map: BpfMap,
  key: Uint8Array<ArrayBuffer>,
  value: Uint8Array<ArrayBuffer>,
  flags = 0,
): void {
  checkKey(map, key);
  if (value.length !== map.userValueSize) {
    throw new RangeError(
      `Map "${map.name}" takes ${map.userValueSize}-byte values, not ${value.length}`,
    );
  }
  const r = bpfRaw(CMD.mapUpdateElem, elemAttr(map, key, value, flags));
  if (r < 0) throw new BpfError(`Cannot update an element of BPF map "${map.name}"`, -r);
}

/** Deletes `key`; false when it was absent. */
export function deleteElem(map: BpfMap, key: Uint8Array<ArrayBuffer>): boolean {
  checkKey(map, key);
  const r = bpfRaw(CMD.mapDeleteElem, elemAttr(map, key, undefined, 0));
  if (r === -ENOENT) return false;
  if (r < 0) throw new BpfError(`Cannot delete an element of BPF map "${map.name}"`, -r);
  return true;
}

/** The key after `key` (the first key when `key` is undefined), or undefined at the end. */
export function nextKey(
  map: BpfMap,
  key: Uint8Array<ArrayBuffer> | undefined,
): Uint8Array<ArrayBuffer> | undefined {
  const next = new Uint8Array(map.keySize);
  const { buf, view } = attr();
  view.setUint32(0, map.fd, true);
  if (key !== undefined) view.setBigUint64(8, addressOf(key), true);
  view.setBigUint64(16, addressOf(next), true);
  const r = bpfRaw(CMD.mapGetNextKey, buf);
  if (r === -ENOENT) return undefined;
  if (r < 0) throw new BpfError(`Cannot iterate BPF map "${map.name}"`, -r);
  return next;
}

/** Keys and values read in one pass; entry `i` is `keys[i*keySize…]`, `values[i*userValueSize…]`. */
export interface Batch {
  count: number;
  keys: Uint8Array<ArrayBuffer>;
  values: Uint8Array<ArrayBuffer>;
}

/**
 * Reads every element with `BPF_MAP_LOOKUP_BATCH`, `chunk` elements per call.
 * @param chunk elements per system call @default 1024
 */
export function lookupBatch(map: BpfMap, chunk = 1024): Batch {
  const keyChunks: Uint8Array[] = [];
  const valueChunks: Uint8Array[] = [];
  let count = 0;
  // Hash maps return whole buckets: a call may need room for more than one element, so the
  // buffers grow on ENOSPC.
  let size = Math.min(chunk, map.maxEntries);
  const inBatch = new Uint8Array(8);
  const outBatch = new Uint8Array(8);
  let first = true;
  for (;;) {
    const keys = new Uint8Array(size * map.keySize);
    const values = new Uint8Array(size * map.userValueSize);
    const { buf, view } = attr();
    if (!first) view.setBigUint64(0, addressOf(inBatch), true);
    view.setBigUint64(8, addressOf(outBatch), true);
    view.setBigUint64(16, addressOf(keys), true);
    view.setBigUint64(24, addressOf(values), true);
    view.setUint32(32, size, true);
    view.setUint32(36, map.fd, true);
    const r = bpfRaw(CMD.mapLookupBatch, buf);
    const got = view.getUint32(32, true);
    if (r < 0 && r !== -ENOENT) {
      if (r === -ENOSPC && got === 0) {
        size *= 2;
        continue;
      }
      throw new BpfError(`Cannot batch-read BPF map "${map.name}"`, -r);
    }
    if (got > 0) {
      keyChunks.push(keys.subarray(0, got * map.keySize));
      valueChunks.push(values.subarray(0, got * map.userValueSize));
      count += got;
    }
    if (r === -ENOENT) break;
    inBatch.set(outBatch);
    first = false;
  }
  return { count, keys: concat(keyChunks), values: concat(valueChunks) };
}

/**
 * Deletes `count` keys laid end to end in `keys` with `BPF_MAP_DELETE_BATCH` (one system call for
 * all, where deleting one by one takes one each); keys already absent are skipped.
 * @returns how many were deleted
 */
export function deleteBatch(map: BpfMap, keys: Uint8Array<ArrayBuffer>, count: number): number {
  if (keys.length < count * map.keySize) {
    throw new RangeError(`${count} keys of map "${map.name}" need ${count * map.keySize} bytes`);
  }
  let done = 0;
  let deleted = 0;
  while (done < count) {
    const part = keys.subarray(done * map.keySize);
    const { buf, view } = attr();
    view.setBigUint64(16, addressOf(part), true);
    view.setUint32(32, count - done, true);
    view.setUint32(36, map.fd, true);
    const r = bpfRaw(CMD.mapDeleteBatch, buf);
    const n = view.getUint32(32, true);
    deleted += n;
    done += n;
    if (r === -ENOENT) {
      done++; // that key was gone already: go on after it
      continue;
    }
    if (r < 0) throw new BpfError(`Cannot batch-delete from BPF map "${map.name}"`, -r);
    break;
  }
  return deleted;
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What a program is. */
export interface ProgSpec {
  name: string;
  type: number;
  /** Assembled instructions (see `asm.ts`). */
  code: Uint8Array<ArrayBuffer>;
  /** @default "GPL" (the helpers used need a GPL-compatible license) */
  license?: string;
}

const LOG_SIZE = 1 << 20;

/**
 * Loads a program. On failure, loads it again with the verifier's log on and throws a
 * {@linkcode BpfError} carrying the log.
 * @returns the program's file descriptor
 */
export function loadProgram(spec: ProgSpec): number {
  const load = (log: Uint8Array<ArrayBuffer> | undefined) => {
    const { buf, view } = attr();
    const license = new TextEncoder().encode(`${spec.license ?? "GPL"}\0`) as Uint8Array<
      ArrayBuffer
    >;
    view.setUint32(0, spec.type, true);
    view.setUint32(4, spec.code.length / 8, true);
    view.setBigUint64(8, addressOf(spec.code), true);
    view.setBigUint64(16, addressOf(license), true);
    if (log !== undefined) {
      view.setUint32(24, 1, true);
      view.setUint32(28, log.length, true);
      view.setBigUint64(32, addressOf(log), true);
    }
    name16(view, 48, spec.name);
    const fd = bpfRaw(CMD.progLoad, buf);
    // Keep the buffers alive across the call.
    void license;
    return fd;
  };
  const fd = load(undefined);
  if (fd >= 0) return fd;
  const log = new Uint8Array(LOG_SIZE);
  const again = load(log);
  if (again >= 0) return again;
  const end = log.indexOf(0);
  const text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end)).trim();
  const tail = text.split("\n").slice(-12).join("\n");
  throw new BpfError(
    `Cannot load BPF program "${spec.name}"${tail === "" ? "" : ` (verifier: ${tail})`}`,
    -fd,
    { verifierLog: text },
  );
}

/**
 * Attaches a raw-tracepoint program to the tracepoint `name` (`sys_enter`, `sched_switch`).
 * @returns the attachment's descriptor; closing it detaches
 */
export function attachRawTracepoint(progFd: number, name: string): number {
  const { buf, view } = attr();
  const cname = new TextEncoder().encode(`${name}\0`) as Uint8Array<ArrayBuffer>;
  view.setBigUint64(0, addressOf(cname), true);
  view.setUint32(8, progFd, true);
  const fd = bpfRaw(CMD.rawTracepointOpen, buf);
  void cname;
  if (fd < 0) throw new BpfError(`Cannot attach to raw tracepoint "${name}"`, -fd);
  return fd;
}

/**
 * `BPF_LINK_CREATE`: attaches a program to a target (a perf event for {@linkcode AttachType}
 * `perfEvent`).
 * @returns the link's descriptor; closing it detaches
 */
export function createLink(progFd: number, targetFd: number, attachType: number): number {
  const { buf, view } = attr();
  view.setUint32(0, progFd, true);
  view.setUint32(4, targetFd, true);
  view.setUint32(8, attachType, true);
  const fd = bpfRaw(CMD.linkCreate, buf);
  if (fd < 0) throw new BpfError("Cannot create a BPF link", -fd);
  return fd;
}
