/**
 * What the `process` scraper's reads cost: every process's `/proc/<pid>/{stat,status,io,cmdline}`
 * and its `exe` link, read with Deno's async calls (as `lib/host/process.ts` does) and with the
 * sync ones, 20 rounds each, twice, alternating. Prints the CPU time of this process and the wall
 * time per round.
 *
 * ```sh
 * deno run -A bench/proc_read_bench.ts
 * ```
 *
 * @module
 */
import { parseStatTicks } from "./_proc.ts";

const FILES = ["stat", "status", "io", "cmdline"];
const ROUNDS = 20;

function cpuMs(): number {
  return parseStatTicks(Deno.readTextFileSync("/proc/self/stat")) * 10;
}

async function round(pids: readonly string[], sync: boolean): Promise<void> {
  for (const pid of pids) {
    for (const file of FILES) {
      const path = `/proc/${pid}/${file}`;
      try {
        if (sync) Deno.readTextFileSync(path);
        else await Deno.readTextFile(path);
      } catch { /* the process is gone or the file is not readable: as the scraper skips it */ }
    }
    try {
      if (sync) Deno.readLinkSync(`/proc/${pid}/exe`);
      else await Deno.readLink(`/proc/${pid}/exe`);
    } catch { /* a kernel thread or another user's process */ }
  }
}

if (import.meta.main) {
  const pids = [...Deno.readDirSync("/proc")].map((e) => e.name).filter((n) => /^\d+$/.test(n));
  console.log(`| reads | CPU ms per round | wall ms per round | processes |`);
  console.log(`| --- | ---: | ---: | ---: |`);
  for (const sync of [false, true, false, true]) {
    await round(pids, sync);
    const cpu0 = cpuMs();
    const t0 = performance.now();
    for (let i = 0; i < ROUNDS; i++) await round(pids, sync);
    const cpu = (cpuMs() - cpu0) / ROUNDS;
    const wall = (performance.now() - t0) / ROUNDS;
    console.log(
      `| ${sync ? "sync" : "async"} | ${cpu.toFixed(1)} | ${wall.toFixed(1)} | ${pids.length} |`,
    );
  }
}
