/**
 * The receiver side of self-telemetry, with the OpenTelemetry Collector's names:
 * `otelcol_receiver_accepted_<items>`, `otelcol_receiver_refused_<items>` and
 * `otelcol_receiver_failed_<items>` per transport. Receivers record them themselves, since only
 * they know the transport.
 *
 * As in the Collector, an error from the pipeline (a processor or exporter refused the data) counts
 * as refused; an error inside the receiver after it accepted the request (it could not turn what it
 * read into items) counts as failed.
 *
 * @module
 */
import type { Consumer } from "../consumer/consumer.ts";
import { ITEM_UNIT } from "../pdata/count.ts";
import type { Signal } from "../pdata/types.ts";
import type { Counter, Meter } from "./metrics.ts";

/** Accepted and refused item counters of one signal on one transport. */
export interface ReceiverCounters {
  readonly accepted: Counter;
  readonly refused: Counter;
  /** Items lost to the receiver's own errors, not the pipeline's. */
  readonly failed: Counter;
}

/** The counters of `signal` on `transport` (`""` where a receiver has none). */
export function receiverCounters(
  meter: Meter,
  signal: Signal,
  transport: string,
): ReceiverCounters {
  const unit = ITEM_UNIT[signal];
  const items = unit.replace("_", " ");
  return {
    accepted: meter.counter(
      `otelcol_receiver_accepted_${unit}`,
      `Number of ${items} successfully pushed into the pipeline.`,
      { transport },
    ),
    refused: meter.counter(
      `otelcol_receiver_refused_${unit}`,
      `Number of ${items} that could not be pushed into the pipeline.`,
      { transport },
    ),
    failed: meter.counter(
      `otelcol_receiver_failed_${unit}`,
      `The number of ${items} that failed to be processed by the receiver due to internal errors.`,
      { transport },
    ),
  };
}

/** A consumer that counts what a receiver pushed into its pipelines. */
export function instrumentReceiverOutput<S extends Signal>(
  signal: S,
  next: Consumer<S>,
  meter: Meter,
  transport = "",
): Consumer<S> {
  const { accepted, refused } = receiverCounters(meter, signal, transport);
  return {
    mutatesData: next.mutatesData,
    async consume(payload) {
      const n = payload.itemCount;
      try {
        await next.consume(payload);
      } catch (error) {
        refused.add(n);
        throw error;
      }
      accepted.add(n);
    },
  };
}
