/**
 * The `network` scraper: interface counters from `/proc/net/dev` (include/exclude interface
 * filters) and TCP connections by state from `/proc/net/tcp{,6}`; optionally the conntrack table.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { hostPath } from "../../../../lib/host/_read.ts";
import { ALL_TCP_STATES, readNetDev, readTcpStates } from "../../../../lib/host/network.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import { compileFilter, matchTypeSchema, passes, refineFilter } from "../_filter.ts";
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
  MissingSources,
  result,
  type ScrapeError,
  type Scraper,
} from "../_scraper.ts";
import type { Logger } from "../../../../lib/telemetry/logger.ts";

const counter = (description: string, unit: string) =>
  ({ description, unit, enabled: true, type: "sum", monotonic: true, double: false }) as const;
const upDown = (description: string, unit: string, enabled: boolean) =>
  ({ description, unit, enabled, type: "sum", monotonic: false, double: false }) as const;

/** The network scraper's metrics. */
export const NETWORK_METRICS = {
  "system.network.packets": counter("The number of packets transferred.", "{packets}"),
  "system.network.dropped": counter("The number of packets dropped.", "{packets}"),
  "system.network.errors": counter("The number of errors encountered.", "{errors}"),
  "system.network.io": counter("The number of bytes transmitted and received.", "By"),
  "system.network.connections": upDown("The number of connections.", "{connections}", true),
  "system.network.conntrack.count": upDown(
    "The count of entries in conntrack table.",
    "{entries}",
    false,
  ),
  "system.network.conntrack.max": upDown(
    "The limit for entries in the conntrack table.",
    "{entries}",
    false,
  ),
} as const satisfies MetricDefs;

const interfacesFilter = z.strictObject({
  interfaces: z.array(z.string()).default([]),
  match_type: matchTypeSchema,
}).superRefine(refineFilter("interfaces"));

/** The network scraper's config. */
export const networkConfigSchema = z.strictObject({
  metrics: metricsSchema(NETWORK_METRICS),
  include: interfacesFilter.optional(),
  exclude: interfacesFilter.optional(),
});

/** The network scraper's validated config. */
export type NetworkConfig = z.output<typeof networkConfigSchema>;

/** Creates the network scraper. */
export function createNetworkScraper(config: NetworkConfig, logger: Logger): Scraper {
  const mb = new MetricsBuilder(NETWORK_METRICS, enabledMetrics(NETWORK_METRICS, config.metrics));
  const include = compileFilter(config.include?.interfaces, config.include?.match_type);
  const exclude = compileFilter(config.exclude?.interfaces, config.exclude?.match_type);
  const missing = new MissingSources(logger);
  return {
    name: "network",
    scope: collectorScope("network"),
    async scrape(ctx) {
      const errors: ScrapeError[] = [];
      const start = await ctx.bootTime();
      const now = nowUnixNano();
      if (
        mb.anyEnabled(
          "system.network.packets",
          "system.network.dropped",
          "system.network.errors",
          "system.network.io",
        )
      ) {
        try {
          for (const d of await readNetDev(ctx.root)) {
            if (!passes(d.name, include, exclude)) continue;
            const rx = attrs("device", d.name, "direction", "receive");
            const tx = attrs("device", d.name, "direction", "transmit");
            mb.record("system.network.packets", d.rxPackets, rx, now, start);
            mb.record("system.network.packets", d.txPackets, tx, now, start);
            mb.record("system.network.dropped", d.rxDropped, rx, now, start);
            mb.record("system.network.dropped", d.txDropped, tx, now, start);
            mb.record("system.network.errors", d.rxErrors, rx, now, start);
            mb.record("system.network.errors", d.txErrors, tx, now, start);
            mb.record("system.network.io", d.rxBytes, rx, now, start);
            mb.record("system.network.io", d.txBytes, tx, now, start);
          }
        } catch (error) {
          errors.push({ message: `Cannot read /proc/net/dev: ${errorMessage(error)}`, failed: 4 });
        }
      }
      if (mb.enabled("system.network.connections")) {
        try {
          const counts = await readTcpStates(ctx.root);
          for (const state of ALL_TCP_STATES) {
            mb.record(
              "system.network.connections",
              counts.get(state) ?? 0,
              attrs("protocol", "tcp", "state", state),
              now,
              start,
            );
          }
        } catch (error) {
          errors.push({ message: `Cannot read /proc/net/tcp: ${errorMessage(error)}`, failed: 1 });
        }
      }
      if (mb.anyEnabled("system.network.conntrack.count", "system.network.conntrack.max")) {
        const source = "/proc/sys/net/netfilter/nf_conntrack_count";
        if (!missing.has(source)) {
          try {
            const dir = hostPath(ctx.root, "/proc/sys/net/netfilter");
            const count = Number((await Deno.readTextFile(`${dir}/nf_conntrack_count`)).trim());
            const max = Number((await Deno.readTextFile(`${dir}/nf_conntrack_max`)).trim());
            mb.record("system.network.conntrack.count", count, [], now, start);
            mb.record("system.network.conntrack.max", max, [], now, start);
          } catch {
            missing.report(source, [
              "system.network.conntrack.count",
              "system.network.conntrack.max",
            ]);
          }
        }
      }
      return result(mb.emit(), errors);
    },
  };
}
