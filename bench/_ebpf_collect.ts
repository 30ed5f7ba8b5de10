/**
 * The ebpf receiver's user-space cost per series, apart from the machine's processes: a per-CPU
 * hash of the system call layout filled with `--series` entries (50 system calls each of
 * `--series / 50` processes), then per round one collection's work on it — `readStats` (one
 * `BPF_MAP_LOOKUP_BATCH` pass, per-CPU sums), the file I/O share, and `toMetrics` for both groups
 * with the attribute lists kept between collections (a pipeline that does not change data in
 * place) and without (every point its own attributes). Process CPU time (`process.cpuUsage`) per
 * collection, the median of `--rounds` after two warm-up rounds; prints one JSON line. Needs root.
 *
 * ```sh
 * deno run -A bench/_ebpf_collect.ts [--series 10000] [--rounds 15]
 * ```
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { FILEIO, SYSCALLS } from "../components/receiver/ebpf/_layout.ts";
import {
  attributeCache,
  fileEntries,
  MAP_METRICS,
  scaleLatency,
  toMetrics,
} from "../components/receiver/ebpf/_metrics.ts";
import { readStats } from "../components/receiver/ebpf/_reader.ts";
import { createMap, MapType, updateElem } from "../lib/ebpf/bpf.ts";
import { FdSet } from "../lib/ebpf/fds.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    series: { type: "string", default: "10000" },
    rounds: { type: "string", default: "15" },
  },
});
const series = Number(values.series);
const rounds = Number(values.rounds);
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const fds = new FdSet();
try {
  const map = createMap({
    name: "b_syscalls",
    type: MapType.percpuHash,
    keySize: SYSCALLS.keySize,
    valueSize: SYSCALLS.valueSize,
    maxEntries: series,
  });
  fds.own(map.fd);
  const key = new Uint32Array(2);
  const value = new Uint8Array(map.userValueSize);
  const words = new BigUint64Array(value.buffer);
  const stride = SYSCALLS.valueSize / 8;
  const comm = new TextEncoder().encode("bench-process");
  for (let i = 0; i < series; i++) {
    key[0] = 100_000 + Math.floor(i / 50);
    key[1] = [0, 1, 2, 3, 7, 9, 17, 74, 110, 257][i % 10]! + 1000 * Math.floor((i % 50) / 10);
    for (let cpu = 0; cpu < map.userValueSize / SYSCALLS.valueSize; cpu++) {
      for (let c = 0; c < SYSCALLS.counters.length; c++) {
        words[cpu * stride + c] = BigInt(i * 7 + c);
      }
      value.set(comm, cpu * SYSCALLS.valueSize + SYSCALLS.commAt!);
    }
    updateElem(map, new Uint8Array(key.buffer), value);
  }
  const sysDef = MAP_METRICS.find((d) => d.layout === SYSCALLS)!;
  const fileDef = MAP_METRICS.find((d) => d.layout === FILEIO)!;
  const stamp = { start: 1n, now: 2n, labels: [] };
  const known = (pid: number) => `p${pid % 10}`;
  const result: Record<string, number> = {};
  for (const mode of ["shared attribute lists", "attributes per point"] as const) {
    const cache = mode === "shared attribute lists" ? attributeCache() : undefined;
    const read: number[] = [];
    const convert: number[] = [];
    let points = 0;
    for (let r = 0; r < rounds + 2; r++) {
      const t0 = cpuMs();
      const entries = readStats(SYSCALLS, map, known);
      scaleLatency(entries, 16);
      const t1 = cpuMs();
      const metrics = [
        ...toMetrics(sysDef, entries, stamp, cache),
        ...toMetrics(fileDef, fileEntries(entries), stamp, cache),
      ];
      cache?.sweep();
      const t2 = cpuMs();
      points = metrics.reduce(
        (n, m) => n + (m.data as { dataPoints: unknown[] }).dataPoints.length,
        0,
      );
      if (r < 2) continue;
      read.push(t1 - t0);
      convert.push(t2 - t1);
    }
    result[`${mode}: read ms`] = median(read);
    result[`${mode}: metrics ms`] = median(convert);
    result[`${mode}: points`] = points;
  }
  console.log(JSON.stringify({ series, ...result }));
} finally {
  fds.closeAll();
}
