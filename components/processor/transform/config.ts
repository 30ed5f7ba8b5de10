/**
 * The transform processor's config, as the Collector's: `error_mode` (default `propagate`) and
 * `trace_statements`, `metric_statements`, `log_statements`, each a list of statements (context
 * inferred from the path prefixes of the whole list) or of groups with `context`, `conditions`,
 * `statements` and an `error_mode` of their own. Every statement is compiled while the config is
 * validated; an OTTL error is an issue at the offset of the offending character in its string.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { errorModeSchema } from "../../../lib/ottl/error_mode.ts";
import { CONTEXTS } from "../../../lib/ottl/context.ts";
import { compileTransform } from "./_compile.ts";

const groupSchema = z.strictObject({
  /** The context to run in; inferred from path prefixes when omitted. */
  context: z.enum(CONTEXTS as [string, ...string[]], {
    message: `must be one of ${CONTEXTS.join(", ")}`,
  }).optional(),
  /** Conditions ORed together: the statements run on an item when any is true. */
  conditions: z.array(z.string()).default([]),
  statements: z.array(z.string()).min(1, { message: "must not be empty" }),
  /** Overrides the top-level `error_mode` for this group. */
  error_mode: errorModeSchema.optional(),
});

/** One item of a `*_statements` list: a statement, or a group. */
const entrySchema = z.union([z.string(), groupSchema]);

/** The transform processor's config schema. */
export const transformConfigSchema = z
  .strictObject({
    error_mode: errorModeSchema.default("propagate"),
    trace_statements: z.array(entrySchema).default([]),
    metric_statements: z.array(entrySchema).default([]),
    log_statements: z.array(entrySchema).default([]),
  })
  .superRefine((config, ctx) => {
    const r = compileTransform(config);
    if (r.ok) return;
    for (const issue of r.issues) {
      ctx.addIssue({
        code: "custom",
        path: issue.path,
        message: issue.message,
        params: { offset: issue.offset },
      });
    }
  });

/** One group as written. */
export type TransformGroupConfig = z.output<typeof groupSchema>;
/** The transform processor's validated config. */
export type TransformConfig = z.output<typeof transformConfigSchema>;
