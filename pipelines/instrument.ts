/**
 * Self-telemetry around consumers, with the OpenTelemetry Collector's metric names, so its
 * dashboards work: processors count incoming/outgoing items, exporters sent/send-failed items, per
 * component ID and signal. Receivers count accepted/refused items themselves
 * (`lib/telemetry/receiver_metrics.ts`), since only they know the transport.
 *
 * @module
 */
import { exporterCounters } from "../lib/telemetry/exporter_metrics.ts";
import { type Consumer, isPermanent } from "../lib/consumer/consumer.ts";
import { countsItsOwnSends } from "../lib/exporterhelper/exporter_helper.ts";
import type { Signal } from "../lib/pdata/types.ts";
import type { Logger } from "../lib/telemetry/logger.ts";
import type { Meter } from "../lib/telemetry/metrics.ts";

/** Counts items going into a processor. */
export function instrumentProcessorInput<S extends Signal>(
  signal: S,
  processor: Consumer<S>,
  meter: Meter,
): Consumer<S> {
  const incoming = meter.counter(
    "otelcol_processor_incoming_items",
    "Number of items passed to the processor.",
    { otel_signal: signal },
  );
  return {
    mutatesData: processor.mutatesData,
    consume(payload) {
      incoming.add(payload.itemCount);
      return processor.consume(payload);
    },
  };
}

/** Counts items a processor emits. */
export function instrumentProcessorOutput<S extends Signal>(
  signal: S,
  next: Consumer<S>,
  meter: Meter,
): Consumer<S> {
  const outgoing = meter.counter(
    "otelcol_processor_outgoing_items",
    "Number of items emitted from the processor.",
    { otel_signal: signal },
  );
  return {
    mutatesData: next.mutatesData,
    consume(payload) {
      outgoing.add(payload.itemCount);
      return next.consume(payload);
    },
  };
}

/**
 * Counts what an exporter accepted or failed, and logs failures. A consumer made by the exporter
 * helper counts and logs where data really reaches the backend (after its queue and retries), so
 * it is returned as is: wrapping it too would count every item twice.
 */
export function instrumentExporterInput<S extends Signal>(
  signal: S,
  exporter: Consumer<S>,
  meter: Meter,
  logger: Logger,
): Consumer<S> {
  if (countsItsOwnSends(exporter)) return exporter;
  const { sent, failed, inFlight } = exporterCounters(meter, signal);
  return {
    mutatesData: exporter.mutatesData,
    async consume(payload) {
      const n = payload.itemCount;
      inFlight.add(1);
      try {
        await exporter.consume(payload);
      } catch (error) {
        failed.add(n);
        logger.warn("Exporting failed", {
          error,
          permanent: isPermanent(error),
          items: n,
          "otelcol.signal": signal,
        });
        throw error;
      } finally {
        inFlight.add(-1);
      }
      sent.add(n);
    },
  };
}
