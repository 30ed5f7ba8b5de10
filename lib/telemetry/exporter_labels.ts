/**
 * The endpoint labels a v0.162 Collector puts on a network exporter's `otelcol_exporter_sent_*`
 * and `otelcol_exporter_send_failed_*` series: `server_address` and `server_port`, and for
 * OTLP/HTTP the signal's `url_path` (`/v1/traces`). Its queue and in-flight gauges carry none of
 * them, so the labels are added by instrument name (see {@linkcode withInstrumentLabels}).
 *
 * @module
 */
import { ITEM_UNIT } from "../pdata/count.ts";
import { SIGNALS } from "../pdata/types.ts";
import type { Signal } from "../pdata/types.ts";
import { type Labels, type Meter, withInstrumentLabels } from "./metrics.ts";

/** `server_address` and `server_port` of `host:port` (brackets of an IPv6 host dropped). */
export function hostPortLabels(target: string): Labels {
  const colon = target.lastIndexOf(":");
  let host = colon < 0 ? target : target.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return colon < 0
    ? { server_address: host }
    : { server_address: host, server_port: target.slice(colon + 1) };
}

/** `server_address`, `server_port` (the scheme's default when the URL has none) and `url_path`. */
export function urlLabels(url: string): Labels {
  const u = new URL(url);
  let host = u.hostname;
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const port = u.port !== "" ? u.port : u.protocol === "https:" ? "443" : "80";
  return { server_address: host, server_port: port, url_path: u.pathname };
}

/**
 * A meter that labels the sent / send-failed counters of each signal with that signal's endpoint
 * labels; every other instrument is left as it is.
 */
export function withEndpointLabels(
  meter: Meter,
  bySignal: Partial<Record<Signal, Labels>>,
): Meter {
  const byName = new Map<string, Labels>();
  for (const signal of SIGNALS) {
    const labels = bySignal[signal];
    if (labels === undefined) continue;
    const unit = ITEM_UNIT[signal];
    byName.set(`otelcol_exporter_sent_${unit}`, labels);
    byName.set(`otelcol_exporter_send_failed_${unit}`, labels);
  }
  return withInstrumentLabels(meter, (name) => byName.get(name));
}
