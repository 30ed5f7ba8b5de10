/**
 * The in-kernel cost of the ebpf receiver's programs on one system call, measured in one process:
 * `getppid(2)` through libc `syscall` in a tight loop, timed by the thread's CPU clock
 * (`CLOCK_THREAD_CPUTIME_ID`, which counts the BPF programs that run on the caller's behalf and
 * leaves out the time other processes had the CPU), with the receiver's programs (built and
 * attached by its own `loadPrograms`) attached and not, alternating. Then, per mode, the kernel's
 * own account of each program (`lib/ebpf/stats.ts`: `run_time_ns` / `run_cnt` with BPF run-time
 * statistics on, which does not depend on how busy the machine is): nanoseconds per run, less what
 * an empty program measures in the same pass (the statistics' own clock reads), and runs per call
 * of the loop (other processes' system calls run the `sys_enter` / `sys_exit` programs too).
 * Prints one JSON line: `{ cpu: {mode: ns per call}, kernel: {mode: {program: {ns, runsPerCall}}},
 * emptyNs }`. Needs root.
 *
 * ```sh
 * deno run -A bench/_ebpf_overhead.ts [--rounds 8] [--calls 200000]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Assembler, R0 } from "../lib/ebpf/asm.ts";
import { attachRawTracepoint, loadProgram, ProgType } from "../lib/ebpf/bpf.ts";
import { closeFd } from "../lib/ebpf/_libc.ts";
import { enableStats, nsPerRun, programInfo } from "../lib/ebpf/stats.ts";
import { loadBtf } from "../lib/ebpf/btf.ts";
import { FdSet } from "../lib/ebpf/fds.ts";
import { findTracefs } from "../lib/ebpf/tracefs.ts";
import {
  type Group,
  type InflightKind,
  loadPrograms,
} from "../components/receiver/ebpf/_programs.ts";
import { LATENCY_SAMPLE_PERIOD } from "../components/receiver/ebpf/config.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "8" },
    calls: { type: "string", default: "200000" },
  },
});
const libc = Deno.dlopen("libc.so.6", {
  syscall: { parameters: ["i64"], result: "i64" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
});
const NR_GETPPID = Deno.build.arch === "x86_64" ? 110n : 173n;
const ts = new BigInt64Array(2);
const cpuNs = () => {
  libc.symbols.clock_gettime(3, ts); // CLOCK_THREAD_CPUTIME_ID
  return Number(ts[0]!) * 1e9 + Number(ts[1]!);
};
const calls = Number(values.calls);

/** CPU ns per call of one loop. */
function loop(): number {
  const t0 = cpuNs();
  for (let i = 0; i < calls; i++) libc.symbols.syscall(NR_GETPPID);
  return (cpuNs() - t0) / calls;
}

const tracefs = findTracefs();
const btf = loadBtf();
type Programs = Array<{ name: string; fd: number }>;
const receiver =
  (groups: Group[], period = LATENCY_SAMPLE_PERIOD, inflight?: InflightKind) =>
  (fds: FdSet): Programs =>
    loadPrograms(
      new Set(groups),
      {
        tracefs,
        btf,
        maxEntries: 10240,
        latencySamplePeriod: period,
        ...(inflight === undefined ? {} : { inflight }),
      },
      fds,
    ).programs;
const EMPTY = "empty programs on sys_enter and sys_exit (the tracepoints' own cost)";
const MODES: Record<string, (fds: FdSet) => Programs> = {
  "no programs": () => [],
  [EMPTY]: (fds) => {
    const code = new Assembler().movImm(R0, 0).exit().assemble();
    return ["sys_enter", "sys_exit"].map((tp) => {
      const prog = fds.own(loadProgram({ name: "tfo_empty", type: ProgType.rawTracepoint, code }));
      fds.own(attachRawTracepoint(prog, tp));
      return { name: `empty_${tp}`, fd: prog };
    });
  },
  "syscalls only, latency_sample_period 1 (every call timed)": receiver(["syscalls"], 1),
  "syscalls only, latency_sample_period 4": receiver(["syscalls"], 4),
  "syscalls only, latency_sample_period 64": receiver(["syscalls"], 64),
  "syscalls only": receiver(["syscalls"]),
  "syscalls only, in-flight slots in task storage": receiver(
    ["syscalls"],
    LATENCY_SAMPLE_PERIOD,
    "task_storage",
  ),
  "syscalls only, in-flight slots in an LRU hash": receiver(
    ["syscalls"],
    LATENCY_SAMPLE_PERIOD,
    "hash",
  ),
  "TFO-Agent defaults": receiver(["syscalls", "file_io", "network", "tcp_events"]),
  "every group": receiver(["syscalls", "file_io", "network", "tcp_events", "scheduler", "memory"]),
};

const samples = new Map<string, number[]>(Object.keys(MODES).map((m) => [m, []]));
for (let r = 0; r < Number(values.rounds); r++) {
  for (const [mode, setup] of Object.entries(MODES)) {
    const fds = new FdSet();
    try {
      setup(fds);
      loop(); // warm: the first calls insert this process's map entries
      // The least disturbed of three loops: on a shared machine the others mostly add noise.
      samples.get(mode)!.push(Math.min(loop(), loop(), loop()));
    } finally {
      fds.closeAll();
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpu = Object.fromEntries([...samples].map(([m, xs]) => [m, median(xs)]));

/** Per mode and program: ns per run (raw, with the statistics on) and runs per loop call. */
const kernelRaw = new Map<string, Map<string, { ns: number[]; runsPerCall: number[] }>>();
const stats = enableStats();
try {
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const [mode, setup] of Object.entries(MODES)) {
      if (mode === "no programs") continue;
      const fds = new FdSet();
      try {
        const progs = setup(fds);
        loop();
        const before = progs.map((p) => programInfo(p.fd));
        loop();
        const after = progs.map((p) => programInfo(p.fd));
        const byProg = kernelRaw.get(mode) ?? new Map();
        kernelRaw.set(mode, byProg);
        progs.forEach((p, i) => {
          const s = byProg.get(p.name) ?? { ns: [], runsPerCall: [] };
          byProg.set(p.name, s);
          const runs = Number(after[i]!.runCount - before[i]!.runCount);
          if (runs > 0) s.ns.push(nsPerRun(before[i]!, after[i]!));
          s.runsPerCall.push(runs / calls);
        });
      } finally {
        fds.closeAll();
      }
    }
  }
} finally {
  closeFd(stats);
}
const emptyNs = median(kernelRaw.get(EMPTY)!.get("empty_sys_enter")!.ns);
const kernel: Record<string, Record<string, { ns: number; runsPerCall: number }>> = {};
for (const [mode, byProg] of kernelRaw) {
  if (mode === EMPTY) continue;
  kernel[mode] = {};
  for (const [name, s] of byProg) {
    kernel[mode][name] = {
      ns: s.ns.length === 0 ? 0 : median(s.ns) - emptyNs,
      runsPerCall: median(s.runsPerCall),
    };
  }
}
console.log(JSON.stringify({ cpu, kernel, emptyNs }));
libc.close();
