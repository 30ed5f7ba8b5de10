/**
 * Config of the `zpages` extension: the OpenTelemetry Collector's keys and default endpoint, and
 * tfo's live `tap`, off unless enabled.
 *
 * `expvar` (Go's expvar JSON of the Go runtime) has no counterpart on V8; only `enabled: false`
 * is accepted. Use `/metrics` and the pprof extension instead.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { hostPort } from "../../../lib/config/schema.ts";

/** The default endpoint: localhost only, as in the Collector. */
export const DEFAULT_ZPAGES_ENDPOINT = "127.0.0.1:55679";

/** The `zpages` extension's config schema. */
export const zpagesConfigSchema = z.strictObject({
  /** `host:port` to serve the pages on; anything but loopback exposes the graph and config. */
  endpoint: hostPort().default(DEFAULT_ZPAGES_ENDPOINT),
  /** Go's expvar page; only disabled. */
  expvar: z.strictObject({
    enabled: z.literal(false, {
      message: "is not supported: expvar shows Go runtime variables, which tfo (on V8) does " +
        "not have; read /metrics or use the pprof extension",
    }).default(false),
  }).prefault({}),
  /** The live tap: a sampled stream of the items leaving a component, on its component page. */
  tap: z.strictObject({
    /** Off unless set: the tap shows telemetry content (secret-named attributes masked). */
    enabled: z.boolean().default(false),
    /** Payloads sampled per second per open tap. */
    max_per_second: z.number().positive().max(100).default(2),
    /** Items shown of each sampled payload. */
    max_items: z.number().int().positive().max(1000).default(10),
  }).prefault({}),
  /** Live streams (page updates and taps) open at once; more are answered 503. */
  max_streams: z.number().int().positive().max(1000).default(32),
});

/** The `zpages` extension's validated config. */
export type ZpagesConfig = z.output<typeof zpagesConfigSchema>;
