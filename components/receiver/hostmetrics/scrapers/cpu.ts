/**
 * The `cpu` scraper: CPU time per logical CPU and state from `/proc/stat`; optionally utilization,
 * frequency and CPU counts (`/proc/cpuinfo`). Names, units and defaults are the Collector's.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { type CpuTimes, readCpuInfo, totalCpuSeconds } from "../../../../lib/host/cpu.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import {
  attrs,
  enabledMetrics,
  type MetricDefs,
  MetricsBuilder,
  metricsSchema,
} from "../_metrics.ts";
import {
  collectorScope,
  errorMessage,
  result,
  type ScrapeError,
  type Scraper,
} from "../_scraper.ts";

/** The cpu scraper's metrics. */
export const CPU_METRICS = {
  "system.cpu.time": {
    description: "Total seconds each logical CPU spent on each mode.",
    unit: "s",
    enabled: true,
    type: "sum",
    monotonic: true,
    double: true,
  },
  "system.cpu.utilization": {
    description:
      "Difference in system.cpu.time since the last measurement per logical CPU, divided by the elapsed time (value in interval [0,1]).",
    unit: "1",
    enabled: false,
    type: "gauge",
    double: true,
  },
  "system.cpu.frequency": {
    description: "Current frequency of the CPU core in Hz.",
    unit: "Hz",
    enabled: false,
    type: "gauge",
    double: true,
  },
  "system.cpu.logical.count": {
    description: "Number of available logical CPUs.",
    unit: "{cpu}",
    enabled: false,
    type: "sum",
    monotonic: false,
    double: false,
  },
  "system.cpu.physical.count": {
    description: "Number of available physical CPUs.",
    unit: "{cpu}",
    enabled: false,
    type: "sum",
    monotonic: false,
    double: false,
  },
} as const satisfies MetricDefs;

/** The cpu scraper's config. */
export const cpuConfigSchema = z.strictObject({ metrics: metricsSchema(CPU_METRICS) });

/** The cpu scraper's validated config. */
export type CpuConfig = z.output<typeof cpuConfigSchema>;

const STATES: readonly (readonly [string, keyof CpuTimes])[] = [
  ["user", "user"],
  ["system", "system"],
  ["idle", "idle"],
  ["interrupt", "irq"],
  ["nice", "nice"],
  ["softirq", "softirq"],
  ["steal", "steal"],
  ["wait", "iowait"],
];

/** Creates the cpu scraper. */
export function createCpuScraper(config: CpuConfig): Scraper {
  const mb = new MetricsBuilder(CPU_METRICS, enabledMetrics(CPU_METRICS, config.metrics));
  let previous = new Map<string, CpuTimes>();
  return {
    name: "cpu",
    scope: collectorScope("cpu"),
    async scrape(ctx) {
      const errors: ScrapeError[] = [];
      const start = await ctx.bootTime();
      const stat = await ctx.kernelStat();
      const now = nowUnixNano();
      const current = new Map<string, CpuTimes>();
      for (const cpu of stat.perCpu) {
        current.set(cpu.cpu, cpu);
        for (const [state, field] of STATES) {
          mb.record(
            "system.cpu.time",
            cpu[field],
            attrs("cpu", cpu.cpu, "state", state),
            now,
            start,
          );
        }
        const before = previous.get(cpu.cpu);
        if (before !== undefined && mb.enabled("system.cpu.utilization")) {
          const elapsed = totalCpuSeconds(cpu) - totalCpuSeconds(before);
          if (elapsed > 0) {
            for (const [state, field] of STATES) {
              const share = Math.max(0, cpu[field] - before[field]) / elapsed;
              mb.record(
                "system.cpu.utilization",
                share,
                attrs("cpu", cpu.cpu, "state", state),
                now,
                0n,
              );
            }
          }
        }
      }
      previous = current;
      if (
        mb.anyEnabled(
          "system.cpu.frequency",
          "system.cpu.logical.count",
          "system.cpu.physical.count",
        )
      ) {
        try {
          const info = await readCpuInfo(ctx.root);
          for (const p of info.processors) {
            if (p.mhz > 0) {
              mb.record(
                "system.cpu.frequency",
                p.mhz * 1e6,
                attrs("cpu", `cpu${p.processor}`),
                now,
                0n,
              );
            }
          }
          mb.record("system.cpu.logical.count", info.logicalCount, [], now, start);
          mb.record("system.cpu.physical.count", info.physicalCount, [], now, start);
        } catch (error) {
          errors.push({ message: `Cannot read /proc/cpuinfo: ${errorMessage(error)}`, failed: 3 });
        }
      }
      return result(mb.emit(), errors);
    },
  };
}
