/**
 * A BPF instruction assembler: registers, ALU and memory instructions, helper calls, map file
 * descriptors as 64-bit loads, and jumps to named labels resolved at {@linkcode Assembler.assemble}.
 *
 * ```ts
 * const a = new Assembler();
 * a.call(Helper.getCurrentPidTgid).jmpImm("jeq", R0, 0, "out");
 * a.label("out").movImm(R0, 0).exit();
 * const code = a.assemble(); // 8 bytes per instruction slot
 * ```
 *
 * @module
 */

/** A register: `R0` (return value), `R1`–`R5` (arguments), `R6`–`R9` (callee-saved), `R10` (frame). */
export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const R0: Reg = 0;
export const R1: Reg = 1;
export const R2: Reg = 2;
export const R3: Reg = 3;
export const R4: Reg = 4;
export const R5: Reg = 5;
export const R6: Reg = 6;
export const R7: Reg = 7;
export const R8: Reg = 8;
export const R9: Reg = 9;
/** The read-only frame pointer; the stack is the 512 bytes below it. */
export const FP: Reg = 10;

/** Memory access sizes. */
export type Size = "b" | "h" | "w" | "dw";
const SIZE: Readonly<Record<Size, number>> = { w: 0x00, h: 0x08, b: 0x10, dw: 0x18 };

/** 64-bit ALU operations. */
export type AluOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "or"
  | "and"
  | "lsh"
  | "rsh"
  | "mod"
  | "xor"
  | "mov"
  | "arsh";
const ALU: Readonly<Record<AluOp, number>> = {
  add: 0x00,
  sub: 0x10,
  mul: 0x20,
  div: 0x30,
  or: 0x40,
  and: 0x50,
  lsh: 0x60,
  rsh: 0x70,
  mod: 0x90,
  xor: 0xa0,
  mov: 0xb0,
  arsh: 0xc0,
};

/** Conditional jumps (64-bit compares; the `s` ones are signed). */
export type JmpOp =
  | "jeq"
  | "jne"
  | "jgt"
  | "jge"
  | "jlt"
  | "jle"
  | "jset"
  | "jsgt"
  | "jsge"
  | "jslt"
  | "jsle";
const JMP: Readonly<Record<JmpOp, number>> = {
  jeq: 0x10,
  jgt: 0x20,
  jge: 0x30,
  jset: 0x40,
  jne: 0x50,
  jsgt: 0x60,
  jsge: 0x70,
  jlt: 0xa0,
  jle: 0xb0,
  jslt: 0xc0,
  jsle: 0xd0,
};

const CLASS_LD = 0x00;
const CLASS_LDX = 0x01;
const CLASS_ST = 0x02;
const CLASS_STX = 0x03;
const CLASS_JMP = 0x05;
const CLASS_ALU64 = 0x07;
const MODE_MEM = 0x60;
const MODE_ATOMIC = 0xc0;
const MODE_IMM = 0x00;
const SRC_X = 0x08;
const OP_CALL = 0x80;
const OP_EXIT = 0x90;
const OP_JA = 0x00;
/** `src_reg` of a 64-bit load whose immediate is a map file descriptor. */
const PSEUDO_MAP_FD = 1;

/** The helper functions the programs here call, by their kernel numbers. */
export const Helper = {
  mapLookupElem: 1,
  mapUpdateElem: 2,
  mapDeleteElem: 3,
  ktimeGetNs: 5,
  getPrandomU32: 7,
  getSmpProcessorId: 8,
  getCurrentPidTgid: 14,
  getCurrentComm: 16,
  probeReadKernel: 113,
  /** `bpf_task_storage_get(map, task, value, flags)`: the task's slot (flag 1: create it). */
  taskStorageGet: 156,
  /** The current task as a BTF pointer (for the task storage helpers). */
  getCurrentTaskBtf: 158,
} as const;

/** Flags of `bpf_map_update_elem`. */
export const UpdateFlag = { any: 0, noExist: 1, exist: 2 } as const;

interface Slot {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** A jump whose offset is the distance to this label. */
  target?: string;
}

function int32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0xffff_ffff) {
    throw new RangeError(`${what} must be a 32-bit integer: ${v}`);
  }
  return v | 0;
}

function int16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) {
    throw new RangeError(`${what} must be a 16-bit signed integer: ${v}`);
  }
  return v;
}

/** Builds one BPF program, instruction by instruction. Methods return `this` to chain. */
export class Assembler {
  #slots: Slot[] = [];
  #labels = new Map<string, number>();

  /** The number of 8-byte instruction slots so far (a 64-bit load takes two). */
  get length(): number {
    return this.#slots.length;
  }

  #push(op: number, dst: Reg, src: Reg, off: number, imm: number, target?: string): this {
    const slot: Slot = { op, dst, src, off: int16(off, "Offset"), imm: int32(imm, "Immediate") };
    if (target !== undefined) slot.target = target;
    this.#slots.push(slot);
    return this;
  }

  /** Marks the next instruction as `name`, a jump target. */
  label(name: string): this {
    if (this.#labels.has(name)) throw new Error(`Label "${name}" is defined twice`);
    this.#labels.set(name, this.#slots.length);
    return this;
  }

  /** `dst = imm` (sign-extended 32-bit immediate). */
  movImm(dst: Reg, imm: number): this {
    return this.#push(CLASS_ALU64 | ALU.mov, dst, 0, 0, imm);
  }

  /** `dst = src`. */
  movReg(dst: Reg, src: Reg): this {
    return this.#push(CLASS_ALU64 | ALU.mov | SRC_X, dst, src, 0, 0);
  }

  /** `dst = dst <op> imm`. */
  aluImm(op: AluOp, dst: Reg, imm: number): this {
    return this.#push(CLASS_ALU64 | ALU[op], dst, 0, 0, imm);
  }

  /** `dst = dst <op> src`. */
  aluReg(op: AluOp, dst: Reg, src: Reg): this {
    return this.#push(CLASS_ALU64 | ALU[op] | SRC_X, dst, src, 0, 0);
  }

  /** `dst = *(size *)(src + off)`. */
  ldx(size: Size, dst: Reg, src: Reg, off: number): this {
    return this.#push(CLASS_LDX | MODE_MEM | SIZE[size], dst, src, off, 0);
  }

  /** `*(size *)(dst + off) = src`. */
  stx(size: Size, dst: Reg, off: number, src: Reg): this {
    return this.#push(CLASS_STX | MODE_MEM | SIZE[size], dst, src, off, 0);
  }

  /** `*(size *)(dst + off) = imm`. */
  st(size: Size, dst: Reg, off: number, imm: number): this {
    return this.#push(CLASS_ST | MODE_MEM | SIZE[size], dst, 0, off, imm);
  }

  /** `lock *(size *)(dst + off) += src` (`w` or `dw`). */
  atomicAdd(size: "w" | "dw", dst: Reg, off: number, src: Reg): this {
    return this.#push(CLASS_STX | MODE_ATOMIC | SIZE[size], dst, src, off, 0x00);
  }

  /** `dst = imm64` (two slots). */
  ld64(dst: Reg, imm: bigint): this {
    const v = BigInt.asUintN(64, imm);
    this.#push(CLASS_LD | MODE_IMM | SIZE.dw, dst, 0, 0, Number(v & 0xffff_ffffn) | 0);
    return this.#push(0, 0, 0, 0, Number(v >> 32n) | 0);
  }

  /** `dst = map` (two slots): the kernel swaps the file descriptor for the map's address. */
  ldMapFd(dst: Reg, fd: number): this {
    this.#push(CLASS_LD | MODE_IMM | SIZE.dw, dst, PSEUDO_MAP_FD as Reg, 0, fd);
    return this.#push(0, 0, 0, 0, 0);
  }

  /** Calls a helper (arguments in R1–R5, result in R0; R1–R5 are clobbered). */
  call(helper: number): this {
    return this.#push(CLASS_JMP | OP_CALL, 0, 0, 0, helper);
  }

  /** Returns R0. */
  exit(): this {
    return this.#push(CLASS_JMP | OP_EXIT, 0, 0, 0, 0);
  }

  /** Jumps to `label`. */
  jmp(label: string): this {
    return this.#push(CLASS_JMP | OP_JA, 0, 0, 0, 0, label);
  }

  /** Jumps to `label` when `dst <op> imm`. */
  jmpImm(op: JmpOp, dst: Reg, imm: number, label: string): this {
    return this.#push(CLASS_JMP | JMP[op], dst, 0, 0, imm, label);
  }

  /** Jumps to `label` when `dst <op> src`. */
  jmpReg(op: JmpOp, dst: Reg, src: Reg, label: string): this {
    return this.#push(CLASS_JMP | JMP[op] | SRC_X, dst, src, 0, 0, label);
  }

  /** Encodes the program; throws on a jump to an undefined label or one out of range. */
  assemble(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.#slots.length * 8);
    const view = new DataView(out.buffer);
    this.#slots.forEach((s, i) => {
      let off = s.off;
      if (s.target !== undefined) {
        const at = this.#labels.get(s.target);
        if (at === undefined) throw new Error(`Jump to undefined label "${s.target}"`);
        off = int16(at - (i + 1), `Jump to "${s.target}"`);
      }
      view.setUint8(i * 8, s.op);
      view.setUint8(i * 8 + 1, (s.src << 4) | s.dst);
      view.setInt16(i * 8 + 2, off, true);
      view.setInt32(i * 8 + 4, s.imm, true);
    });
    return out;
  }
}
