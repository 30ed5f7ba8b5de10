/**
 * The OpenTelemetry Collector's process metrics, under its instrument names (the exposed name gets
 * a unit suffix and `_total` only when the metrics reader asks for them, see `metrics.ts`):
 *
 * | name | type | unit | source |
 * | --- | --- | --- | --- |
 * | `otelcol_process_uptime` | counter | s | seconds since the process started |
 * | `otelcol_process_cpu_seconds` | counter | s | user + system CPU time |
 * | `otelcol_process_memory_rss` | gauge | By | `Deno.memoryUsage().rss` |
 * | `otelcol_process_runtime_heap_alloc_bytes` | gauge | By | live memory: V8 heap used plus external (ArrayBuffer) memory, what Go's `HeapAlloc` counts |
 * | `otelcol_process_runtime_total_alloc_bytes` | counter | By | a lower bound of the bytes allocated since start (below) |
 * | `otelcol_process_runtime_total_sys_memory_bytes` | gauge | By | V8 heap reserved + external memory |
 *
 * V8 has no counter of bytes allocated since start (Go's `TotalAlloc`). tfo samples live memory
 * (heap used + external) every `sampleIntervalMs` and at every scrape and adds each rise since the
 * previous sample: memory that was allocated and freed between two samples is missed, so the value
 * is a lower bound that never decreases, and its rate shows allocation pressure as the Collector's
 * does.
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
  /**
   * Reads live memory in bytes.
   * @default V8 heap used plus external memory
   */
  readonly liveMemory?: () => number;
  /**
   * How often live memory is sampled for the allocation total; 0 samples at scrapes only.
   * @default 1000
   */
  readonly sampleIntervalMs?: number;
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

/** Reads live memory in bytes (V8 heap used plus external memory). */
function liveMemory(): number {
  const usage = Deno.memoryUsage();
  return usage.heapUsed + usage.external;
}

/**
 * Sums the rises of a sampled value: a lower bound of the bytes allocated, since a fall (a
 * garbage collection) adds nothing.
 */
export class AllocationCounter {
  #last: number;
  #total = 0;

  /** @param first the first sample */
  constructor(first: number) {
    this.#last = first;
  }

  /** Takes a sample; returns the total so far. */
  sample(value: number): number {
    if (value > this.#last) this.#total += value - this.#last;
    this.#last = value;
    return this.#total;
  }
}

/** What {@linkcode registerProcessMetrics} started; close it to stop the sampling timer. */
export interface ProcessMetrics {
  /** Stops sampling; safe to call twice. */
  close(): void;
}

/**
 * Registers the process metrics on `meter`; every value is read at scrape time. CPU time is left
 * out when this platform cannot tell it. An unref'd timer samples live memory for
 * `otelcol_process_runtime_total_alloc_bytes` until {@linkcode ProcessMetrics.close}.
 */
export function registerProcessMetrics(
  meter: Meter,
  options: ProcessMetricsOptions = {},
): ProcessMetrics {
  const now = options.now ?? (() => performance.now());
  const cpuSeconds = options.cpuSeconds ?? readCpuSeconds;
  const memory = options.liveMemory ?? liveMemory;
  const noLabels = {};
  const allocated = new AllocationCounter(memory());

  meter.observeCounter(
    "otelcol_process_uptime",
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
    "otelcol_process_memory_rss",
    "Total physical memory (resident set size)",
    noLabels,
    () => Deno.memoryUsage().rss,
  );
  meter.observe(
    "otelcol_process_runtime_heap_alloc_bytes",
    "Bytes of allocated heap objects",
    noLabels,
    memory,
  );
  meter.observeCounter(
    "otelcol_process_runtime_total_alloc_bytes",
    "Cumulative bytes allocated for heap objects",
    noLabels,
    () => allocated.sample(memory()),
  );
  meter.observe(
    "otelcol_process_runtime_total_sys_memory_bytes",
    "Total bytes of memory obtained from the OS",
    noLabels,
    () => {
      const usage = Deno.memoryUsage();
      return usage.heapTotal + usage.external;
    },
  );
  const intervalMs = options.sampleIntervalMs ?? 1000;
  let timer: number | undefined = intervalMs > 0
    ? Number(setInterval(() => allocated.sample(memory()), intervalMs))
    : undefined;
  if (timer !== undefined) Deno.unrefTimer(timer);
  return {
    close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
