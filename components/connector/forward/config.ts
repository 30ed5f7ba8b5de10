/**
 * The forward connector has no settings.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";

/** The forward connector's config schema: an empty map. */
export const forwardConfigSchema = z.strictObject({});

/** The forward connector's validated config. */
export type ForwardConfig = z.output<typeof forwardConfigSchema>;
