/**
 * The otlp receiver's own metrics, with the OpenTelemetry Collector's names:
 * `otelcol_receiver_accepted_<items>` and `otelcol_receiver_refused_<items>` per transport.
 *
 * @module
 */
import type { Signal } from "../../../lib/pdata/types.ts";
import type { Counter, Meter } from "../../../lib/telemetry/metrics.ts";
import { SIGNAL_CODECS } from "./_signals.ts";

/** Accepted and refused item counters of one signal on one transport. */
export interface ItemCounters {
  readonly accepted: Counter;
  readonly refused: Counter;
}

/** Counters per signal for one transport (`http` or `grpc`). */
export function itemCounters(
  meter: Meter,
  transport: "http" | "grpc",
  signals: readonly Signal[],
): Map<Signal, ItemCounters> {
  const out = new Map<Signal, ItemCounters>();
  const labels = { transport };
  for (const signal of signals) {
    const items = SIGNAL_CODECS[signal].itemName;
    out.set(signal, {
      accepted: meter.counter(
        `otelcol_receiver_accepted_${items}`,
        `Number of ${items.replace("_", " ")} successfully pushed into the pipeline.`,
        labels,
      ),
      refused: meter.counter(
        `otelcol_receiver_refused_${items}`,
        `Number of ${items.replace("_", " ")} that could not be pushed into the pipeline.`,
        labels,
      ),
    });
  }
  return out;
}
