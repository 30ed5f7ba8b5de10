/**
 * The in-kernel cost of the ebpf receiver's programs on one system call, measured in one process:
 * `getppid(2)` through libc `syscall` in a tight loop, timed by the thread's CPU clock
 * (`CLOCK_THREAD_CPUTIME_ID`, which counts the BPF programs that run on the caller's behalf and
 * leaves out the time other processes had the CPU), with the receiver's programs (built and
 * attached by its own `loadPrograms`) attached and not, alternating. Prints one JSON line: the
 * median CPU ns per call of each mode. Needs root.
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
import { loadBtf } from "../lib/ebpf/btf.ts";
import { FdSet } from "../lib/ebpf/fds.ts";
import { findTracefs } from "../lib/ebpf/tracefs.ts";
import { type Group, loadPrograms } from "../components/receiver/ebpf/_programs.ts";

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
const receiver = (groups: Group[]) => (fds: FdSet) => {
  loadPrograms(new Set(groups), { tracefs, btf, maxEntries: 10240 }, fds);
};
const MODES: Record<string, (fds: FdSet) => void> = {
  "no programs": () => {},
  "empty programs on sys_enter and sys_exit (the tracepoints' own cost)": (fds) => {
    const code = new Assembler().movImm(R0, 0).exit().assemble();
    for (const tp of ["sys_enter", "sys_exit"]) {
      const prog = fds.own(loadProgram({ name: "tfo_empty", type: ProgType.rawTracepoint, code }));
      fds.own(attachRawTracepoint(prog, tp));
    }
  },
  "syscalls only": receiver(["syscalls"]),
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
console.log(JSON.stringify(Object.fromEntries([...samples].map(([m, xs]) => [m, median(xs)]))));
libc.close();
