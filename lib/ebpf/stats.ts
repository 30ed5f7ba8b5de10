/**
 * The kernel's own account of what BPF programs cost: `BPF_ENABLE_STATS` turns on run-time
 * statistics for as long as its descriptor is open (the same switch as the
 * `kernel.bpf_stats_enabled` sysctl, without leaving it on), and `BPF_OBJ_GET_INFO_BY_FD` reads a
 * program's `run_time_ns` and `run_cnt`: the nanoseconds spent inside the program (the kernel's
 * `sched_clock` around each run) and how many times it ran. Their ratio is the program's cost
 * per event, independent of how busy the machine is otherwise.
 *
 * ```ts
 * const stats = enableStats();
 * const before = programInfo(progFd);
 * // … events …
 * const after = programInfo(progFd);
 * const nsPerRun = Number(after.runTimeNs - before.runTimeNs) / Number(after.runCount - before.runCount);
 * closeFd(stats);
 * ```
 *
 * @module
 */
import { addressOf, bpfRaw } from "./_libc.ts";
import { BpfError } from "./errors.ts";

const CMD_OBJ_GET_INFO_BY_FD = 15;
const CMD_ENABLE_STATS = 32;
const BPF_STATS_RUN_TIME = 0;

/** `struct bpf_prog_info` up to `verified_insns` (`include/uapi/linux/bpf.h`). */
const INFO_SIZE = 224;
const OFF = {
  type: 0,
  id: 4,
  xlatedLen: 20,
  jitedLen: 16,
  name: 64,
  runTimeNs: 192,
  runCnt: 200,
  recursionMisses: 208,
  verifiedInsns: 216,
} as const;

/**
 * Turns on run-time statistics of every BPF program until the returned descriptor is closed.
 * Needs CAP_SYS_ADMIN.
 * @returns the descriptor that keeps statistics on
 */
export function enableStats(): number {
  const attr = new Uint8Array(144);
  new DataView(attr.buffer).setUint32(0, BPF_STATS_RUN_TIME, true);
  const fd = bpfRaw(CMD_ENABLE_STATS, attr);
  if (fd < 0) throw new BpfError("Cannot enable BPF run-time statistics", -fd);
  return fd;
}

/** What the kernel reports of one loaded program. */
export interface ProgramInfo {
  /** The program's ID (`bpftool prog show id N`). */
  id: number;
  /** Its program type. */
  type: number;
  /** Its name, as loaded (at most 15 characters). */
  name: string;
  /** Instructions after the verifier's rewrites (inlined helpers, map lookups). */
  xlatedInstructions: number;
  /** Bytes of machine code of the JIT. */
  jitedBytes: number;
  /** Nanoseconds spent running it while statistics were on. */
  runTimeNs: bigint;
  /** Times it ran while statistics were on. */
  runCount: bigint;
  /** Runs skipped because the program was already running on that CPU. */
  recursionMisses: bigint;
  /** Instructions the verifier processed. */
  verifiedInstructions: number;
}

/** Reads a program's information (`BPF_OBJ_GET_INFO_BY_FD`). */
export function programInfo(progFd: number): ProgramInfo {
  const info = new Uint8Array(INFO_SIZE);
  const attr = new Uint8Array(144);
  const a = new DataView(attr.buffer);
  a.setUint32(0, progFd, true);
  a.setUint32(4, INFO_SIZE, true);
  a.setBigUint64(8, addressOf(info), true);
  const r = bpfRaw(CMD_OBJ_GET_INFO_BY_FD, attr);
  if (r < 0) throw new BpfError(`Cannot read the information of BPF program fd ${progFd}`, -r);
  const v = new DataView(info.buffer);
  const nameBytes = info.subarray(OFF.name, OFF.name + 16);
  const end = nameBytes.indexOf(0);
  return {
    id: v.getUint32(OFF.id, true),
    type: v.getUint32(OFF.type, true),
    name: new TextDecoder().decode(end < 0 ? nameBytes : nameBytes.subarray(0, end)),
    xlatedInstructions: v.getUint32(OFF.xlatedLen, true) / 8,
    jitedBytes: v.getUint32(OFF.jitedLen, true),
    runTimeNs: v.getBigUint64(OFF.runTimeNs, true),
    runCount: v.getBigUint64(OFF.runCnt, true),
    recursionMisses: v.getBigUint64(OFF.recursionMisses, true),
    verifiedInstructions: v.getUint32(OFF.verifiedInsns, true),
  };
}

/** Nanoseconds per run between two readings of one program; NaN when it did not run. */
export function nsPerRun(before: ProgramInfo, after: ProgramInfo): number {
  const runs = Number(after.runCount - before.runCount);
  return runs > 0 ? Number(after.runTimeNs - before.runTimeNs) / runs : NaN;
}
