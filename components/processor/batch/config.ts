/**
 * The batch processor's config: the OpenTelemetry Collector's keys and defaults.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";

/** The batch processor's config schema. */
export const batchConfigSchema = z
  .strictObject({
    /** Items that trigger sending a batch, regardless of the timeout. */
    send_batch_size: z.number().int().nonnegative().default(8192),
    /** The most items in one sent batch; 0 means no limit. Larger batches are split. */
    send_batch_max_size: z.number().int().nonnegative().default(0),
    /** How long a partial batch waits before it is sent anyway; 0 sends at once. */
    timeout: duration("200ms"),
    /** Client metadata keys whose values partition batches (one batcher per combination). */
    metadata_keys: z.array(z.string().min(1)).default([]),
    /** The most distinct combinations of metadata values. */
    metadata_cardinality_limit: z.number().int().nonnegative().default(1000),
  })
  .superRefine((c, ctx) => {
    if (c.send_batch_max_size > 0 && c.send_batch_max_size < c.send_batch_size) {
      ctx.addIssue({
        code: "custom",
        path: ["send_batch_max_size"],
        message: "must be 0 or at least send_batch_size",
      });
    }
  });

/** The batch processor's validated config. */
export type BatchConfig = z.output<typeof batchConfigSchema>;
