/**
 * Reads struct member offsets from the kernel's BTF (`/sys/kernel/btf/vmlinux`), so programs read
 * kernel structs (`task_struct.tgid`) at the offsets of the running kernel, not hard-coded ones.
 *
 * @module
 */
import { BpfError } from "./errors.ts";

const MAGIC = 0xeb9f;
const KIND = {
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  funcProto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  declTag: 17,
  typeTag: 18,
  enum64: 19,
} as const;

/** A struct's members: byte offset by name (bitfields are left out). */
export type StructLayout = Map<string, number>;

/** The structs of one BTF blob, parsed on demand by name. */
export interface Btf {
  /** The members of `struct <name>`, or undefined when BTF has no such struct. */
  struct(name: string): StructLayout | undefined;
}

/** The default location of the running kernel's BTF. */
export const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

/** Reads and indexes a BTF file; throws a {@linkcode BpfError} when it is missing or malformed. */
export function loadBtf(path: string = VMLINUX_BTF): Btf {
  let data: Uint8Array;
  try {
    data = Deno.readFileSync(path);
  } catch (error) {
    throw new BpfError(
      `The kernel's BTF is not available at ${path} (a kernel built with CONFIG_DEBUG_INFO_BTF is needed)`,
      0,
      { cause: error },
    );
  }
  return parseBtf(data, path);
}

/** Parses BTF bytes. */
export function parseBtf(data: Uint8Array, what = "BTF"): Btf {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 24 || view.getUint16(0, true) !== MAGIC) {
    throw new BpfError(`${what} is not BTF (bad magic)`, 0);
  }
  const hdrLen = view.getUint32(4, true);
  const typeOff = hdrLen + view.getUint32(8, true);
  const typeLen = view.getUint32(12, true);
  const strOff = hdrLen + view.getUint32(16, true);
  const strLen = view.getUint32(20, true);
  const strings = data.subarray(strOff, strOff + strLen);
  const decoder = new TextDecoder();
  const str = (off: number) => {
    const end = strings.indexOf(0, off);
    return decoder.decode(strings.subarray(off, end < 0 ? strings.length : end));
  };
  // One pass: where each struct starts, by name.
  const structs = new Map<string, number>();
  let p = typeOff;
  const end = typeOff + typeLen;
  while (p < end) {
    const nameOff = view.getUint32(p, true);
    const info = view.getUint32(p + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === KIND.struct && nameOff !== 0) {
      const name = str(nameOff);
      if (!structs.has(name)) structs.set(name, p);
    }
    p += 12 + extraSize(kind, vlen, what);
  }
  return {
    struct(name) {
      const at = structs.get(name);
      if (at === undefined) return undefined;
      const info = view.getUint32(at + 4, true);
      const bitfieldOffsets = (info >>> 31) === 1;
      const vlen = info & 0xffff;
      const out: StructLayout = new Map();
      for (let i = 0; i < vlen; i++) {
        const m = at + 12 + i * 12;
        const raw = view.getUint32(m + 8, true);
        const bits = bitfieldOffsets ? raw & 0xffffff : raw;
        const bitSize = bitfieldOffsets ? raw >>> 24 : 0;
        if (bitSize !== 0 || bits % 8 !== 0) continue;
        const memberName = str(view.getUint32(m, true));
        if (memberName !== "") out.set(memberName, bits / 8);
      }
      return out;
    },
  };
}

function extraSize(kind: number, vlen: number, what: string): number {
  switch (kind) {
    case KIND.int:
    case KIND.var:
    case KIND.declTag:
      return 4;
    case KIND.array:
      return 12;
    case KIND.struct:
    case KIND.union:
    case KIND.datasec:
    case KIND.enum64:
      return 12 * vlen;
    case KIND.enum:
    case KIND.funcProto:
      return 8 * vlen;
    case KIND.ptr:
    case KIND.fwd:
    case KIND.typedef:
    case KIND.volatile:
    case KIND.const:
    case KIND.restrict:
    case KIND.func:
    case KIND.float:
    case KIND.typeTag:
      return 0;
    default:
      throw new BpfError(`${what} has a type of unknown kind ${kind}`, 0);
  }
}

/** The offset of `struct.member`; throws naming both when the kernel's BTF lacks it. */
export function memberOffset(btf: Btf, struct: string, member: string): number {
  const layout = btf.struct(struct);
  if (layout === undefined) throw new BpfError(`BTF has no struct ${struct}`, 0);
  const off = layout.get(member);
  if (off === undefined) throw new BpfError(`BTF struct ${struct} has no member "${member}"`, 0);
  return off;
}
