/**
 * The `pressure` scraper (tfo): pressure stall information from `/proc/pressure/{cpu,memory,io,irq}`
 * — cumulative stall time and the kernel's 10 s / 60 s / 300 s averages. A resource the kernel does
 * not offer (no PSI in the kernel or container, no irq accounting) is disabled with one log line.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { PRESSURE_RESOURCES, readPressure } from "../../../../lib/host/pressure.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import type { Logger } from "../../../../lib/telemetry/logger.ts";
import {
  attrs,
  enabledMetrics,
  type MetricDefs,
  MetricsBuilder,
  metricsSchema,
} from "../_metrics.ts";
import { MissingSources, result, type Scraper, tfoScope } from "../_scraper.ts";

/** The pressure scraper's metrics. */
export const PRESSURE_METRICS = {
  "system.pressure.stall_time": {
    description:
      "Time tasks were stalled waiting for a resource since boot: `some` (at least one task) or `full` (all non-idle tasks).",
    unit: "s",
    enabled: true,
    type: "sum",
    monotonic: true,
    double: true,
  },
  "system.pressure.stall_ratio": {
    description:
      "Share of wall time tasks were stalled waiting for a resource, averaged by the kernel over the window (value in interval [0,1]).",
    unit: "1",
    enabled: true,
    type: "gauge",
    double: true,
  },
} as const satisfies MetricDefs;

/** The pressure scraper's config. */
export const pressureConfigSchema = z.strictObject({ metrics: metricsSchema(PRESSURE_METRICS) });

/** The pressure scraper's validated config. */
export type PressureConfig = z.output<typeof pressureConfigSchema>;

/** Creates the pressure scraper. */
export function createPressureScraper(config: PressureConfig, logger: Logger): Scraper {
  const mb = new MetricsBuilder(PRESSURE_METRICS, enabledMetrics(PRESSURE_METRICS, config.metrics));
  const missing = new MissingSources(logger);
  const names = Object.keys(PRESSURE_METRICS);
  const disabled = new Set<string>();
  return {
    name: "pressure",
    scope: tfoScope("pressure"),
    async scrape(ctx) {
      const start = await ctx.bootTime();
      const absent: string[] = [];
      for (const resource of PRESSURE_RESOURCES) {
        if (disabled.has(resource)) continue;
        const p = await readPressure(resource, ctx.root);
        if (p === undefined) {
          disabled.add(resource);
          absent.push(`/proc/pressure/${resource}`);
          continue;
        }
        const now = nowUnixNano();
        for (const type of ["some", "full"] as const) {
          const line = p[type];
          if (line === undefined) continue;
          const a = attrs("resource", resource, "stall_type", type);
          mb.record("system.pressure.stall_time", line.totalSeconds, a, now, start);
          const windows = [["10s", line.avg10], ["60s", line.avg60], [
            "300s",
            line.avg300,
          ]] as const;
          for (const [window, avg] of windows) {
            const wa = attrs("resource", resource, "stall_type", type, "window", window);
            mb.record("system.pressure.stall_ratio", avg / 100, wa, now, 0n);
          }
        }
      }
      // One log line for everything found missing in this scrape (the first, in practice).
      if (absent.length > 0) missing.report(absent.join(", "), names);
      return result(mb.emit());
    },
  };
}
