/**
 * The `memory` scraper: memory usage by state from `/proc/meminfo`, as the Collector reports it on
 * Linux (`cached` includes reclaimable slab; used + free + buffered + cached = MemTotal).
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import {
  attrs,
  enabledMetrics,
  type MetricDefs,
  MetricsBuilder,
  metricsSchema,
} from "../_metrics.ts";
import { collectorScope, result, type Scraper } from "../_scraper.ts";

const bytesSum = (description: string, enabled: boolean) =>
  ({ description, unit: "By", enabled, type: "sum", monotonic: false, double: false }) as const;

/** The memory scraper's metrics. */
export const MEMORY_METRICS = {
  "system.memory.usage": bytesSum("Bytes of memory in use.", true),
  "system.memory.utilization": {
    description: "Percentage of memory bytes in use.",
    unit: "1",
    enabled: false,
    type: "gauge",
    double: true,
  },
  "system.memory.limit": bytesSum("Total bytes of memory available.", false),
  "system.linux.memory.available": bytesSum(
    "An estimate of how much memory is available for starting new applications, without swapping.",
    false,
  ),
  "system.linux.memory.dirty": bytesSum(
    "The amount of dirty memory according to `/proc/meminfo`.",
    false,
  ),
  "system.memory.linux.shared": bytesSum(
    "Shared memory usage, including tmpfs filesystems and System V/POSIX shared memory.",
    false,
  ),
} as const satisfies MetricDefs;

/** The memory scraper's config. */
export const memoryConfigSchema = z.strictObject({ metrics: metricsSchema(MEMORY_METRICS) });

/** The memory scraper's validated config. */
export type MemoryConfig = z.output<typeof memoryConfigSchema>;

/** Creates the memory scraper. */
export function createMemoryScraper(config: MemoryConfig): Scraper {
  const mb = new MetricsBuilder(MEMORY_METRICS, enabledMetrics(MEMORY_METRICS, config.metrics));
  return {
    name: "memory",
    scope: collectorScope("memory"),
    async scrape(ctx) {
      const start = await ctx.bootTime();
      const m = await ctx.memInfo();
      const now = nowUnixNano();
      const states: [string, number][] = [
        ["used", m.used],
        ["free", m.free],
        ["buffered", m.buffers],
        ["cached", m.cached],
        ["slab_reclaimable", m.slabReclaimable],
        ["slab_unreclaimable", m.slabUnreclaimable],
      ];
      for (const [state, bytes] of states) {
        mb.record("system.memory.usage", bytes, attrs("state", state), now, start);
        if (m.total > 0) {
          mb.record("system.memory.utilization", bytes / m.total, attrs("state", state), now, 0n);
        }
      }
      mb.record("system.memory.limit", m.total, [], now, start);
      mb.record("system.linux.memory.available", m.available, [], now, start);
      mb.record("system.linux.memory.dirty", m.dirty, [], now, start);
      mb.record("system.memory.linux.shared", m.shared, [], now, start);
      return result(mb.emit());
    },
  };
}
