/**
 * What an exporter does with an OTLP `partial_success`: the request counts as accepted (the
 * specification forbids retrying it), one warning per response names the count and the server's
 * message, and the rejected items are counted.
 *
 * The OpenTelemetry Collector only logs partial successes; it has no metric for them, so the
 * counter is tfo's own: `tfo_exporter_rejected_<unit>_total` (`spans`, `metric_points`,
 * `log_records`), on the exporter's meter.
 *
 * @module
 */
import type { ExportPartialSuccess } from "../otlp/mod.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Counter, Meter } from "../telemetry/metrics.ts";

/** Reports partial successes of one exporter and signal. */
export interface PartialSuccessReporter {
  /** Logs and counts a response's partial success; does nothing when it is absent or empty. */
  report(partial: ExportPartialSuccess | undefined): void;
}

/**
 * Makes a reporter.
 * @param unit what the items are called: `spans`, `metric_points` or `log_records`
 */
export function partialSuccessReporter(
  logger: Logger,
  meter: Meter,
  unit: string,
): PartialSuccessReporter {
  const counter: Counter = meter.counter(
    `tfo_exporter_rejected_${unit}`,
    `Number of ${unit.replaceAll("_", " ")} the server rejected in partial-success responses.`,
  );
  return {
    report(partial) {
      if (partial === undefined) return;
      if (partial.rejectedItems === 0n && partial.errorMessage === "") return;
      const rejected = Number(partial.rejectedItems);
      counter.add(rejected);
      logger.warn("Partial success response", {
        [`rejected_${unit}`]: rejected,
        message: partial.errorMessage,
      });
    },
  };
}
