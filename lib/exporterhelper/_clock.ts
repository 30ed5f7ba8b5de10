/**
 * Moved to `lib/clock.ts`; re-exported here so existing imports keep working.
 *
 * @module
 */
export { type Clock, sleep, SYSTEM_CLOCK } from "../clock.ts";
