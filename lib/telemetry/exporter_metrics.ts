/**
 * The exporter counters every exporter reports, defined once: the exporter helper counts them where
 * data really reached (or finally failed to reach) the backend; the pipeline graph counts them for
 * exporters not built on the helper.
 *
 * @module
 */
import { ITEM_UNIT } from "../pdata/count.ts";
import type { Signal } from "../pdata/types.ts";
import type { Counter, Gauge, Meter } from "./metrics.ts";

/** An exporter's counters for one signal. */
export interface ExporterCounters {
  /** `otelcol_exporter_sent_<unit>`. */
  readonly sent: Counter;
  /** `otelcol_exporter_send_failed_<unit>`. */
  readonly failed: Counter;
  /** `otelcol_exporter_in_flight_requests{data_type}`. */
  readonly inFlight: Gauge;
}

/** Creates the counters of `signal` on an exporter's meter. */
export function exporterCounters(meter: Meter, signal: Signal): ExporterCounters {
  const unit = ITEM_UNIT[signal];
  const items = unit.replace("_", " ");
  return {
    sent: meter.counter(
      `otelcol_exporter_sent_${unit}`,
      `Number of ${items} successfully sent to destination.`,
    ),
    failed: meter.counter(
      `otelcol_exporter_send_failed_${unit}`,
      `Number of ${items} in failed attempts to send to destination.`,
    ),
    inFlight: meter.gauge(
      "otelcol_exporter_in_flight_requests",
      "Number of export requests currently in-flight (including retry backoff).",
      { data_type: signal },
    ),
  };
}
