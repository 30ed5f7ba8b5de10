/**
 * Config of the `health_check` extension, with the OpenTelemetry Collector's keys and defaults.
 *
 * `check_collector_pipeline` is accepted so Collector configs carry over, but only disabled: the
 * Collector's own README warns that the feature "is not working as expected" and recommends not
 * using it. Watch `otelcol_exporter_send_failed_*` instead.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration, hostPort } from "../../../lib/config/schema.ts";

/** The default endpoint: localhost only, as in the Collector since its localhost-default change. */
export const DEFAULT_HEALTH_CHECK_ENDPOINT = "127.0.0.1:13133";

const checkCollectorPipelineSchema = z.strictObject({
  /** Must be false; see the module documentation. */
  enabled: z.literal(false, {
    message: "is not supported: the OpenTelemetry Collector documents check_collector_pipeline " +
      "as not working as expected; leave it disabled and watch otelcol_exporter_send_failed_* " +
      "instead",
  }).default(false),
  /** Accepted and unused while the check is disabled. */
  interval: duration("5m"),
  /** Accepted and unused while the check is disabled. */
  exporter_failure_threshold: z.number().int().positive().default(5),
});

/** The `health_check` extension's config schema. */
export const healthCheckConfigSchema = z.strictObject({
  /** `host:port` to serve on. */
  endpoint: hostPort().default(DEFAULT_HEALTH_CHECK_ENDPOINT),
  /** The path answered; one ending in `/` also answers everything below it. */
  path: z.string().startsWith("/", { message: 'must start with "/"' }).default("/"),
  /** Static bodies replacing the default JSON status. */
  response_body: z
    .strictObject({
      /** The body while the service is running. */
      healthy: z.string().default(""),
      /** The body while it is starting or stopping. */
      unhealthy: z.string().default(""),
    })
    .optional(),
  /** The Collector's pipeline check; only `enabled: false` is accepted. */
  check_collector_pipeline: checkCollectorPipelineSchema.prefault({}),
});

/** The `health_check` extension's validated config. */
export type HealthCheckConfig = z.output<typeof healthCheckConfigSchema>;
