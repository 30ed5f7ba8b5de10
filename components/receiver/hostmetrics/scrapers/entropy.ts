/**
 * The `entropy` scraper (tfo): the kernel entropy pool, from `/proc/sys/kernel/random`.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { readEntropy } from "../../../../lib/host/kernel.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import type { Logger } from "../../../../lib/telemetry/logger.ts";
import { enabledMetrics, type MetricDefs, MetricsBuilder, metricsSchema } from "../_metrics.ts";
import { MissingSources, result, type Scraper, tfoScope } from "../_scraper.ts";

/** The entropy scraper's metrics. */
export const ENTROPY_METRICS = {
  "system.entropy.available": {
    description: "Bits of entropy available in the kernel pool.",
    unit: "{bits}",
    enabled: true,
    type: "gauge",
    double: false,
  },
  "system.entropy.pool_size": {
    description: "Size of the kernel entropy pool.",
    unit: "{bits}",
    enabled: false,
    type: "gauge",
    double: false,
  },
} as const satisfies MetricDefs;

/** The entropy scraper's config. */
export const entropyConfigSchema = z.strictObject({ metrics: metricsSchema(ENTROPY_METRICS) });

/** The entropy scraper's validated config. */
export type EntropyConfig = z.output<typeof entropyConfigSchema>;

/** Creates the entropy scraper. */
export function createEntropyScraper(config: EntropyConfig, logger: Logger): Scraper {
  const mb = new MetricsBuilder(ENTROPY_METRICS, enabledMetrics(ENTROPY_METRICS, config.metrics));
  const missing = new MissingSources(logger);
  const source = "/proc/sys/kernel/random/entropy_avail";
  return {
    name: "entropy",
    scope: tfoScope("entropy"),
    async scrape(ctx) {
      if (missing.has(source)) return result([]);
      const e = await readEntropy(ctx.root);
      if (e === undefined) {
        missing.report(source, Object.keys(ENTROPY_METRICS));
        return result([]);
      }
      const now = nowUnixNano();
      mb.record("system.entropy.available", e.availableBits, [], now, 0n);
      if (e.poolSizeBits > 0) mb.record("system.entropy.pool_size", e.poolSizeBits, [], now, 0n);
      return result(mb.emit());
    },
  };
}
