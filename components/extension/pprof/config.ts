/**
 * Config of the `pprof` extension, with the OpenTelemetry Collector's keys and defaults.
 *
 * `block_profile_fraction` and `mutex_profile_fraction` are Go runtime settings with no
 * counterpart in a JavaScript runtime (there are no blocking mutexes to sample); only their default,
 * 0, is accepted, so a Collector config that leaves them alone carries over and one that relies on
 * them is told so.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { hostPort } from "../../../lib/config/schema.ts";

/** The default endpoint: localhost only, as in the Collector. */
export const DEFAULT_PPROF_ENDPOINT = "127.0.0.1:1777";

const goOnly = (key: string) =>
  z.literal(0, {
    message: `must be 0: ${key} samples Go runtime contention, which a JavaScript runtime does ` +
      "not have; use /debug/pprof/profile (CPU) and /debug/pprof/allocs instead",
  }).default(0);

/** The `pprof` extension's config schema. */
export const pprofConfigSchema = z.strictObject({
  /** `host:port` to serve the profiling endpoints on. */
  endpoint: hostPort().default(DEFAULT_PPROF_ENDPOINT),
  /** Go's block profile rate; only 0. */
  block_profile_fraction: goOnly("block_profile_fraction"),
  /** Go's mutex profile fraction; only 0. */
  mutex_profile_fraction: goOnly("mutex_profile_fraction"),
  /** When set, a CPU profile of the whole run is written here (`.cpuprofile` JSON) at shutdown. */
  save_to_file: z.string().default(""),
});

/** The `pprof` extension's validated config. */
export type PprofConfig = z.output<typeof pprofConfigSchema>;
