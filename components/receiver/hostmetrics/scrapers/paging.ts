/**
 * The `paging` scraper: swap usage per device from `/proc/swaps`, paging operations and page faults
 * from `/proc/vmstat`.
 *
 * Operations and faults are the kernel's event counts (pages and faults), as the units say; the
 * Collector on Linux reports them through gopsutil, which scales some of them by 4 KiB.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { readSwaps } from "../../../../lib/host/paging.ts";
import { readVmStat } from "../../../../lib/host/vmstat.ts";
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

/** The paging scraper's metrics. */
export const PAGING_METRICS = {
  "system.paging.usage": {
    description: "Swap (unix) or pagefile (windows) usage.",
    unit: "By",
    enabled: true,
    type: "sum",
    monotonic: false,
    double: false,
  },
  "system.paging.operations": {
    description: "The number of paging operations.",
    unit: "{operations}",
    enabled: true,
    type: "sum",
    monotonic: true,
    double: false,
  },
  "system.paging.faults": {
    description: "The number of page faults.",
    unit: "{faults}",
    enabled: true,
    type: "sum",
    monotonic: true,
    double: false,
  },
  "system.paging.utilization": {
    description: "Swap (unix) or pagefile (windows) utilization.",
    unit: "1",
    enabled: false,
    type: "gauge",
    double: true,
  },
} as const satisfies MetricDefs;

/** The paging scraper's config. */
export const pagingConfigSchema = z.strictObject({ metrics: metricsSchema(PAGING_METRICS) });

/** The paging scraper's validated config. */
export type PagingConfig = z.output<typeof pagingConfigSchema>;

/** Creates the paging scraper. */
export function createPagingScraper(config: PagingConfig): Scraper {
  const mb = new MetricsBuilder(PAGING_METRICS, enabledMetrics(PAGING_METRICS, config.metrics));
  return {
    name: "paging",
    scope: collectorScope("paging"),
    async scrape(ctx) {
      const errors: ScrapeError[] = [];
      const start = await ctx.bootTime();
      if (mb.anyEnabled("system.paging.usage", "system.paging.utilization")) {
        try {
          const now = nowUnixNano();
          for (const s of await readSwaps(ctx.root)) {
            const free = s.sizeBytes - s.usedBytes;
            mb.record(
              "system.paging.usage",
              s.usedBytes,
              attrs("device", s.name, "state", "used"),
              now,
              start,
            );
            mb.record(
              "system.paging.usage",
              free,
              attrs("device", s.name, "state", "free"),
              now,
              start,
            );
            if (s.sizeBytes > 0) {
              const used = attrs("device", s.name, "state", "used");
              mb.record("system.paging.utilization", s.usedBytes / s.sizeBytes, used, now, 0n);
              const freeAttrs = attrs("device", s.name, "state", "free");
              mb.record("system.paging.utilization", free / s.sizeBytes, freeAttrs, now, 0n);
            }
          }
        } catch (error) {
          errors.push({ message: `Cannot read /proc/swaps: ${errorMessage(error)}`, failed: 2 });
        }
      }
      if (mb.anyEnabled("system.paging.operations", "system.paging.faults")) {
        try {
          const v = await readVmStat(ctx.root);
          const now = nowUnixNano();
          const get = (k: string) => v.get(k) ?? 0;
          const op = "system.paging.operations";
          mb.record(op, get("pswpin"), attrs("direction", "page_in", "type", "major"), now, start);
          mb.record(
            op,
            get("pswpout"),
            attrs("direction", "page_out", "type", "major"),
            now,
            start,
          );
          mb.record(op, get("pgpgin"), attrs("direction", "page_in", "type", "minor"), now, start);
          mb.record(
            op,
            get("pgpgout"),
            attrs("direction", "page_out", "type", "minor"),
            now,
            start,
          );
          const majors = get("pgmajfault");
          mb.record("system.paging.faults", majors, attrs("type", "major"), now, start);
          mb.record(
            "system.paging.faults",
            get("pgfault") - majors,
            attrs("type", "minor"),
            now,
            start,
          );
        } catch (error) {
          errors.push({ message: `Cannot read /proc/vmstat: ${errorMessage(error)}`, failed: 2 });
        }
      }
      return result(mb.emit(), errors);
    },
  };
}
