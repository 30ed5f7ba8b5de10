/**
 * The receiver's BPF programs, assembled at start for the groups the config enables, with the
 * record offsets of the running kernel (tracefs formats) and its struct offsets (BTF):
 *
 * | group | attached to | map |
 * | --- | --- | --- |
 * | syscalls, file_io | raw tracepoints `sys_enter`, `sys_exit` | `tfo_syscalls`, `tfo_fileio` |
 * | network | `sock:sock_send_length`, `sock:sock_recv_length`, `sock:inet_sock_set_state`, `tcp:tcp_retransmit_skb`, `tcp:tcp_probe` | `tfo_tcp`, `tfo_udp` |
 * | tcp_events | `sock:inet_sock_set_state` | `tfo_tcpstate` |
 * | scheduler | raw tracepoints `sched_switch`, `sched_wakeup`, `sched_wakeup_new`, `sched_migrate_task` | `tfo_sched` |
 * | memory | `exceptions:page_fault_user`; software events major and minor faults, one per CPU | `tfo_memory` |
 *
 * TCP events in softirq context run on behalf of whichever task the CPU interrupted, so sockets are
 * attributed to their owner: the process that called `connect()` or `listen()` (recorded at the
 * `SYN_SENT` / `LISTEN` transition, in that process), inherited by accepted sockets through the
 * listening port.
 *
 * @module
 */
import {
  Assembler,
  FP,
  Helper,
  R0,
  R1,
  R2,
  R3,
  R4,
  R6,
  R7,
  R8,
  R9,
  UpdateFlag,
} from "../../../lib/ebpf/asm.ts";
import {
  attachRawTracepoint,
  AttachType,
  type BpfMap,
  createLink,
  createMap,
  loadProgram,
  MapType,
  possibleCpus,
  ProgType,
} from "../../../lib/ebpf/bpf.ts";
import { type Btf, memberOffset } from "../../../lib/ebpf/btf.ts";
import { createTaskStorage } from "../../../lib/ebpf/btf_write.ts";
import { addImm, addTo, dropAndExit, lookupOrInit } from "../../../lib/ebpf/codegen.ts";
import { BpfError } from "../../../lib/ebpf/errors.ts";
import { FdSet } from "../../../lib/ebpf/fds.ts";
import { openSoftwareEvent, openTracepointEvent, SoftwareEvent } from "../../../lib/ebpf/perf.ts";
import { field, readFormat, type TraceFormat } from "../../../lib/ebpf/tracefs.ts";
import {
  counterOffset,
  DROP_SLOTS,
  FILE_SYSCALLS,
  MEMORY,
  SCHED,
  type StatsLayout,
  SYSCALLS,
  TCP,
  TCP_STATES,
  UDP,
} from "./_layout.ts";

/** The metric groups, named after their `collect_*` keys. */
export type Group = "syscalls" | "file_io" | "network" | "tcp_events" | "scheduler" | "memory";

/** What the programs need from the system. */
export interface Kernel {
  tracefs: string;
  /** Undefined when the kernel has no BTF: the groups needing struct offsets cannot run. */
  btf: Btf | undefined;
  /** Why there is no BTF, for the warning. */
  btfProblem?: string;
  /** Bound on the entries of each statistics map (distinct processes, or process × syscall). */
  maxEntries: number;
  /** One system call in this many is timed for the latency sums (1: every call). @default 1 */
  latencySamplePeriod?: number;
  /** Forces how in-flight system calls are kept (see `inflightMap`); by default the cheapest. */
  inflight?: InflightKind;
}

/** The maps that hold the results, by layout name, and the drop counters. */
export interface Loaded {
  stats: Map<string, { layout: StatsLayout; map: BpfMap }>;
  drops: BpfMap;
  /** Groups that run. */
  groups: Set<Group>;
  /** One line per group that cannot run, naming what is missing. */
  warnings: string[];
  /** Every program attached, by name (for `lib/ebpf/stats.ts`: their kernel-side cost). */
  programs: Array<{ name: string; fd: number }>;
}

const TCP_ESTABLISHED = 1;
const TCP_SYN_SENT = 2;
const TCP_CLOSE = 7;
const TCP_LISTEN = 10;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const AF_INET = 2;
const AF_INET6 = 10;

function statsMap(layout: StatsLayout, maxEntries: number): BpfMap {
  return createMap({
    name: layout.name,
    type: MapType.percpuHash,
    keySize: layout.keySize,
    valueSize: layout.valueSize,
    maxEntries,
  });
}

function helperMap(name: string, keySize: number, valueSize: number, maxEntries: number): BpfMap {
  return createMap({ name, type: MapType.lruHash, keySize, valueSize, maxEntries });
}

/** Creates the maps, loads and attaches the programs; every descriptor goes into `fds`. */
export function loadPrograms(groups: ReadonlySet<Group>, kernel: Kernel, fds: FdSet): Loaded {
  const own = (m: BpfMap) => {
    fds.own(m.fd);
    return m;
  };
  const drops = own(createMap({
    name: "tfo_drops",
    type: MapType.percpuArray,
    keySize: 4,
    valueSize: 8,
    maxEntries: DROP_SLOTS.length,
  }));
  const out: Loaded = {
    stats: new Map(),
    drops,
    groups: new Set(),
    warnings: [],
    programs: [],
  };
  const n = kernel.maxEntries;
  const stat = (layout: StatsLayout) => {
    let entry = out.stats.get(layout.name);
    if (entry === undefined) {
      entry = { layout, map: own(statsMap(layout, n)) };
      out.stats.set(layout.name, entry);
    }
    return entry.map;
  };
  const ctx: Ctx = { kernel, fds, drops, programs: [] };
  // A group runs when all it needs loaded; one that fails is left out with a warning naming the
  // missing piece, its programs already attached are detached, and the others still run. (Maps
  // stay with `fds`: another group may share them.)
  const attempt = (names: Group[], load: () => void) => {
    if (names.length === 0) return;
    const local = new FdSet();
    ctx.fds = local;
    try {
      ctx.programs = [];
      load();
      fds.adopt(local);
      out.programs.push(...ctx.programs);
      for (const g of names) out.groups.add(g);
    } catch (error) {
      local.closeAll();
      if (!(error instanceof BpfError)) throw error;
      for (const g of names) out.warnings.push(`collect_${g}: ${error.message}`);
    } finally {
      ctx.fds = fds;
    }
  };
  const pick = (...names: Group[]) => names.filter((g) => groups.has(g));

  const sysGroups = pick("syscalls", "file_io");
  attempt(sysGroups, () => {
    const period = kernel.latencySamplePeriod ?? 1;
    const inflight = own(inflightMap(kernel.inflight));
    const ticks = period > 1
      ? own(createMap({
        name: "tfo_ticks",
        type: MapType.percpuArray,
        keySize: 4,
        valueSize: 8,
        maxEntries: 1,
      }))
      : undefined;
    attachRaw(ctx, "sys_enter", sysEnter(ctx, inflight, period, ticks));
    // Without the syscalls group, only the file operations' calls are counted.
    attachRaw(ctx, "sys_exit", sysExit(ctx, inflight, stat(SYSCALLS), !groups.has("syscalls")));
  });
  const tcpGroups = pick("network", "tcp_events");
  let owners: BpfMap | undefined;
  attempt(tcpGroups, () => {
    owners = own(helperMap("tfo_sk_owner", 8, 24, 65536));
    const listeners = own(helperMap("tfo_listeners", 4, 24, 4096));
    // inet_sock_set_state serves both groups: one program writing the maps of those enabled.
    const parts = {
      tcp: groups.has("network") ? stat(TCP) : undefined,
      states: groups.has("tcp_events") ? stat(TCP_STATES) : undefined,
    };
    const f = readFormat(kernel.tracefs, "sock", "inet_sock_set_state");
    attachTracepoint(ctx, f, setState(ctx, f, owners, listeners, parts));
  });
  if (out.groups.has("network") && owners !== undefined) {
    out.groups.delete("network");
    const sockOwners = owners;
    attempt(["network"], () => {
      const tcp = stat(TCP);
      const udp = stat(UDP);
      for (const [name, dir] of [["sock_send_length", 0], ["sock_recv_length", 1]] as const) {
        const f = readFormat(kernel.tracefs, "sock", name);
        attachTracepoint(ctx, f, sockLength(ctx, f, tcp, udp, dir));
      }
      const rt = readFormat(kernel.tracefs, "tcp", "tcp_retransmit_skb");
      attachTracepoint(ctx, rt, retransmit(ctx, rt, sockOwners, tcp));
      const probe = readFormat(kernel.tracefs, "tcp", "tcp_probe");
      attachTracepoint(ctx, probe, tcpProbe(ctx, probe, sockOwners, tcp));
    });
  }
  attempt(pick("scheduler"), () => {
    const btf = requireBtf(kernel);
    const task = {
      pid: memberOffset(btf, "task_struct", "pid"),
      tgid: memberOffset(btf, "task_struct", "tgid"),
      comm: memberOffset(btf, "task_struct", "comm"),
    };
    const sched = stat(SCHED);
    const wake = own(helperMap("tfo_wakeup", 4, 8, 65536));
    const oncpu = own(createMap({
      name: "tfo_oncpu",
      type: MapType.percpuArray,
      keySize: 4,
      valueSize: 8,
      maxEntries: 1,
    }));
    attachRaw(ctx, "sched_wakeup", wakeup(task, wake));
    attachRaw(ctx, "sched_wakeup_new", wakeup(task, wake));
    attachRaw(ctx, "sched_switch", schedSwitch(ctx, task, sched, wake, oncpu));
    attachRaw(ctx, "sched_migrate_task", migrate(ctx, task, sched));
  });
  attempt(pick("memory"), () => {
    const mem = stat(MEMORY);
    const f = readFormat(kernel.tracefs, "exceptions", "page_fault_user");
    attachTracepoint(ctx, f, {
      name: "tfo_page_fault",
      type: ProgType.tracepoint,
      code: countCurrent(ctx, mem, "page_faults", 5),
    });
    for (
      const [config, counter] of [
        [SoftwareEvent.pageFaultsMaj, "major_faults"],
        [SoftwareEvent.pageFaultsMin, "minor_faults"],
      ] as const
    ) {
      const prog = ctx.fds.own(loadProgram({
        name: `tfo_${counter}`,
        type: ProgType.perfEvent,
        code: countCurrent(ctx, mem, counter, 5),
      }));
      ctx.programs.push({ name: `tfo_${counter}`, fd: prog });
      for (let cpu = 0; cpu < onlineCpus().length; cpu++) {
        const ev = ctx.fds.own(openSoftwareEvent(config, onlineCpus()[cpu]!, counter));
        ctx.fds.own(createLink(prog, ev, AttachType.perfEvent));
      }
    }
  });
  return out;
}

function requireBtf(kernel: Kernel): Btf {
  if (kernel.btf === undefined) {
    throw new BpfError(
      `it reads task_struct through BTF offsets: ${kernel.btfProblem ?? "the kernel has no BTF"}`,
      0,
    );
  }
  return kernel.btf;
}

let online: number[] | undefined;

/** The online CPUs (`/sys/devices/system/cpu/online`). */
function onlineCpus(): number[] {
  if (online !== undefined) return online;
  const out: number[] = [];
  for (const part of Deno.readTextFileSync("/sys/devices/system/cpu/online").trim().split(",")) {
    const [a, b] = part.split("-").map(Number);
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  online = out.length > 0 ? out : Array.from({ length: possibleCpus() }, (_, i) => i);
  return online;
}

interface Ctx {
  kernel: Kernel;
  fds: FdSet;
  drops: BpfMap;
  /** The programs of the group being loaded. */
  programs: Array<{ name: string; fd: number }>;
}

interface Prog {
  name: string;
  type: number;
  code: Uint8Array<ArrayBuffer>;
}

function attachRaw(ctx: Ctx, tracepoint: string, prog: Prog | Uint8Array<ArrayBuffer>): void {
  const p = prog instanceof Uint8Array
    ? { name: `tfo_${tracepoint}`, type: ProgType.rawTracepoint, code: prog }
    : prog;
  const fd = ctx.fds.own(loadProgram(p));
  ctx.fds.own(attachRawTracepoint(fd, tracepoint));
  ctx.programs.push({ name: p.name, fd });
}

function attachTracepoint(
  ctx: Ctx,
  format: TraceFormat,
  prog: Prog | Uint8Array<ArrayBuffer>,
): void {
  const p = prog instanceof Uint8Array
    ? {
      name: `tfo_${format.event.split(":")[1]!.slice(0, 11)}`,
      type: ProgType.tracepoint,
      code: prog,
    }
    : prog;
  const fd = ctx.fds.own(loadProgram(p));
  const ev = ctx.fds.own(openTracepointEvent(format.id, format.event));
  ctx.fds.own(createLink(fd, ev, AttachType.perfEvent));
  ctx.programs.push({ name: p.name, fd });
}

function exit0(a: Assembler, label = "out"): void {
  a.label(label).movImm(R0, 0).exit();
}

/** The largest thread ID table kept as an array (24 bytes a thread: 24 MiB at this size). */
const MAX_TID_ARRAY = 1 << 20;

/** `exit` and `exit_group` never return: their entries would outlive the thread. */
const NO_RETURN: Readonly<Record<string, readonly number[]>> = {
  x86_64: [60, 231],
  aarch64: [93, 94],
};

/** How `sys_enter` keeps a thread's slot for `sys_exit`. */
export type InflightKind = "array" | "task_storage" | "hash";

/**
 * Where `sys_enter` leaves `{entered ns or 0, pid_tgid, nr}` for `sys_exit`, by thread: an array of
 * `kernel.pid_max` slots indexed by thread ID (its lookups are inlined by the verifier, no
 * hashing) when that is at most {@linkcode MAX_TID_ARRAY}; else task storage (a slot per task,
 * `bpf_task_storage_get`, freed with the task), which needs BTF; else an LRU hash by thread ID.
 * `kind` forces one (tests and benchmarks).
 */
function inflightMap(kind: InflightKind | undefined): BpfMap {
  let pidMax = 4_194_304;
  try {
    pidMax = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max").trim());
  } catch { /* the 64-bit default */ }
  const pick = kind ?? (pidMax <= MAX_TID_ARRAY ? "array" : "task_storage");
  if (pick === "array") {
    return createMap({
      name: "tfo_inflight",
      type: MapType.array,
      keySize: 4,
      valueSize: 24,
      maxEntries: pidMax,
    });
  }
  if (pick === "task_storage") {
    try {
      return createTaskStorage("tfo_inflight", ["entered_ns", "pid_tgid", "nr"]);
    } catch (error) {
      if (kind !== undefined || !(error instanceof BpfError)) throw error;
    }
  }
  return helperMap("tfo_inflight", 4, 24, 65536);
}

/**
 * Emits R0 = the current thread's in-flight slot, or 0 when it has none (`create`: make it; a
 * task storage slot is made zeroed). Array and hash slots are keyed by the thread ID at `FP-8`.
 */
function slot(a: Assembler, inflight: BpfMap, create: boolean): void {
  if (inflight.type !== MapType.taskStorage) {
    lookup(a, inflight, -8);
    return;
  }
  a.call(Helper.getCurrentTaskBtf).movReg(R2, R0);
  a.ldMapFd(R1, inflight.fd).movImm(R3, 0).movImm(R4, create ? 1 : 0);
  a.call(Helper.taskStorageGet);
}

/**
 * `sys_enter`: remembers which system call the calling thread entered and, for about one call in
 * `period` on each CPU (every call when 1), when: `{entered ns or 0, pid_tgid, nr}` in the thread's
 * slot, written in place once it exists (an array's always does; a hash slot is inserted once).
 * The sampling countdown is a per-CPU array slot, a lookup the verifier inlines; the random gap
 * (`bpf_get_prandom_u32`) is drawn only for the calls timed. A thread ID beyond the
 * array (`pid_max` raised since start) is counted as dropped.
 */
function sysEnter(
  ctx: Ctx,
  inflight: BpfMap,
  period: number,
  ticks: BpfMap | undefined,
): Uint8Array<ArrayBuffer> {
  const a = new Assembler();
  a.movReg(R6, R1);
  a.call(Helper.getCurrentPidTgid).movReg(R9, R0).stx("w", FP, -8, R0);
  a.ldx("dw", R8, R6, 8); // args[1]: the system call number
  for (const nr of NO_RETURN[Deno.build.arch] ?? []) a.jmpImm("jeq", R8, nr, "clear");
  slot(a, inflight, true);
  a.jmpImm("jne", R0, 0, "have");
  if (inflight.type !== MapType.lruHash) {
    a.jmp("fail");
  } else {
    for (const off of [-32, -24, -16]) a.st("dw", FP, off, 0);
    update(a, inflight, -8, -32);
    lookup(a, inflight, -8);
    a.jmpImm("jeq", R0, 0, "fail");
  }
  a.label("have").movReg(R7, R0);
  a.stx("dw", R7, 8, R9).stx("dw", R7, 16, R8).st("dw", R7, 0, 0);
  if (ticks !== undefined && period > 1) {
    // A per-CPU countdown to the next timed call. The gaps are random, uniform in 1 … 2N−1 (mean
    // N), so a loop whose calls repeat in a cycle (read, write, read, …) does not always have the
    // same one timed, as a fixed 1-in-N tick would.
    a.st("w", FP, -12, 0);
    lookup(a, ticks, -12);
    a.jmpImm("jeq", R0, 0, "out");
    a.ldx("dw", R1, R0, 0).jmpImm("jle", R1, 1, "timed");
    a.aluImm("sub", R1, 1).stx("dw", R0, 0, R1).jmp("out");
    a.label("timed").movReg(R9, R0).call(Helper.getPrandomU32);
    a.aluImm("mod", R0, 2 * period - 1).aluImm("add", R0, 1).stx("dw", R9, 0, R0);
  }
  // Last, so that the program's own work is not in the call's latency.
  a.call(Helper.ktimeGetNs).stx("dw", R7, 0, R0);
  a.jmp("out");
  a.label("clear");
  slot(a, inflight, false);
  a.jmpImm("jeq", R0, 0, "out").st("dw", R0, 8, 0);
  exit0(a);
  dropAndExit(a, "fail", ctx.drops.fd, 0);
  return a.assemble();
}

/**
 * `sys_exit`: one lookup of `{pid, nr}` per call: its count, error or bytes (positive return
 * values), and when `sys_enter` timed it, its latency. With `fileOnly`, calls of other than the
 * file operations are not counted.
 */
function sysExit(
  ctx: Ctx,
  inflight: BpfMap,
  stats: BpfMap,
  fileOnly: boolean,
): Uint8Array<ArrayBuffer> {
  const a = new Assembler();
  a.movReg(R6, R1);
  a.call(Helper.getCurrentPidTgid).movReg(R8, R0).stx("w", FP, -8, R0);
  slot(a, inflight, false);
  a.jmpImm("jeq", R0, 0, "out");
  // Entered by this thread of this process (not a dead thread whose ID was reused) and not yet
  // consumed: an exit without an enter is not paired with a stale one.
  a.ldx("dw", R2, R0, 8).jmpReg("jne", R2, R8, "out");
  a.st("dw", R0, 8, 0);
  a.ldx("dw", R7, R0, 0).ldx("dw", R1, R0, 16).stx("w", FP, -28, R1);
  a.jmpImm("jeq", R7, 0, "untimed");
  a.call(Helper.ktimeGetNs).aluReg("sub", R0, R7).movReg(R7, R0);
  a.jmpImm("jne", R7, 0, "untimed").movImm(R7, 1); // a timed call stays timed
  a.label("untimed");
  if (fileOnly) {
    const table = FILE_SYSCALLS[Deno.build.arch];
    if (table === undefined) {
      throw new BpfError(`file I/O system calls are not known for ${Deno.build.arch}`, 0);
    }
    a.ldx("w", R1, FP, -28);
    for (const nr of table.flat()) a.jmpImm("jeq", R1, nr, "counted");
    a.jmp("out");
    a.label("counted");
  }
  a.ldx("dw", R9, R6, 8); // args[1]: the return value
  a.aluImm("rsh", R8, 32).stx("w", FP, -32, R8);
  lookupOrInit(a, {
    mapFd: stats.fd,
    keyOffset: -32,
    valueOffset: -32 - SYSCALLS.valueSize,
    valueSize: SYSCALLS.valueSize,
    commAt: SYSCALLS.commAt!,
    comm: { kind: "current" },
    fail: "fail",
    tag: "sys",
  });
  addImm(a, R0, counterOffset(SYSCALLS, "count"), 1);
  a.jmpImm("jeq", R7, 0, "result");
  addTo(a, R0, counterOffset(SYSCALLS, "latency_ns"), R7);
  addImm(a, R0, counterOffset(SYSCALLS, "latency_samples"), 1);
  a.label("result");
  a.jmpImm("jsgt", R9, 0, "bytes").jmpImm("jeq", R9, 0, "out");
  addImm(a, R0, counterOffset(SYSCALLS, "errors"), 1);
  a.jmp("out");
  a.label("bytes");
  addTo(a, R0, counterOffset(SYSCALLS, "bytes"), R9);
  exit0(a);
  dropAndExit(a, "fail", ctx.drops.fd, fileOnly ? 1 : 0);
  return a.assemble();
}

/** Copies the 24-byte owner record at R0 to the stack at `FP + to` (R1 is scratch). */
function copyOwner(a: Assembler, to: number): void {
  for (let i = 0; i < 24; i += 8) a.ldx("dw", R1, R0, i).stx("dw", FP, to + i, R1);
}

/** Writes the current process as owner record at `FP + to`. */
function currentOwner(a: Assembler, to: number): void {
  a.call(Helper.getCurrentPidTgid).aluImm("rsh", R0, 32).stx("w", FP, to, R0).st(
    "w",
    FP,
    to + 4,
    0,
  );
  a.movReg(R1, FP).aluImm("add", R1, to + 8).movImm(R2, 16).call(Helper.getCurrentComm);
}

function update(a: Assembler, map: BpfMap, keyOffset: number, valueOffset: number): void {
  a.ldMapFd(R1, map.fd).movReg(R2, FP).aluImm("add", R2, keyOffset);
  a.movReg(R3, FP).aluImm("add", R3, valueOffset).movImm(R4, UpdateFlag.any);
  a.call(Helper.mapUpdateElem);
}

function lookup(a: Assembler, map: BpfMap, keyOffset: number): void {
  a.ldMapFd(R1, map.fd).movReg(R2, FP).aluImm("add", R2, keyOffset).call(Helper.mapLookupElem);
}

function remove(a: Assembler, map: BpfMap, keyOffset: number): void {
  a.ldMapFd(R1, map.fd).movReg(R2, FP).aluImm("add", R2, keyOffset).call(Helper.mapDeleteElem);
}

/** `sock:inet_sock_set_state`: socket owners, state transitions, established connections. */
function setState(
  ctx: Ctx,
  f: TraceFormat,
  owners: BpfMap,
  listeners: BpfMap,
  parts: { tcp: BpfMap | undefined; states: BpfMap | undefined },
): Uint8Array<ArrayBuffer> {
  const proto = field(f, "protocol", 2).offset;
  const sk = field(f, "skaddr", 8).offset;
  const oldS = field(f, "oldstate", 4).offset;
  const newS = field(f, "newstate", 4).offset;
  const sport = field(f, "sport", 2).offset;
  const a = new Assembler();
  a.movReg(R6, R1);
  a.ldx("h", R1, R6, proto).jmpImm("jne", R1, IPPROTO_TCP, "out");
  a.ldx("dw", R7, R6, sk).stx("dw", FP, -8, R7);
  a.ldx("w", R1, R6, oldS).stx("w", FP, -16, R1);
  a.ldx("w", R8, R6, newS).stx("w", FP, -12, R8);
  a.ldx("h", R1, R6, sport).stx("w", FP, -48, R1);
  a.jmpImm("jeq", R8, TCP_SYN_SENT, "set_current").jmpImm("jeq", R8, TCP_LISTEN, "set_current");
  lookup(a, owners, -8);
  a.jmpImm("jeq", R0, 0, "try_listener");
  copyOwner(a, -40);
  a.jmp("have");
  a.label("try_listener");
  lookup(a, listeners, -48);
  a.jmpImm("jeq", R0, 0, "set_current");
  copyOwner(a, -40);
  update(a, owners, -8, -40);
  a.jmp("have");
  a.label("set_current");
  currentOwner(a, -40);
  update(a, owners, -8, -40);
  a.jmpImm("jne", R8, TCP_LISTEN, "have");
  update(a, listeners, -48, -40);
  a.label("have");
  a.jmpImm("jne", R8, TCP_CLOSE, "stats");
  remove(a, owners, -8);
  a.ldx("w", R1, FP, -16).jmpImm("jne", R1, TCP_LISTEN, "stats");
  remove(a, listeners, -48);
  a.label("stats");
  if (parts.states !== undefined) {
    a.ldx("w", R1, FP, -40).stx("w", FP, -64, R1);
    a.ldx("w", R1, FP, -16).stx("w", FP, -60, R1).stx("w", FP, -56, R8).st("w", FP, -52, 0);
    lookupOrInit(a, {
      mapFd: parts.states.fd,
      keyOffset: -64,
      valueOffset: -88,
      valueSize: TCP_STATES.valueSize,
      commAt: TCP_STATES.commAt!,
      comm: { kind: "stack", offset: -32 },
      fail: "fail_states",
      tag: "states",
    });
    addImm(a, R0, counterOffset(TCP_STATES, "count"), 1);
  }
  if (parts.tcp !== undefined) {
    a.jmpImm("jne", R8, TCP_ESTABLISHED, "out");
    a.ldx("w", R1, FP, -40).stx("w", FP, -64, R1).st("w", FP, -60, 0);
    lookupOrInit(a, {
      mapFd: parts.tcp.fd,
      keyOffset: -64,
      valueOffset: -120,
      valueSize: TCP.valueSize,
      commAt: TCP.commAt!,
      comm: { kind: "stack", offset: -32 },
      fail: "fail_tcp",
      tag: "tcp",
    });
    addImm(a, R0, counterOffset(TCP, "connections"), 1);
  }
  exit0(a);
  if (parts.states !== undefined) dropAndExit(a, "fail_states", ctx.drops.fd, 3);
  if (parts.tcp !== undefined) dropAndExit(a, "fail_tcp", ctx.drops.fd, 2);
  return a.assemble();
}

/** `sock:sock_send_length` (dir 0) / `sock_recv_length` (dir 1): TCP bytes, UDP datagrams. */
function sockLength(
  ctx: Ctx,
  f: TraceFormat,
  tcp: BpfMap,
  udp: BpfMap,
  dir: 0 | 1,
): Uint8Array<ArrayBuffer> {
  const family = field(f, "family", 2).offset;
  const proto = field(f, "protocol", 2).offset;
  const ret = field(f, "ret", 4).offset;
  const a = new Assembler();
  a.movReg(R6, R1);
  a.ldx("h", R1, R6, family);
  a.jmpImm("jeq", R1, AF_INET, "inet").jmpImm("jeq", R1, AF_INET6, "inet").jmp("out");
  a.label("inet");
  a.ldx("w", R7, R6, ret).aluImm("lsh", R7, 32).aluImm("arsh", R7, 32);
  a.jmpImm("jsle", R7, 0, "out");
  a.ldx("h", R8, R6, proto);
  a.call(Helper.getCurrentPidTgid).aluImm("rsh", R0, 32).stx("w", FP, -8, R0).st("w", FP, -4, 0);
  a.jmpImm("jeq", R8, IPPROTO_TCP, "tcp").jmpImm("jeq", R8, IPPROTO_UDP, "udp").jmp("out");
  a.label("tcp");
  lookupOrInit(a, {
    mapFd: tcp.fd,
    keyOffset: -8,
    valueOffset: -64,
    valueSize: TCP.valueSize,
    commAt: TCP.commAt!,
    comm: { kind: "current" },
    fail: "fail",
    tag: "tcp",
  });
  addTo(a, R0, counterOffset(TCP, dir === 0 ? "bytes_sent" : "bytes_recv"), R7);
  a.jmp("out");
  a.label("udp");
  lookupOrInit(a, {
    mapFd: udp.fd,
    keyOffset: -8,
    valueOffset: -64,
    valueSize: UDP.valueSize,
    commAt: UDP.commAt!,
    comm: { kind: "current" },
    fail: "fail",
    tag: "udp",
  });
  addImm(a, R0, counterOffset(UDP, dir === 0 ? "packets_sent" : "packets_recv"), 1);
  exit0(a);
  dropAndExit(a, "fail", ctx.drops.fd, 2);
  return a.assemble();
}

/** Looks up the owner of the socket at `FP-8` into `FP-40`; without one, `orElse`. */
function ownerOf(a: Assembler, owners: BpfMap, orElse: "current" | "out"): void {
  lookup(a, owners, -8);
  a.jmpImm("jeq", R0, 0, "no_owner");
  copyOwner(a, -40);
  a.jmp("owner");
  a.label("no_owner");
  if (orElse === "out") a.jmp("out");
  else currentOwner(a, -40);
  a.label("owner");
  a.ldx("w", R1, FP, -40).stx("w", FP, -48, R1).st("w", FP, -44, 0);
}

/** `tcp:tcp_retransmit_skb`: retransmitted segments per socket owner. */
function retransmit(
  ctx: Ctx,
  f: TraceFormat,
  owners: BpfMap,
  tcp: BpfMap,
): Uint8Array<ArrayBuffer> {
  const sk = field(f, "skaddr", 8).offset;
  const a = new Assembler();
  a.movReg(R6, R1);
  a.ldx("dw", R1, R6, sk).stx("dw", FP, -8, R1);
  ownerOf(a, owners, "current");
  lookupOrInit(a, {
    mapFd: tcp.fd,
    keyOffset: -48,
    valueOffset: -104,
    valueSize: TCP.valueSize,
    commAt: TCP.commAt!,
    comm: { kind: "stack", offset: -32 },
    fail: "fail",
    tag: "tcp",
  });
  addImm(a, R0, counterOffset(TCP, "retransmits"), 1);
  exit0(a);
  dropAndExit(a, "fail", ctx.drops.fd, 2);
  return a.assemble();
}

/** `tcp:tcp_probe`: the smoothed round-trip time of the owner's latest segment. */
function tcpProbe(ctx: Ctx, f: TraceFormat, owners: BpfMap, tcp: BpfMap): Uint8Array<ArrayBuffer> {
  const sk = field(f, "skaddr", 8).offset;
  const srtt = field(f, "srtt", 4).offset;
  const a = new Assembler();
  a.movReg(R6, R1);
  a.ldx("w", R7, R6, srtt).jmpImm("jeq", R7, 0, "out");
  a.aluImm("mul", R7, 1000); // µs → ns
  a.ldx("dw", R1, R6, sk).stx("dw", FP, -8, R1);
  ownerOf(a, owners, "out");
  lookupOrInit(a, {
    mapFd: tcp.fd,
    keyOffset: -48,
    valueOffset: -104,
    valueSize: TCP.valueSize,
    commAt: TCP.commAt!,
    comm: { kind: "stack", offset: -32 },
    fail: "fail",
    tag: "tcp",
  });
  a.stx("dw", R0, counterOffset(TCP, "rtt_ns"), R7);
  exit0(a);
  dropAndExit(a, "fail", ctx.drops.fd, 2);
  return a.assemble();
}

/** Adds 1 to `counter` of the current process in `map` (memory group). */
function countCurrent(
  ctx: Ctx,
  map: BpfMap,
  counter: string,
  slot: number,
): Uint8Array<ArrayBuffer> {
  const a = new Assembler();
  a.call(Helper.getCurrentPidTgid).aluImm("rsh", R0, 32).stx("w", FP, -8, R0).st("w", FP, -4, 0);
  lookupOrInit(a, {
    mapFd: map.fd,
    keyOffset: -8,
    valueOffset: -48,
    valueSize: MEMORY.valueSize,
    commAt: MEMORY.commAt!,
    comm: { kind: "current" },
    fail: "fail",
    tag: "mem",
  });
  addImm(a, R0, counterOffset(MEMORY, counter), 1);
  exit0(a);
  dropAndExit(a, "fail", ctx.drops.fd, slot);
  return a.assemble();
}

interface TaskOffsets {
  pid: number;
  tgid: number;
  comm: number;
}

/** `probe_read_kernel(FP + to, size, R9 + off)`; jumps to `out` on failure. */
function readTask(a: Assembler, to: number, size: number, off: number): void {
  a.movReg(R1, FP).aluImm("add", R1, to).movImm(R2, size).movReg(R3, R9).aluImm("add", R3, off);
  a.call(Helper.probeReadKernel).jmpImm("jne", R0, 0, "out");
}

/** `sched_wakeup(p)`, `sched_wakeup_new(p)`: when thread `p` became runnable. */
function wakeup(task: TaskOffsets, wake: BpfMap): Uint8Array<ArrayBuffer> {
  const a = new Assembler();
  a.ldx("dw", R9, R1, 0);
  readTask(a, -8, 4, task.pid);
  a.call(Helper.ktimeGetNs).stx("dw", FP, -16, R0);
  update(a, wake, -8, -16);
  exit0(a);
  return a.assemble();
}

/**
 * `sched_switch(preempt, prev, next, prev_state)`: a context switch and on-CPU time for `prev`
 * (the current task), run-queue wait for `next`. A preempted `prev` is runnable again at once.
 */
function schedSwitch(
  ctx: Ctx,
  task: TaskOffsets,
  sched: BpfMap,
  wake: BpfMap,
  oncpu: BpfMap,
): Uint8Array<ArrayBuffer> {
  const a = new Assembler();
  a.movReg(R6, R1);
  a.call(Helper.ktimeGetNs).movReg(R7, R0);
  a.st("w", FP, -4, 0);
  lookup(a, oncpu, -4);
  a.jmpImm("jeq", R0, 0, "out");
  a.ldx("dw", R1, R0, 0).stx("dw", R0, 0, R7).movImm(R8, 0);
  a.jmpImm("jeq", R1, 0, "prev").movReg(R8, R7).aluReg("sub", R8, R1);
  a.label("prev");
  a.call(Helper.getCurrentPidTgid).stx("w", FP, -24, R0).aluImm("rsh", R0, 32);
  a.jmpImm("jeq", R0, 0, "next");
  a.stx("w", FP, -16, R0).st("w", FP, -12, 0);
  lookupOrInit(a, {
    mapFd: sched.fd,
    keyOffset: -16,
    valueOffset: -64,
    valueSize: SCHED.valueSize,
    commAt: SCHED.commAt!,
    comm: { kind: "current" },
    fail: "fail",
    tag: "prev",
  });
  addImm(a, R0, counterOffset(SCHED, "context_switches"), 1);
  addTo(a, R0, counterOffset(SCHED, "oncpu_ns"), R8);
  // Preempted (TASK_RUNNING): it waits in the run queue from now.
  a.ldx("w", R1, R6, 24).jmpImm("jne", R1, 0, "next");
  a.stx("dw", FP, -32, R7);
  update(a, wake, -24, -32);
  a.label("next");
  a.ldx("dw", R9, R6, 16);
  readTask(a, -24, 4, task.pid);
  lookup(a, wake, -24);
  a.jmpImm("jeq", R0, 0, "out");
  a.ldx("dw", R1, R0, 0).jmpImm("jeq", R1, 0, "out").st("dw", R0, 0, 0);
  a.movReg(R8, R7).aluReg("sub", R8, R1).jmpImm("jslt", R8, 0, "out");
  readTask(a, -16, 4, task.tgid);
  a.st("w", FP, -12, 0);
  a.ldx("w", R1, FP, -16).jmpImm("jeq", R1, 0, "out");
  readTask(a, -88, 16, task.comm);
  lookupOrInit(a, {
    mapFd: sched.fd,
    keyOffset: -16,
    valueOffset: -64,
    valueSize: SCHED.valueSize,
    commAt: SCHED.commAt!,
    comm: { kind: "stack", offset: -88 },
    fail: "fail",
    tag: "next",
  });
  addTo(a, R0, counterOffset(SCHED, "runq_latency_ns"), R8);
  exit0(a);
  dropAndExit(a, "fail", ctx.drops.fd, 4);
  return a.assemble();
}

/** `sched_migrate_task(p, dest_cpu)`: a migration of one of the process's threads. */
function migrate(ctx: Ctx, task: TaskOffsets, sched: BpfMap): Uint8Array<ArrayBuffer> {
  const a = new Assembler();
  a.ldx("dw", R9, R1, 0);
  readTask(a, -16, 4, task.tgid);
  a.st("w", FP, -12, 0);
  a.ldx("w", R1, FP, -16).jmpImm("jeq", R1, 0, "out");
  readTask(a, -88, 16, task.comm);
  lookupOrInit(a, {
    mapFd: sched.fd,
    keyOffset: -16,
    valueOffset: -64,
    valueSize: SCHED.valueSize,
    commAt: SCHED.commAt!,
    comm: { kind: "stack", offset: -88 },
    fail: "fail",
    tag: "mig",
  });
  addImm(a, R0, counterOffset(SCHED, "migrations"), 1);
  exit0(a);
  dropAndExit(a, "fail", ctx.drops.fd, 4);
  return a.assemble();
}
