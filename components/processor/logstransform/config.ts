/**
 * The logstransform processor's config, as the Collector's: `operators`, the stanza operators
 * of the filelog receiver, run on every log record.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { buildPipeline, operatorConfigSchema } from "../../../lib/stanza/mod.ts";

/** The logstransform processor's config schema. */
export const logstransformConfigSchema = z
  .strictObject({
    /** Stanza operators, in order; none passes records through unchanged. */
    operators: z.array(operatorConfigSchema).default([]),
  })
  .superRefine((c, ctx) => {
    try {
      buildPipeline(c.operators);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        path: ["operators"],
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });

/** The logstransform processor's validated config. */
export type LogstransformConfig = z.output<typeof logstransformConfigSchema>;
