/**
 * The reporting sender: counts what finally reached the backend (`otelcol_exporter_sent_<unit>`)
 * and what finally failed (`otelcol_exporter_send_failed_<unit>`: permanent failures, retries
 * given up, shutdown), once per request, and logs failures rate-limited. It sits between the
 * queue and the retry sender, where the OpenTelemetry Collector puts its `obsrepSender`, so a
 * request retried five times and then delivered counts once, as sent.
 *
 * @module
 */
import { exporterCounters } from "../telemetry/exporter_metrics.ts";
import { isPermanent } from "../consumer/consumer.ts";
import type { Signal } from "../pdata/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Meter } from "../telemetry/metrics.ts";
import type { Clock } from "../clock.ts";
import { RateLimitedLog } from "../log_throttle.ts";
import { isShutdownError } from "./retry_sender.ts";
import type { Sender } from "./timeout_sender.ts";
import type { TenantSendCounters } from "../tenancy/exporter_metrics.ts";

/** Options of {@linkcode reportSender}. */
export interface ReportSenderOptions {
  readonly meter: Meter;
  readonly logger: Logger;
  readonly clock: Clock;
  /** True behind a queue: a failure drops the data (else it goes back to the caller). */
  readonly queued: boolean;
  /**
   * True behind a persistent queue: a request interrupted by shutdown stays on disk for the next
   * start, so it is neither counted nor logged as failed.
   */
  readonly keepsOnShutdown: boolean;
  /** Per-tenant sent / send-failed counters, with `tenant_metrics.enabled`. */
  readonly tenants?: TenantSendCounters | undefined;
}

/** Wraps `next` with the sent / send-failed counters and failure logs. */
export function reportSender<S extends Signal>(
  next: Sender<S>,
  signal: S,
  options: ReportSenderOptions,
): Sender<S> {
  const { meter, logger, clock, queued, keepsOnShutdown, tenants } = options;
  const { sent, failed, inFlight } = exporterCounters(meter, signal);
  const permanentLog = new RateLimitedLog(
    logger,
    "error",
    "Exporting failed. The error is not retryable. Dropping data",
    clock,
  );
  const retryableLog = new RateLimitedLog(
    logger,
    queued ? "error" : "warn",
    queued ? "Exporting failed. Dropping data" : "Exporting failed. Rejecting data",
    clock,
  );
  return async (payload) => {
    const n = payload.itemCount;
    inFlight.add(1);
    try {
      await next(payload);
    } catch (error) {
      if (keepsOnShutdown && isShutdownError(error)) throw error;
      failed.add(n);
      tenants?.failed(payload);
      const fields = { error, items: n, "otelcol.signal": signal };
      if (isPermanent(error)) permanentLog.log(fields);
      else retryableLog.log(fields);
      throw error;
    } finally {
      inFlight.add(-1);
    }
    sent.add(n);
    tenants?.sent(payload);
  };
}
