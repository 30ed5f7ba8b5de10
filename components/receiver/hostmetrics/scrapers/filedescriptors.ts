/**
 * The `filedescriptors` scraper (tfo): system-wide file handles in use and their limit, from
 * `/proc/sys/fs/file-nr`.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { readFileHandles } from "../../../../lib/host/kernel.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import type { Logger } from "../../../../lib/telemetry/logger.ts";
import { enabledMetrics, type MetricDefs, MetricsBuilder, metricsSchema } from "../_metrics.ts";
import { MissingSources, result, type Scraper, tfoScope } from "../_scraper.ts";

/** The filedescriptors scraper's metrics. */
export const FILEDESCRIPTORS_METRICS = {
  "system.filedescriptor.usage": {
    description: "File handles allocated and in use, system-wide.",
    unit: "{file_descriptors}",
    enabled: true,
    type: "sum",
    monotonic: false,
    double: false,
  },
  "system.filedescriptor.limit": {
    description: "The system-wide limit of file handles (fs.file-max).",
    unit: "{file_descriptors}",
    enabled: true,
    type: "sum",
    monotonic: false,
    double: false,
  },
} as const satisfies MetricDefs;

/** The filedescriptors scraper's config. */
export const filedescriptorsConfigSchema = z.strictObject({
  metrics: metricsSchema(FILEDESCRIPTORS_METRICS),
});

/** The filedescriptors scraper's validated config. */
export type FiledescriptorsConfig = z.output<typeof filedescriptorsConfigSchema>;

/** Creates the filedescriptors scraper. */
export function createFiledescriptorsScraper(
  config: FiledescriptorsConfig,
  logger: Logger,
): Scraper {
  const mb = new MetricsBuilder(
    FILEDESCRIPTORS_METRICS,
    enabledMetrics(FILEDESCRIPTORS_METRICS, config.metrics),
  );
  const missing = new MissingSources(logger);
  const source = "/proc/sys/fs/file-nr";
  return {
    name: "filedescriptors",
    scope: tfoScope("filedescriptors"),
    async scrape(ctx) {
      if (missing.has(source)) return result([]);
      const f = await readFileHandles(ctx.root);
      if (f === undefined) {
        missing.report(source, Object.keys(FILEDESCRIPTORS_METRICS));
        return result([]);
      }
      const start = await ctx.bootTime();
      const now = nowUnixNano();
      mb.record("system.filedescriptor.usage", f.used, [], now, start);
      mb.record("system.filedescriptor.limit", f.max, [], now, start);
      return result(mb.emit());
    },
  };
}
