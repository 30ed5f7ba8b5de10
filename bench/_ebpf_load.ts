/**
 * The eBPF benchmark's load: `getppid(2)` through libc `syscall` in a tight loop (`--calls N`), or
 * at a fixed rate (`--rate R --seconds S`: R calls a second in 1 ms ticks). Prints one JSON line:
 * calls made, seconds taken, wall nanoseconds per call and the calling thread's CPU nanoseconds
 * per call (`CLOCK_THREAD_CPUTIME_ID`, which leaves out the time other processes had the CPU on a
 * shared machine and includes what the kernel ran on the thread's behalf, BPF programs too).
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    calls: { type: "string", default: "2000000" },
    rate: { type: "string", default: "0" },
    seconds: { type: "string", default: "10" },
  },
});
const libc = Deno.dlopen("libc.so.6", {
  syscall: { parameters: ["i64"], result: "i64" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
});
const call = libc.symbols.syscall;
const CLOCK_THREAD_CPUTIME_ID = 3;
const ts = new BigInt64Array(2);
function threadCpuNs(): number {
  libc.symbols.clock_gettime(CLOCK_THREAD_CPUTIME_ID, ts);
  return Number(ts[0]!) * 1e9 + Number(ts[1]!);
}
const NR_GETPPID = Deno.build.arch === "x86_64" ? 110n : 173n;
const rate = Number(values.rate);
let calls = 0;
const cpu0 = threadCpuNs();
const t0 = performance.now();
if (rate === 0) {
  const n = Number(values.calls);
  for (let i = 0; i < n; i++) call(NR_GETPPID);
  calls = n;
} else {
  const end = t0 + Number(values.seconds) * 1000;
  const perMs = rate / 1000;
  let due = 0;
  while (performance.now() < end) {
    due += perMs;
    while (calls < due) {
      call(NR_GETPPID);
      calls++;
    }
    const next = t0 + (calls / perMs);
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}
const seconds = (performance.now() - t0) / 1000;
const cpuNs = threadCpuNs() - cpu0;
console.log(JSON.stringify({
  calls,
  seconds,
  nsPerCall: (seconds * 1e9) / calls,
  cpuNsPerCall: cpuNs / calls,
}));
libc.close();
