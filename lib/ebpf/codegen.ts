/**
 * Instruction sequences the programs repeat: "find this key's counters, creating them with the
 * task's command name when absent", and adding to a counter.
 *
 * @module
 */
import { type Assembler, FP, Helper, R0, R1, R2, R3, R4, type Reg, UpdateFlag } from "./asm.ts";

/** Where the command name of a new entry comes from. */
export type CommSource =
  /** `bpf_get_current_comm`. */
  | { kind: "current" }
  /** 16 bytes already on the stack at `FP + offset`. */
  | { kind: "stack"; offset: number };

/** Options of {@linkcode lookupOrInit}. */
export interface LookupOrInit {
  /** The map's file descriptor. */
  mapFd: number;
  /** The key's stack offset (negative, from FP). */
  keyOffset: number;
  /** Where a zeroed value is built on the stack (negative, from FP). */
  valueOffset: number;
  /** The value's size in bytes (a multiple of 8). */
  valueSize: number;
  /** The offset of a 16-byte command name in the value, when it has one. */
  commAt?: number;
  comm?: CommSource;
  /** Jumped to when the entry can neither be found nor created (the map is full). */
  fail: string;
  /** Unique per use within one program; names the internal labels. */
  tag: string;
}

/**
 * Emits: R0 = lookup(map, key); when absent, build a zero value (with the comm), insert it
 * (`BPF_NOEXIST`, so a racing insert on another CPU wins harmlessly) and look up again; when still
 * absent, jump to `fail`. Falls through with R0 pointing at the value. Clobbers R1–R5.
 */
export function lookupOrInit(a: Assembler, o: LookupOrInit): void {
  if (o.valueSize % 8 !== 0) throw new RangeError("Value sizes here are multiples of 8");
  const have = `${o.tag}_have`;
  a.ldMapFd(R1, o.mapFd).movReg(R2, FP).aluImm("add", R2, o.keyOffset).call(Helper.mapLookupElem);
  a.jmpImm("jne", R0, 0, have);
  for (let i = 0; i < o.valueSize; i += 8) a.st("dw", FP, o.valueOffset + i, 0);
  if (o.commAt !== undefined && o.comm !== undefined) {
    const at = o.valueOffset + o.commAt;
    if (o.comm.kind === "current") {
      a.movReg(R1, FP).aluImm("add", R1, at).movImm(R2, 16).call(Helper.getCurrentComm);
    } else {
      a.ldx("dw", R1, FP, o.comm.offset).stx("dw", FP, at, R1);
      a.ldx("dw", R1, FP, o.comm.offset + 8).stx("dw", FP, at + 8, R1);
    }
  }
  a.ldMapFd(R1, o.mapFd).movReg(R2, FP).aluImm("add", R2, o.keyOffset);
  a.movReg(R3, FP).aluImm("add", R3, o.valueOffset).movImm(R4, UpdateFlag.noExist);
  a.call(Helper.mapUpdateElem);
  a.ldMapFd(R1, o.mapFd).movReg(R2, FP).aluImm("add", R2, o.keyOffset).call(Helper.mapLookupElem);
  a.jmpImm("jeq", R0, 0, o.fail);
  a.label(have);
}

/** Emits `*(u64 *)(ptr + offset) += src` (R1 is used as scratch). Per-CPU values need no lock. */
export function addTo(a: Assembler, ptr: Reg, offset: number, src: Reg): void {
  a.ldx("dw", R1, ptr, offset).aluReg("add", R1, src).stx("dw", ptr, offset, R1);
}

/** Emits `*(u64 *)(ptr + offset) += imm` (R1 is used as scratch). */
export function addImm(a: Assembler, ptr: Reg, offset: number, imm: number): void {
  a.ldx("dw", R1, ptr, offset).aluImm("add", R1, imm).stx("dw", ptr, offset, R1);
}

/**
 * Emits the failure path of {@linkcode lookupOrInit}: `fail:` counts one dropped event in slot
 * `slot` of the per-CPU array `dropsFd`, then exits with 0.
 */
export function dropAndExit(a: Assembler, fail: string, dropsFd: number, slot: number): void {
  a.label(fail);
  a.st("w", FP, -4, slot);
  a.ldMapFd(R1, dropsFd).movReg(R2, FP).aluImm("add", R2, -4).call(Helper.mapLookupElem);
  a.jmpImm("jeq", R0, 0, `${fail}_exit`);
  addImm(a, R0, 0, 1);
  a.label(`${fail}_exit`).movImm(R0, 0).exit();
}
