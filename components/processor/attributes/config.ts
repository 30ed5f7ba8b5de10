/**
 * The attributes processor's config: the OpenTelemetry Collector's `actions`, `include` and
 * `exclude`.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { actionsSchema } from "../../../lib/processing/actions.ts";
import { matchPropertiesSchema } from "../../../lib/processing/match.ts";

/** The attributes processor's config schema. */
export const attributesConfigSchema = z.strictObject({
  /** The actions, run in order on the attributes of every selected span, log record or point. */
  actions: actionsSchema.min(1, { message: "at least one action is required" }),
  /** When given, only items matching these properties are processed. */
  include: matchPropertiesSchema.optional(),
  /** When given, items matching these properties are left alone. */
  exclude: matchPropertiesSchema.optional(),
});

/** The attributes processor's validated config. */
export type AttributesConfig = z.output<typeof attributesConfigSchema>;
