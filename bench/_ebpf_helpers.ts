/**
 * What the building blocks of the ebpf receiver's programs cost on this machine, kernel side:
 * one program at a time on the `sys_enter` raw tracepoint calling one helper (or doing one map
 * lookup) eight times, timed by the kernel's own BPF run-time statistics (`BPF_ENABLE_STATS`,
 * `run_time_ns` / `run_cnt`: see `lib/ebpf/stats.ts`) while a `getppid(2)` loop makes events.
 * Per call: (ns per run of the program − ns per run of an empty program) / 8, the median of the
 * rounds. The empty program's own figure is what the statistics themselves cost per run (two
 * `sched_clock` reads around it), which is also the price of one clock read here. Prints one JSON
 * line. Needs root.
 *
 * ```sh
 * deno run -A bench/_ebpf_helpers.ts [--rounds 5] [--calls 100000]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Assembler, FP, Helper, R0, R1, R2, R3, R4, R6 } from "../lib/ebpf/asm.ts";
import { createTaskStorage } from "../lib/ebpf/btf_write.ts";
import {
  attachRawTracepoint,
  type BpfMap,
  createMap,
  loadProgram,
  MapType,
  possibleCpus,
  ProgType,
  updateElem,
} from "../lib/ebpf/bpf.ts";
import { FdSet } from "../lib/ebpf/fds.ts";
import { closeFd } from "../lib/ebpf/_libc.ts";
import { enableStats, nsPerRun, programInfo } from "../lib/ebpf/stats.ts";

const REPEAT = 8;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    calls: { type: "string", default: "100000" },
  },
});
const libc = Deno.dlopen("libc.so.6", { syscall: { parameters: ["i64"], result: "i64" } });
const NR_GETPPID = Deno.build.arch === "x86_64" ? 110n : 173n;

type Body = (a: Assembler) => void;

/** A program that runs `body` {@linkcode REPEAT} times (unrolled) and returns 0. */
function program(body: Body | undefined): Uint8Array<ArrayBuffer> {
  const a = new Assembler();
  a.movReg(R6, R1);
  if (body !== undefined) { for (let i = 0; i < REPEAT; i++) body(a); }
  return a.movImm(R0, 0).exit().assemble();
}

function lookupKey0(map: BpfMap): Body {
  return (a) => {
    a.st("dw", FP, -8, 0);
    a.ldMapFd(R1, map.fd).movReg(R2, FP).aluImm("add", R2, -8).call(Helper.mapLookupElem);
  };
}

function taskSlot(fds: FdSet): Body {
  const map = createTaskStorage("h_task", ["a", "b", "c"]);
  fds.own(map.fd);
  return (a) => {
    a.call(Helper.getCurrentTaskBtf).movReg(R2, R0);
    a.ldMapFd(R1, map.fd).movImm(R3, 0).movImm(R4, 1).call(Helper.taskStorageGet);
  };
}

function mapOf(fds: FdSet, type: number, name: string): BpfMap {
  const perCpu = type === MapType.percpuArray || type === MapType.percpuHash;
  const map = createMap({
    name,
    type,
    keySize: type === MapType.array || type === MapType.percpuArray ? 4 : 8,
    valueSize: 8,
    maxEntries: 1024,
  });
  fds.own(map.fd);
  const key = new Uint8Array(map.keySize);
  updateElem(map, key, new Uint8Array(perCpu ? 8 * possibleCpus() : 8));
  return map;
}

const fds = new FdSet();
try {
  const variants: Record<string, Body | undefined> = {
    "empty program (the statistics' own cost per run)": undefined,
    "bpf_ktime_get_ns": (a) => a.call(Helper.ktimeGetNs),
    "bpf_get_current_pid_tgid": (a) => a.call(Helper.getCurrentPidTgid),
    "bpf_get_current_comm": (a) => {
      a.movReg(R1, FP).aluImm("add", R1, -16).movImm(R2, 16).call(Helper.getCurrentComm);
    },
    "bpf_get_smp_processor_id": (a) => a.call(Helper.getSmpProcessorId),
    "bpf_get_prandom_u32": (a) => a.call(Helper.getPrandomU32),
    "array lookup (inlined)": lookupKey0(mapOf(fds, MapType.array, "h_array")),
    "per-CPU array lookup (inlined)": lookupKey0(mapOf(fds, MapType.percpuArray, "h_pcpu_array")),
    "hash lookup, 8-byte key": lookupKey0(mapOf(fds, MapType.hash, "h_hash")),
    "per-CPU hash lookup, 8-byte key": lookupKey0(mapOf(fds, MapType.percpuHash, "h_pcpu_hash")),
    "LRU hash lookup, 8-byte key": lookupKey0(mapOf(fds, MapType.lruHash, "h_lru")),
    "task storage: bpf_get_current_task_btf + bpf_task_storage_get": taskSlot(fds),
  };
  const progs = new Map<string, number>();
  for (const [name, body] of Object.entries(variants)) {
    progs.set(
      name,
      fds.own(loadProgram({
        name: "tfo_helper",
        type: ProgType.rawTracepoint,
        code: program(body),
      })),
    );
  }
  const samples = new Map<string, number[]>([...progs.keys()].map((k) => [k, []]));
  const stats = enableStats();
  try {
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const [name, prog] of progs) {
        const link = attachRawTracepoint(prog, "sys_enter");
        try {
          const before = programInfo(prog);
          for (let i = 0; i < Number(values.calls); i++) libc.symbols.syscall(NR_GETPPID);
          samples.get(name)!.push(nsPerRun(before, programInfo(prog)));
        } finally {
          closeFd(link);
        }
      }
    }
  } finally {
    closeFd(stats);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const empty = median([...samples.values()][0]!);
  const out: Record<string, number> = {};
  for (const [name, xs] of samples) {
    out[name] = name.startsWith("empty") ? empty : (median(xs) - empty) / REPEAT;
  }
  console.log(JSON.stringify(out));
} finally {
  fds.closeAll();
  libc.close();
}
