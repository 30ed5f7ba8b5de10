/**
 * The resource processor's config: the OpenTelemetry Collector's `attributes` (a list of actions).
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { actionsSchema } from "../../../lib/processing/actions.ts";

/** The resource processor's config schema. */
export const resourceConfigSchema = z.strictObject({
  /** The actions, run in order on the attributes of every resource. */
  attributes: actionsSchema.min(1, { message: "at least one action is required" }),
});

/** The resource processor's validated config. */
export type ResourceConfig = z.output<typeof resourceConfigSchema>;
