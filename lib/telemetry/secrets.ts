/**
 * The one rule for what counts as a secret, shared by config output (`tfo validate`, the component
 * page) and the live tap's attribute masking: keys named like secrets, passwords, tokens, keys,
 * authorization, credentials or cookies.
 *
 * @module
 */

const SECRET_KEY = /secret|passw(or)?d|token|key|authorization|credential|cookie/i;

/** The text shown instead of a secret value. */
export const REDACTED = "[REDACTED]";

/** True for a key whose value must not be shown: `api_key`, `password`, `authorization`… */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}
