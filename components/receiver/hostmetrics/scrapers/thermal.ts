/**
 * The `thermal` scraper (tfo): temperature per thermal zone from `/sys/class/thermal`. Hosts
 * without thermal zones (most virtual machines and containers) disable it with one log line.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { readThermalZones } from "../../../../lib/host/thermal.ts";
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

/** The thermal scraper's metrics. */
export const THERMAL_METRICS = {
  "system.thermal.temperature": {
    description: "Temperature of a thermal zone.",
    unit: "Cel",
    enabled: true,
    type: "gauge",
    double: true,
  },
} as const satisfies MetricDefs;

/** The thermal scraper's config. */
export const thermalConfigSchema = z.strictObject({ metrics: metricsSchema(THERMAL_METRICS) });

/** The thermal scraper's validated config. */
export type ThermalConfig = z.output<typeof thermalConfigSchema>;

/** Creates the thermal scraper. */
export function createThermalScraper(config: ThermalConfig, logger: Logger): Scraper {
  const mb = new MetricsBuilder(THERMAL_METRICS, enabledMetrics(THERMAL_METRICS, config.metrics));
  const missing = new MissingSources(logger);
  const source = "/sys/class/thermal";
  return {
    name: "thermal",
    scope: tfoScope("thermal"),
    async scrape(ctx) {
      if (missing.has(source)) return result([]);
      const zones = await readThermalZones(ctx.root);
      if (zones === undefined || zones.length === 0) {
        missing.report(source, Object.keys(THERMAL_METRICS));
        return result([]);
      }
      const now = nowUnixNano();
      for (const z of zones) {
        const a = attrs("zone", z.zone, "type", z.type);
        mb.record("system.thermal.temperature", z.celsius, a, now, 0n);
      }
      return result(mb.emit());
    },
  };
}
