/**
 * Moved to `lib/net/client_auth.ts`; re-exported here so existing imports keep working.
 *
 * @module
 */
export * from "../../../lib/net/client_auth.ts";
