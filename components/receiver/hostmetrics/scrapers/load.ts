/**
 * The `load` scraper: 1, 5 and 15 minute load averages from `/proc/loadavg`, optionally divided by
 * the number of logical CPUs (`cpu_average`).
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { readLoadAverage } from "../../../../lib/host/load.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import { enabledMetrics, type MetricDefs, MetricsBuilder, metricsSchema } from "../_metrics.ts";
import { collectorScope, result, type Scraper } from "../_scraper.ts";

const load = (minutes: string) =>
  ({
    description: `Average CPU Load over ${minutes}.`,
    unit: "{thread}",
    enabled: true,
    type: "gauge",
    double: true,
  }) as const;

/** The load scraper's metrics. */
export const LOAD_METRICS = {
  "system.cpu.load_average.1m": load("1 minute"),
  "system.cpu.load_average.5m": load("5 minutes"),
  "system.cpu.load_average.15m": load("15 minutes"),
} as const satisfies MetricDefs;

/** The load scraper's config. */
export const loadConfigSchema = z.strictObject({
  metrics: metricsSchema(LOAD_METRICS),
  /** Divide the averages by the number of logical CPUs. */
  cpu_average: z.boolean().default(false),
});

/** The load scraper's validated config. */
export type LoadConfig = z.output<typeof loadConfigSchema>;

/** Creates the load scraper. */
export function createLoadScraper(config: LoadConfig): Scraper {
  const mb = new MetricsBuilder(LOAD_METRICS, enabledMetrics(LOAD_METRICS, config.metrics));
  return {
    name: "load",
    scope: collectorScope("load"),
    async scrape(ctx) {
      const avg = await readLoadAverage(ctx.root);
      let divisor = 1;
      if (config.cpu_average) {
        divisor = Math.max(1, (await ctx.kernelStat()).perCpu.length);
      }
      const now = nowUnixNano();
      mb.record("system.cpu.load_average.1m", avg.load1 / divisor, [], now, 0n);
      mb.record("system.cpu.load_average.5m", avg.load5 / divisor, [], now, 0n);
      mb.record("system.cpu.load_average.15m", avg.load15 / divisor, [], now, 0n);
      return result(mb.emit());
    },
  };
}
