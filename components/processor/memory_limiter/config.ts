/**
 * The `memory_limiter` processor's config: the OpenTelemetry Collector's keys, defaults and checks
 * (`internal/memorylimiter/config.go`). Either `limit_mib` or `limit_percentage` must be set;
 * `limit_mib` wins when both are. A spike limit of 0 means 20% of the limit.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";

const mib = () => z.number().int().nonnegative().default(0);
const percent = () => z.number().int().min(0).max(100).default(0);

/** The `memory_limiter` processor's config schema. */
export const memoryLimiterConfigSchema = z
  .strictObject({
    /** How often memory is measured; required, greater than zero (`1s` is typical). */
    check_interval: duration(),
    /** The hard limit in MiB of resident memory (RSS). */
    limit_mib: mib(),
    /** Headroom below the hard limit in MiB: the soft limit is `limit_mib - spike_limit_mib`. */
    spike_limit_mib: mib(),
    /** The hard limit as a percentage of total memory (the cgroup limit when there is one). */
    limit_percentage: percent(),
    /** The headroom as a percentage of total memory. */
    spike_limit_percentage: percent(),
    /** The least time between garbage collections forced above the soft limit. */
    min_gc_interval_when_soft_limited: duration("10s"),
    /** The least time between garbage collections forced above the hard limit. */
    min_gc_interval_when_hard_limited: duration("0s"),
  })
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if (c.check_interval <= 0) issue("check_interval", "must be greater than zero");
    if (c.min_gc_interval_when_soft_limited < c.min_gc_interval_when_hard_limited) {
      issue(
        "min_gc_interval_when_soft_limited",
        "must be at least min_gc_interval_when_hard_limited",
      );
    }
    if (c.limit_mib === 0 && c.limit_percentage === 0) {
      issue("limit_mib", "limit_mib or limit_percentage must be greater than zero");
    }
    if (c.limit_mib > 0 && c.spike_limit_mib >= c.limit_mib) {
      issue("spike_limit_mib", "must be smaller than limit_mib");
    }
    if (c.limit_percentage > 0 && c.spike_limit_percentage >= c.limit_percentage) {
      issue("spike_limit_percentage", "must be smaller than limit_percentage");
    }
  });

/** The `memory_limiter` processor's validated config. */
export type MemoryLimiterConfig = z.output<typeof memoryLimiterConfigSchema>;
