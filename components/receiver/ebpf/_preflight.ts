/**
 * What the receiver checks before loading anything, so a start error names what is missing
 * instead of an errno from deep inside: Linux, the privileges `bpf(2)` and `perf_event_open(2)`
 * need, tracefs (mounted here when it is not and the process may), and BTF.
 *
 * @module
 */
import { type Btf, loadBtf, VMLINUX_BTF } from "../../../lib/ebpf/btf.ts";
import { BpfError } from "../../../lib/ebpf/errors.ts";
import { findTracefs } from "../../../lib/ebpf/tracefs.ts";

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** The effective capability set of this process, from `/proc/self/status`. */
export function effectiveCapabilities(status?: string): bigint {
  const text = status ?? Deno.readTextFileSync("/proc/self/status");
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  return m === null ? 0n : BigInt(`0x${m[1]}`);
}

/**
 * Why this process cannot load and attach tracing programs, or undefined when it can: it needs
 * CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN (root has all of them).
 */
export function privilegeProblem(caps: bigint): string | undefined {
  const has = (c: bigint) => (caps >> c & 1n) === 1n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return undefined;
  const uid = Deno.uid();
  return `loading eBPF programs needs root (or CAP_BPF and CAP_PERFMON); running as uid ${uid}` +
    " without them";
}

/** What the programs are built against. */
export interface System {
  tracefs: string;
  btf: Btf | undefined;
  /** Why there is no BTF, when there is none. */
  btfProblem: string | undefined;
}

/**
 * Checks the system; throws a {@linkcode BpfError} with a message for people when the receiver
 * cannot run at all. A missing BTF is not fatal here: only the groups that need it stop.
 * @param needBtf read BTF (some enabled group reads kernel structs); parsing it takes a while
 */
export function preflight(btfPath: string, needBtf: boolean): System {
  if (Deno.build.os !== "linux") {
    throw new BpfError(`eBPF needs Linux; this is ${Deno.build.os}`, 0);
  }
  const problem = privilegeProblem(effectiveCapabilities());
  if (problem !== undefined) throw new BpfError(problem, 0);
  const tracefs = findTracefs();
  if (!needBtf) return { tracefs, btf: undefined, btfProblem: "not read (no group needs it)" };
  try {
    return { tracefs, btf: loadBtf(btfPath === "" ? VMLINUX_BTF : btfPath), btfProblem: undefined };
  } catch (error) {
    if (!(error instanceof BpfError)) throw error;
    return { tracefs, btf: undefined, btfProblem: error.message };
  }
}
