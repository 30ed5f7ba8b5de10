/**
 * The `sockstat` scraper (tfo): sockets by protocol and state, and socket buffer memory, from
 * `/proc/net/sockstat` and `/proc/net/sockstat6`.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { readSockstat } from "../../../../lib/host/sockstat.ts";
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

const upDown = (description: string, unit: string) =>
  ({ description, unit, enabled: true, type: "sum", monotonic: false, double: false }) as const;

/** The sockstat scraper's metrics. */
export const SOCKSTAT_METRICS = {
  "system.sockstat.used": upDown("Sockets in use, all protocols.", "{sockets}"),
  "system.sockstat.sockets": upDown(
    "Sockets by protocol and state (`inuse`, `orphan`, `tw` (TIME_WAIT), `alloc`).",
    "{sockets}",
  ),
  "system.sockstat.memory": upDown("Socket buffer memory by protocol, in pages.", "{pages}"),
} as const satisfies MetricDefs;

/** The sockstat scraper's config. */
export const sockstatConfigSchema = z.strictObject({ metrics: metricsSchema(SOCKSTAT_METRICS) });

/** The sockstat scraper's validated config. */
export type SockstatConfig = z.output<typeof sockstatConfigSchema>;

/** Creates the sockstat scraper. */
export function createSockstatScraper(config: SockstatConfig, logger: Logger): Scraper {
  const mb = new MetricsBuilder(SOCKSTAT_METRICS, enabledMetrics(SOCKSTAT_METRICS, config.metrics));
  const missing = new MissingSources(logger);
  return {
    name: "sockstat",
    scope: tfoScope("sockstat"),
    async scrape(ctx) {
      if (missing.has("/proc/net/sockstat")) return result([]);
      const s = await readSockstat(ctx.root);
      if (s === undefined) {
        missing.report("/proc/net/sockstat", Object.keys(SOCKSTAT_METRICS));
        return result([]);
      }
      const start = await ctx.bootTime();
      const now = nowUnixNano();
      mb.record("system.sockstat.used", s.socketsUsed, [], now, start);
      for (const p of s.protocols) {
        for (const [key, value] of p.values) {
          if (key === "mem") {
            mb.record("system.sockstat.memory", value, attrs("protocol", p.protocol), now, start);
          } else if (key !== "memory") {
            const a = attrs("protocol", p.protocol, "state", key);
            mb.record("system.sockstat.sockets", value, a, now, start);
          }
        }
      }
      return result(mb.emit());
    },
  };
}
