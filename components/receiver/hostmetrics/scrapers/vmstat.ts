/**
 * The `vmstat` scraper (tfo): selected `/proc/vmstat` event counters (reclaim, swap, faults, OOM
 * kills), context switches and interrupts from `/proc/stat`.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { readVmStat } from "../../../../lib/host/vmstat.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import type { Logger } from "../../../../lib/telemetry/logger.ts";
import {
  attrs,
  enabledMetrics,
  type MetricDefs,
  MetricsBuilder,
  metricsSchema,
} from "../_metrics.ts";
import {
  errorMessage,
  MissingSources,
  result,
  type ScrapeError,
  type Scraper,
  tfoScope,
} from "../_scraper.ts";

const counter = (description: string, unit: string) =>
  ({ description, unit, enabled: true, type: "sum", monotonic: true, double: false }) as const;

/** The vmstat scraper's metrics. */
export const VMSTAT_METRICS = {
  "system.vmstat.events": counter(
    "Virtual memory events since boot, by /proc/vmstat counter name.",
    "{events}",
  ),
  "system.context_switches": counter("Context switches since boot.", "{switches}"),
  "system.interrupts": counter(
    "Interrupts serviced since boot: hardware (`hard`) and soft (`soft`).",
    "{interrupts}",
  ),
} as const satisfies MetricDefs;

/** The /proc/vmstat counters reported unless `counters` says otherwise. */
export const DEFAULT_VMSTAT_COUNTERS: readonly string[] = [
  "pgpgin",
  "pgpgout",
  "pswpin",
  "pswpout",
  "pgfault",
  "pgmajfault",
  "pgscan_kswapd",
  "pgscan_direct",
  "pgsteal_kswapd",
  "pgsteal_direct",
  "oom_kill",
];

/** The vmstat scraper's config. */
export const vmstatConfigSchema = z.strictObject({
  metrics: metricsSchema(VMSTAT_METRICS),
  /** Event counters (not `nr_*` gauges) of /proc/vmstat to report; absent ones are skipped. */
  counters: z.array(z.string().min(1)).default([...DEFAULT_VMSTAT_COUNTERS]),
});

/** The vmstat scraper's validated config. */
export type VmstatConfig = z.output<typeof vmstatConfigSchema>;

/** Creates the vmstat scraper. */
export function createVmstatScraper(config: VmstatConfig, logger: Logger): Scraper {
  const mb = new MetricsBuilder(VMSTAT_METRICS, enabledMetrics(VMSTAT_METRICS, config.metrics));
  const missing = new MissingSources(logger);
  const counterAttrs = new Map(config.counters.map((c) => [c, attrs("counter", c)]));
  return {
    name: "vmstat",
    scope: tfoScope("vmstat"),
    async scrape(ctx) {
      const errors: ScrapeError[] = [];
      const start = await ctx.bootTime();
      if (mb.enabled("system.vmstat.events") && !missing.has("/proc/vmstat")) {
        try {
          const v = await readVmStat(ctx.root);
          const now = nowUnixNano();
          for (const [name, a] of counterAttrs) {
            const value = v.get(name);
            if (value !== undefined) mb.record("system.vmstat.events", value, a, now, start);
          }
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) {
            missing.report("/proc/vmstat", ["system.vmstat.events"]);
          } else {
            errors.push({ message: `Cannot read /proc/vmstat: ${errorMessage(error)}`, failed: 1 });
          }
        }
      }
      const stat = await ctx.kernelStat();
      const now = nowUnixNano();
      mb.record("system.context_switches", stat.contextSwitches, [], now, start);
      mb.record("system.interrupts", stat.interrupts, attrs("type", "hard"), now, start);
      mb.record("system.interrupts", stat.softInterrupts, attrs("type", "soft"), now, start);
      return result(mb.emit(), errors);
    },
  };
}
