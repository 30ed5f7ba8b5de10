/**
 * Moved to `lib/log_throttle.ts`; re-exported here so existing imports keep working.
 *
 * @module
 */
export { LOG_INTERVAL_MS, RateLimitedLog } from "../log_throttle.ts";
