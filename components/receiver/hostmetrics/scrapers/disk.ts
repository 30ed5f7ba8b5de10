/**
 * The `disk` scraper: block device counters from `/proc/diskstats`, with include/exclude device
 * filters.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { readDiskStats } from "../../../../lib/host/disk.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import { compileFilter, matchTypeSchema, passes, refineFilter } from "../_filter.ts";
import {
  attrs,
  enabledMetrics,
  type MetricDefs,
  MetricsBuilder,
  metricsSchema,
} from "../_metrics.ts";
import { collectorScope, result, type Scraper } from "../_scraper.ts";

const counter = (description: string, unit: string, double: boolean) =>
  ({ description, unit, enabled: true, type: "sum", monotonic: true, double }) as const;

/** The disk scraper's metrics. */
export const DISK_METRICS = {
  "system.disk.io": counter("Disk bytes transferred.", "By", false),
  "system.disk.operations": counter("Disk operations count.", "{operations}", false),
  "system.disk.io_time": counter(
    "Time disk spent activated. On Windows, this is calculated as the inverse of disk idle time.",
    "s",
    true,
  ),
  "system.disk.operation_time": counter("Time spent in disk operations.", "s", true),
  "system.disk.weighted_io_time": counter(
    "Time disk spent activated multiplied by the queue length.",
    "s",
    true,
  ),
  "system.disk.pending_operations": {
    description: "The queue size of pending I/O operations.",
    unit: "{operations}",
    enabled: true,
    type: "sum",
    monotonic: false,
    double: false,
  },
  "system.disk.merged": counter(
    "The number of disk reads/writes merged into single physical disk access operations.",
    "{operations}",
    false,
  ),
} as const satisfies MetricDefs;

const devicesFilter = z.strictObject({
  devices: z.array(z.string()).default([]),
  match_type: matchTypeSchema,
}).superRefine(refineFilter("devices"));

/** The disk scraper's config. */
export const diskConfigSchema = z.strictObject({
  metrics: metricsSchema(DISK_METRICS),
  include: devicesFilter.optional(),
  exclude: devicesFilter.optional(),
});

/** The disk scraper's validated config. */
export type DiskConfig = z.output<typeof diskConfigSchema>;

/** Creates the disk scraper. */
export function createDiskScraper(config: DiskConfig): Scraper {
  const mb = new MetricsBuilder(DISK_METRICS, enabledMetrics(DISK_METRICS, config.metrics));
  const include = compileFilter(config.include?.devices, config.include?.match_type);
  const exclude = compileFilter(config.exclude?.devices, config.exclude?.match_type);
  return {
    name: "disk",
    scope: collectorScope("disk"),
    async scrape(ctx) {
      const start = await ctx.bootTime();
      const disks = await readDiskStats(ctx.root);
      const now = nowUnixNano();
      for (const d of disks) {
        if (!passes(d.name, include, exclude)) continue;
        const read = attrs("device", d.name, "direction", "read");
        const write = attrs("device", d.name, "direction", "write");
        const device = attrs("device", d.name);
        mb.record("system.disk.io", d.readBytes, read, now, start);
        mb.record("system.disk.io", d.writtenBytes, write, now, start);
        mb.record("system.disk.operations", d.readsCompleted, read, now, start);
        mb.record("system.disk.operations", d.writesCompleted, write, now, start);
        mb.record("system.disk.io_time", d.ioTime, device, now, start);
        mb.record("system.disk.operation_time", d.readTime, read, now, start);
        mb.record("system.disk.operation_time", d.writeTime, write, now, start);
        mb.record("system.disk.weighted_io_time", d.weightedIoTime, device, now, start);
        mb.record("system.disk.pending_operations", d.iosInProgress, device, now, start);
        mb.record("system.disk.merged", d.readsMerged, read, now, start);
        mb.record("system.disk.merged", d.writesMerged, write, now, start);
      }
      return result(mb.emit());
    },
  };
}
