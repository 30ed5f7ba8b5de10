/**
 * The OpenTelemetry Collector's process metrics, under the names its Prometheus endpoint exposes
 * today (OTel metric name + unit suffix + `_total` for counters):
 *
 * | exposed name | type | source |
 * | --- | --- | --- |
 * | `otelcol_process_uptime_seconds_total` | counter | seconds since the process started |
 * | `otelcol_process_cpu_seconds_total` | counter | user + system CPU time |
 * | `otelcol_process_memory_rss_bytes` | gauge | `Deno.memoryUsage().rss` |
 * | `otelcol_process_runtime_heap_alloc_bytes` | gauge | `Deno.memoryUsage().heapUsed` |
 * | `otelcol_process_runtime_total_sys_memory_bytes` | gauge | V8 heap reserved + external memory |
 *
 * The Collector's `otelcol_process_runtime_total_alloc_bytes_total` (bytes allocated since start)
 * has no V8 counterpart and is left out rather than faked.
 *
 * @module
 */
import process from "node:process";
import type { Meter } from "./metrics.ts";

/** Linux's `USER_HZ`: the unit of `utime` and `stime` in `/proc/self/stat` on every common ABI. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Options of {@linkcode registerProcessMetrics}. */
export interface ProcessMetricsOptions {
  /**
   * The clock, in milliseconds since the process started.
   * @default performance.now
   */
  readonly now?: () => number;
  /**
   * Reads the process's CPU seconds, or undefined when unknown.
   * @default {@linkcode readCpuSeconds}
   */
  readonly cpuSeconds?: () => number | undefined;
}

/** User + system CPU seconds from the `/proc/self/stat` text, or undefined if it is malformed. */
export function parseProcStatCpuSeconds(stat: string): number | undefined {
  // The command name (field 2) is in parentheses and may hold spaces; fields after it start at 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/**
 * The process's user + system CPU seconds: from `getrusage` (through `node:process`), else from
 * `/proc/self/stat`, else undefined.
 */
export function readCpuSeconds(): number | undefined {
  try {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  } catch {
    // not available on this runtime: try /proc
  }
  try {
    return parseProcStatCpuSeconds(Deno.readTextFileSync("/proc/self/stat"));
  } catch {
    return undefined; // no /proc, or no permission to read it
  }
}

/**
 * Registers the process metrics on `meter`; every value is read at scrape time. CPU time is left
 * out when this platform cannot tell it.
 */
export function registerProcessMetrics(meter: Meter, options: ProcessMetricsOptions = {}): void {
  const now = options.now ?? (() => performance.now());
  const cpuSeconds = options.cpuSeconds ?? readCpuSeconds;
  const noLabels = {};

  meter.observeCounter(
    "otelcol_process_uptime_seconds",
    "Uptime of the process",
    noLabels,
    () => now() / 1000,
  );
  if (cpuSeconds() !== undefined) {
    meter.observeCounter(
      "otelcol_process_cpu_seconds",
      "Total CPU user and system time in seconds",
      noLabels,
      () => {
        const seconds = cpuSeconds();
        // A throwing read leaves the series out of this scrape.
        if (seconds === undefined) throw new Error("CPU time is unavailable");
        return seconds;
      },
    );
  }
  meter.observe(
    "otelcol_process_memory_rss_bytes",
    "Total physical memory (resident set size)",
    noLabels,
    () => Deno.memoryUsage().rss,
  );
  meter.observe(
    "otelcol_process_runtime_heap_alloc_bytes",
    "Bytes of allocated heap objects (V8 heap used)",
    noLabels,
    () => Deno.memoryUsage().heapUsed,
  );
  meter.observe(
    "otelcol_process_runtime_total_sys_memory_bytes",
    "Total bytes of memory obtained from the OS (V8 heap reserved plus external memory)",
    noLabels,
    () => {
      const usage = Deno.memoryUsage();
      return usage.heapTotal + usage.external;
    },
  );
}
