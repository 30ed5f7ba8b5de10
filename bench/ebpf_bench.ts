/**
 * The ebpf receiver's overhead, on the real kernel (root):
 *
 * 1. Added nanoseconds per system call, two ways. In one process (`bench/_ebpf_overhead.ts`): a
 *    tight `getppid(2)` loop timed by the thread's CPU clock with the receiver's programs attached
 *    and not, alternating, next to empty programs on the same tracepoints (the floor the kernel's
 *    tracepoint machinery sets). Across processes: the same loop (`bench/_ebpf_load.ts`) with no
 *    agent running, then with a tfo agent whose `ebpf` receiver attached its programs.
 * 2. The agent's own CPU and memory while the load makes 100,000 system calls a second: CPU
 *    (utime + stime of the tfo process over the window) as a share of one core, RSS and peak RSS.
 *
 * ```sh
 * deno run -A bench/ebpf_bench.ts [--rounds 5] [--calls 2000000] [--seconds 30] [--out bench/RESULTS.md]
 * ```
 *
 * Prints a markdown section; with `--out`, puts it into that file's hand-written analysis section
 * (between the `analysis` markers, which `deno task bench` keeps), replacing an earlier one.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Child, ChildGroup, sleep, TFO_RUN_FLAGS } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import { writeResultsSection } from "./_report.ts";

const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const LOAD = new URL("./_ebpf_load.ts", import.meta.url).pathname;
const OVERHEAD = new URL("./_ebpf_overhead.ts", import.meta.url).pathname;
const HELPERS = new URL("./_ebpf_helpers.ts", import.meta.url).pathname;
const COLLECT = new URL("./_ebpf_collect.ts", import.meta.url).pathname;
const SECTION_START = "<!-- ebpf-bench:start -->";
const SECTION_END = "<!-- ebpf-bench:end -->";

/** Receiver configs measured, by name. */
const SYSCALLS_ONLY = "collect_syscalls: true\n    collect_network: false\n    " +
  "collect_file_io: false\n    collect_tcp_events: false";
const MODES: Readonly<Record<string, string>> = {
  "syscalls only, latency_sample_period 1 (every call timed)": SYSCALLS_ONLY +
    "\n    latency_sample_period: 1",
  "syscalls only": SYSCALLS_ONLY,
  "TFO-Agent defaults": "{}",
  "every group": "collect_scheduler: true\n    collect_memory: true",
};

function config(receiver: string, interval: string): string {
  const body = receiver === "{}" ? "" : `\n    ${receiver}`;
  return `receivers:
  ebpf:
    interval: ${interval}${body}
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    metrics:
      receivers: [ebpf]
      exporters: [debug]
`;
}

/** Resolves once process `pid` holds BPF links (its receiver attached its programs). */
async function attached(child: Child, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    let links = 0;
    try {
      for (const e of Deno.readDirSync(`/proc/${child.pid}/fd`)) {
        try {
          if (Deno.readLinkSync(`/proc/${child.pid}/fd/${e.name}`) === "anon_inode:bpf_link") {
            links++;
          }
        } catch { /* closed meanwhile */ }
      }
    } catch {
      throw new Error(`tfo exited before attaching:\n${child.tail()}`);
    }
    if (links >= 2) {
      // Let the agent finish starting, so its start-up does not share the machine with the load.
      await sleep(3000);
      return;
    }
    await sleep(100);
  }
  throw new Error(`tfo attached no BPF programs within ${timeoutMs} ms:\n${child.tail()}`);
}

interface LoadResult {
  calls: number;
  seconds: number;
  nsPerCall: number;
  cpuNsPerCall: number;
}

async function load(group: ChildGroup, args: string[]): Promise<LoadResult> {
  const child = group.spawn("load", DENO, ["run", "--allow-ffi", LOAD, ...args]);
  const line = await child.nextLine((l) => l.startsWith("{"), 300_000);
  await child.exited;
  return JSON.parse(line) as LoadResult;
}

async function withAgent<T>(
  group: ChildGroup,
  dir: string,
  receiver: string,
  interval: string,
  fn: (agent: Child) => Promise<T>,
): Promise<T> {
  const file = `${dir}/config.yaml`;
  await Deno.writeTextFile(file, config(receiver, interval));
  // The flags of the `start` task, as the compiled binary runs.
  const agent = group.spawn("tfo", DENO, [
    "run",
    ...TFO_RUN_FLAGS,
    MAIN,
    "run",
    "--config",
    file,
  ]);
  try {
    await attached(agent, 60_000);
    return await fn(agent);
  } finally {
    await agent.stop();
  }
}

const EMPTY_MODE = "empty programs on sys_enter and sys_exit (the tracepoints' own cost)";

/** The kernel's current clocksource (what `bpf_ktime_get_ns` reads). */
function clocksource(): string {
  try {
    return Deno.readTextFileSync(
      "/sys/devices/system/clocksource/clocksource0/current_clocksource",
    ).trim();
  } catch {
    return "unknown";
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
}

interface Overhead {
  mode: string;
  offNs: number;
  onNs: number;
  addedNs: number;
}

interface Footprint {
  mode: string;
  interval: string;
  callsPerSecond: number;
  agentCorePercent: number;
  rssMiB: number;
  hwmMiB: number;
  /** CPU of the load process over the window, as a share of one core. */
  loadCorePercent: number;
}

/** What `bench/_ebpf_overhead.ts` prints. */
interface InProcess {
  cpu: Record<string, number>;
  kernel: Record<string, Record<string, { ns: number; runsPerCall: number }>>;
  emptyNs: number;
}

async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "5" },
      calls: { type: "string", default: "2000000" },
      seconds: { type: "string", default: "30" },
      rate: { type: "string", default: "100000" },
      out: { type: "string" },
    },
  });
  if (Deno.uid() !== 0) {
    console.error("bench/ebpf_bench.ts needs root to load BPF programs");
    Deno.exit(2);
  }
  const rounds = Number(values.rounds);
  const calls = values.calls!;
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-ebpf-bench-" });
  const loadBefore = await loadAverage();
  const overhead: Overhead[] = [];
  const footprint: Footprint[] = [];
  let inProcess: InProcess = { cpu: {}, kernel: {}, emptyNs: 0 };
  let helpers: Record<string, number> = {};
  let collect: Record<string, number> = {};
  try {
    const c = group.spawn("collect", DENO, ["run", "--allow-all", COLLECT, "--series", "10000"]);
    collect = JSON.parse(await c.nextLine((l) => l.startsWith("{"), 600_000));
    await c.exited;
    const h = group.spawn("helpers", DENO, ["run", "--allow-all", HELPERS, "--rounds", "5"]);
    helpers = JSON.parse(await h.nextLine((l) => l.startsWith("{"), 600_000));
    await h.exited;
    const child = group.spawn("overhead", DENO, ["run", "--allow-all", OVERHEAD, "--rounds", "8"]);
    inProcess = JSON.parse(await child.nextLine((l) => l.startsWith("{"), 600_000));
    await child.exited;
    const off: number[] = [];
    const on = new Map<string, number[]>(Object.keys(MODES).map((m) => [m, []]));
    for (let r = 0; r < rounds; r++) {
      off.push((await load(group, ["--calls", calls])).cpuNsPerCall);
      for (const [mode, receiver] of Object.entries(MODES)) {
        const ns = await withAgent(
          group,
          dir,
          receiver,
          "15s",
          async () => (await load(group, ["--calls", calls])).cpuNsPerCall,
        );
        on.get(mode)!.push(ns);
      }
      console.error(`round ${r + 1}/${rounds} done`);
    }
    const offNs = median(off);
    for (const [mode, xs] of on) {
      overhead.push({ mode, offNs, onNs: median(xs), addedNs: median(xs) - offNs });
    }
    const runs: Array<[string, string]> = [
      ["TFO-Agent defaults", "15s"],
      ["TFO-Agent defaults", "1s"],
      ["every group", "1s"],
    ];
    for (const [mode, interval] of runs) {
      footprint.push(
        await withAgent(group, dir, MODES[mode]!, interval, async (agent) => {
          await sleep(2000);
          const before = await sampleProc(agent.pid);
          const t0 = performance.now();
          const gen = group.spawn("load", DENO, [
            "run",
            "--allow-ffi",
            LOAD,
            "--rate",
            values.rate!,
            "--seconds",
            values.seconds!,
          ]);
          // The load's CPU, sampled just before it exits, by waiting on its report line.
          const line = gen.nextLine((l) => l.startsWith("{"), 300_000);
          await sleep(200);
          const genBefore = await sampleProc(gen.pid);
          const result = JSON.parse(await line) as LoadResult;
          const genAfter = await sampleProc(gen.pid).catch(() => genBefore);
          await gen.exited;
          const after = await sampleProc(agent.pid);
          const wall = (performance.now() - t0) / 1000;
          return {
            mode,
            interval,
            callsPerSecond: result.calls / result.seconds,
            agentCorePercent: ((after.cpuSeconds - before.cpuSeconds) / wall) * 100,
            rssMiB: after.rssBytes / 1048576,
            hwmMiB: after.hwmBytes / 1048576,
            loadCorePercent: ((genAfter.cpuSeconds - genBefore.cpuSeconds) / result.seconds) *
              100,
          };
        }),
      );
    }
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const loadAfter = await loadAverage();
  const fmt = (n: number, d = 0) =>
    n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const kernel = Deno.osRelease();
  const lines = [
    SECTION_START,
    "### ebpf receiver: added cost per system call, agent CPU and memory",
    "",
    `Measured by \`deno run -A bench/ebpf_bench.ts --rounds ${rounds} --calls ${calls} ` +
    `--seconds ${values.seconds} --rate ${values.rate}\` on ${new Date().toISOString()}, ` +
    `kernel ${kernel}, ${navigator.hardwareConcurrency} CPUs shared with other work ` +
    `(load average ${loadBefore} before, ${loadAfter} after).`,
    "",
    `Added cost: \`getppid(2)\` ${calls} times in a tight loop through libc \`syscall\` ` +
    "(Deno FFI), without an agent and with a tfo agent whose `ebpf` receiver has " +
    `its programs attached, alternating, ${rounds} rounds; medians of the calling thread's CPU ` +
    "time per call (`CLOCK_THREAD_CPUTIME_ID`: on this shared machine wall time mostly measures " +
    "waiting for a CPU; thread CPU time includes the BPF programs, which run on the caller's " +
    "behalf). Every call is one `sys_enter` and one `sys_exit` event, counted per process and " +
    "system call.",
    "",
    "In one process (`bench/_ebpf_overhead.ts`, 8 alternating rounds of 3 × 200,000 calls, the " +
    "median of each round's least disturbed loop):",
    "",
    "| programs attached | CPU ns per call | added ns per call | target |",
    "| --- | ---: | ---: | --- |",
    ...Object.entries(inProcess.cpu).map(([mode, ns]) => {
      const added = ns - (inProcess.cpu["no programs"] ?? ns);
      const target = mode === "no programs" || mode.startsWith("empty")
        ? ""
        : `< 150: ${added < 150 ? "met" : "**missed**"}`;
      return `| ${mode} | ${fmt(ns)} | ${fmt(added)} | ${target} |`;
    }),
    "",
    "Kernel side, by the kernel's own BPF run-time statistics (`lib/ebpf/stats.ts`: " +
    "`BPF_ENABLE_STATS`, then `run_time_ns` / `run_cnt` of each program over a loop), which do " +
    "not depend on the machine's load: nanoseconds per run of each program less an empty " +
    `program's ${fmt(inProcess.emptyNs)} ns (what the statistics' own clock reads add to every ` +
    "run), and runs per call of the loop (the system call programs run for every process's " +
    "calls, so more than once per call of the loop; the others run on their own events). " +
    "Not included: the tracepoints' own cost (the empty-programs row above). A system call is " +
    "two events, `sys_enter` and `sys_exit`:",
    "",
    "| receiver config | program | ns per run | runs per loop call |",
    "| --- | --- | ---: | ---: |",
    ...Object.entries(inProcess.kernel).flatMap(([mode, progs]) =>
      Object.entries(progs).map(([name, p]) =>
        `| ${mode} | \`${name}\` | ${fmt(p.ns)} | ${fmt(p.runsPerCall, 5)} |`
      )
    ),
    "",
    ...Object.entries(inProcess.kernel).map(([mode, progs]) => {
      const perCall = (progs["tfo_sys_enter"]?.ns ?? 0) + (progs["tfo_sys_exit"]?.ns ?? 0);
      return `- ${mode}: ${fmt(perCall)} ns of programs per system call (` +
        `${fmt(perCall / 2)} per event); with the tracepoints' own ` +
        `${fmt((inProcess.cpu[EMPTY_MODE] ?? 0) - (inProcess.cpu["no programs"] ?? 0))} ns: ` +
        `${fmt(perCall + (inProcess.cpu[EMPTY_MODE] ?? 0) - (inProcess.cpu["no programs"] ?? 0))}` +
        " ns added per system call.";
    }),
    "",
    "What the building blocks cost here (`bench/_ebpf_helpers.ts`: one program at a time on " +
    "`sys_enter` doing the thing 8 times, kernel statistics, less the empty program, per call; " +
    `clocksource \`${clocksource()}\`):`,
    "",
    "| helper or lookup | ns per call |",
    "| --- | ---: |",
    ...Object.entries(helpers).map(([name, ns]) => `| ${name} | ${fmt(ns, 1)} |`),
    "",
    "Across processes (the load in its own process, the receiver in a running tfo agent):",
    "",
    "| receiver config | CPU ns per call, no agent | CPU ns per call, agent on | added ns per call | target |",
    "| --- | ---: | ---: | ---: | --- |",
    ...overhead.map((o) =>
      `| ${o.mode} | ${fmt(o.offNs)} | ${fmt(o.onNs)} | ${fmt(o.addedNs)} | < 150: ${
        o.addedNs < 150 ? "met" : "**missed**"
      } |`
    ),
    "",
    `Agent footprint: the load makes ${values.rate} calls a second for ${values.seconds} s; CPU ` +
    "is the tfo process's utime + stime over the window (reading the maps and exporting every " +
    "interval to a `debug` exporter: its cost follows the interval and the number of series, not " +
    "the event rate); the kernel-side cost lands in the process making the calls (the load's " +
    "own CPU, shown for scale).",
    "",
    "| receiver config | interval | calls/s | agent CPU (% of a core) | target | agent RSS MiB | peak RSS MiB | load process CPU (% of a core) |",
    "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ...footprint.map((f) =>
      `| ${f.mode} | ${f.interval} | ${fmt(f.callsPerSecond)} | ${
        fmt(f.agentCorePercent, 2)
      } | < 1%: ${f.agentCorePercent < 1 ? "met" : "**missed**"} | ${fmt(f.rssMiB)} | ${
        fmt(f.hwmMiB)
      } | ${fmt(f.loadCorePercent, 1)} |`
    ),
    "",
    `One collection's user-space work on ${fmt(collect.series ?? 0)} series of the system call ` +
    "map (`bench/_ebpf_collect.ts`: a per-CPU hash filled from user space, read with " +
    "`BPF_MAP_LOOKUP_BATCH`, summed, turned into the syscall and file I/O metrics; process CPU " +
    "time, median of 15 collections):",
    "",
    "| attributes | read ms | metrics ms | points | µs per series |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...["shared attribute lists", "attributes per point"].map((m) => {
      const read = collect[`${m}: read ms`] ?? 0;
      const metrics = collect[`${m}: metrics ms`] ?? 0;
      return `| ${m} | ${fmt(read, 1)} | ${fmt(metrics, 1)} | ${
        fmt(collect[`${m}: points`] ?? 0)
      } | ${fmt(((read + metrics) * 1000) / (collect.series ?? 1), 2)} |`;
    }),
    SECTION_END,
  ];
  const section = lines.join("\n");
  console.log(section);
  if (values.out !== undefined) {
    await writeResultsSection(values.out, SECTION_START, SECTION_END, section);
  }
}
