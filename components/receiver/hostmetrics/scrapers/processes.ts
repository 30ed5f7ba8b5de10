/**
 * The `processes` scraper: processes by status (every `/proc/[pid]/stat` counted; running and
 * blocked from `/proc/stat`, which is one consistent read) and processes created since boot.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { censusOf } from "../../../../lib/host/processes.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import {
  attrs,
  enabledMetrics,
  type MetricDefs,
  MetricsBuilder,
  metricsSchema,
} from "../_metrics.ts";
import { collectorScope, result, type Scraper } from "../_scraper.ts";

/** The processes scraper's metrics. */
export const PROCESSES_METRICS = {
  "system.processes.created": {
    description: "Total number of created processes.",
    unit: "{processes}",
    enabled: true,
    type: "sum",
    monotonic: true,
    double: false,
  },
  "system.processes.count": {
    description: "Total number of processes in each state.",
    unit: "{processes}",
    enabled: true,
    type: "sum",
    monotonic: false,
    double: false,
  },
} as const satisfies MetricDefs;

/** The processes scraper's config. */
export const processesConfigSchema = z.strictObject({
  metrics: metricsSchema(PROCESSES_METRICS),
});

/** The processes scraper's validated config. */
export type ProcessesConfig = z.output<typeof processesConfigSchema>;

/** The Collector's status for a `/proc/[pid]/stat` state letter. */
export function processStatus(letter: string): string {
  switch (letter) {
    case "R":
      return "running";
    case "S":
      return "sleeping";
    case "D":
      return "blocked";
    case "T":
    case "t":
      return "stopped";
    case "Z":
    case "X":
    case "x":
      return "zombies";
    case "I":
      return "idle";
    case "W":
      return "paging";
    case "L":
      return "locked";
    default:
      return "unknown";
  }
}

/** Creates the processes scraper. */
export function createProcessesScraper(config: ProcessesConfig): Scraper {
  const mb = new MetricsBuilder(
    PROCESSES_METRICS,
    enabledMetrics(PROCESSES_METRICS, config.metrics),
  );
  return {
    name: "processes",
    scope: collectorScope("processes"),
    async scrape(ctx) {
      const start = await ctx.bootTime();
      const byStatus = new Map<string, number>();
      if (mb.enabled("system.processes.count")) {
        const census = censusOf(await ctx.processStats());
        for (const [letter, n] of census.byState) {
          const status = processStatus(letter);
          byStatus.set(status, (byStatus.get(status) ?? 0) + n);
        }
      }
      const stat = await ctx.kernelStat();
      byStatus.set("running", stat.procsRunning);
      byStatus.set("blocked", stat.procsBlocked);
      const now = nowUnixNano();
      for (const [status, n] of byStatus) {
        mb.record("system.processes.count", n, attrs("status", status), now, start);
      }
      mb.record("system.processes.created", stat.processesCreated, [], now, start);
      return result(mb.emit());
    },
  };
}
