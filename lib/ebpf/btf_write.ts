/**
 * Writes and loads small BTF blobs (`BPF_BTF_LOAD`): the type information some map types insist
 * on, such as task storage (`BPF_MAP_TYPE_TASK_STORAGE`), whose key must be an `int` and whose
 * value a described type. Only what those need: integers and structs of integer members.
 *
 * ```ts
 * const types = new BtfBuilder();
 * const int = types.int("int", 4, true);
 * const u64 = types.int("u64", 8, false);
 * const slot = types.struct("slot", [["ts", u64], ["pid_tgid", u64]]);
 * const fd = loadBtfBlob(types.encode());
 * ```
 *
 * @module
 */
import { addressOf, bpfRaw, closeFd } from "./_libc.ts";
import { type BpfMap, createMap, MapType, NO_PREALLOC } from "./bpf.ts";
import { BpfError } from "./errors.ts";

const MAGIC = 0xeb9f;
const HEADER = 24;
const KIND_INT = 1;
const KIND_STRUCT = 4;
const INT_SIGNED = 1;
const CMD_BTF_LOAD = 18;

interface Type {
  name: string;
  /** `info` and `size` of `struct btf_type`. */
  info: number;
  size: number;
  /** An integer's encoding word. */
  int?: number;
  /** A struct's members: name, type ID, bit offset. */
  members?: Array<{ name: string; type: number; bitOffset: number }>;
}

/** Builds a BTF blob type by type; type IDs start at 1 (0 is `void`). */
export class BtfBuilder {
  #types: Type[] = [];

  /** Adds an integer type of `size` bytes. @returns its type ID */
  int(name: string, size: 1 | 2 | 4 | 8, signed: boolean): number {
    this.#types.push({
      name,
      info: KIND_INT << 24,
      size,
      int: (signed ? INT_SIGNED << 24 : 0) | (size * 8),
    });
    return this.#types.length;
  }

  /**
   * Adds a struct of the given members, laid out end to end at their sizes (member types are IDs
   * this builder returned). @returns its type ID
   */
  struct(name: string, members: ReadonlyArray<readonly [string, number]>): number {
    let offset = 0;
    const out: NonNullable<Type["members"]> = [];
    for (const [member, type] of members) {
      const t = this.#types[type - 1];
      if (t === undefined) throw new RangeError(`Member ${member}: no type ${type}`);
      out.push({ name: member, type, bitOffset: offset * 8 });
      offset += t.size;
    }
    this.#types.push({
      name,
      info: (KIND_STRUCT << 24) | members.length,
      size: offset,
      members: out,
    });
    return this.#types.length;
  }

  /** The blob: header, types, strings. */
  encode(): Uint8Array<ArrayBuffer> {
    const strings: number[] = [0];
    const offsets = new Map<string, number>([["", 0]]);
    const str = (s: string) => {
      let at = offsets.get(s);
      if (at === undefined) {
        at = strings.length;
        offsets.set(s, at);
        for (const b of new TextEncoder().encode(s)) strings.push(b);
        strings.push(0);
      }
      return at;
    };
    const words: number[] = [];
    for (const t of this.#types) {
      words.push(str(t.name), t.info, t.size);
      if (t.int !== undefined) words.push(t.int);
      for (const m of t.members ?? []) words.push(str(m.name), m.type, m.bitOffset);
    }
    const typeLen = words.length * 4;
    const out = new Uint8Array(HEADER + typeLen + strings.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, MAGIC, true);
    v.setUint8(2, 1); // version
    v.setUint8(3, 0); // flags
    v.setUint32(4, HEADER, true);
    v.setUint32(8, 0, true); // type_off
    v.setUint32(12, typeLen, true);
    v.setUint32(16, typeLen, true); // str_off
    v.setUint32(20, strings.length, true);
    words.forEach((w, i) => v.setUint32(HEADER + i * 4, w >>> 0, true));
    out.set(strings, HEADER + typeLen);
    return out;
  }
}

/**
 * Loads a BTF blob into the kernel (`BPF_BTF_LOAD`); on failure, throws a {@linkcode BpfError}
 * with the kernel's log.
 * @returns the BTF object's descriptor
 */
export function loadBtfBlob(blob: Uint8Array<ArrayBuffer>): number {
  const load = (log: Uint8Array<ArrayBuffer> | undefined) => {
    const attr = new Uint8Array(144);
    const v = new DataView(attr.buffer);
    v.setBigUint64(0, addressOf(blob), true);
    if (log !== undefined) v.setBigUint64(8, addressOf(log), true);
    v.setUint32(16, blob.length, true);
    if (log !== undefined) {
      v.setUint32(20, log.length, true);
      v.setUint32(24, 1, true);
    }
    return bpfRaw(CMD_BTF_LOAD, attr);
  };
  const fd = load(undefined);
  if (fd >= 0) return fd;
  const log = new Uint8Array(1 << 16);
  load(log);
  const end = log.indexOf(0);
  const text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end)).trim();
  throw new BpfError(
    `Cannot load BTF${text === "" ? "" : ` (${text.split("\n").slice(-3).join("; ")})`}`,
    -fd,
  );
}

/**
 * Creates a task storage map (`BPF_MAP_TYPE_TASK_STORAGE`) whose value is a struct of u64
 * `fields`: one slot per task, made on first use by `bpf_task_storage_get` with the create flag
 * and freed with the task. The BTF object it needs is loaded and closed again (the map keeps it).
 */
export function createTaskStorage(name: string, fields: readonly string[]): BpfMap {
  const types = new BtfBuilder();
  const int = types.int("int", 4, true);
  const u64 = types.int("u64", 8, false);
  const value = types.struct(name, fields.map((f) => [f, u64] as const));
  const btf = loadBtfBlob(types.encode());
  try {
    return createMap({
      name,
      type: MapType.taskStorage,
      keySize: 4,
      valueSize: fields.length * 8,
      maxEntries: 0,
      flags: NO_PREALLOC,
      btf: { fd: btf, keyTypeId: int, valueTypeId: value },
    });
  } finally {
    closeFd(btf);
  }
}
