/**
 * A clear error for a server that cannot bind its address.
 *
 * @module
 */

const REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/EADDRINUSE|address already in use|AddrInUse/i, "address already in use"],
  [/EACCES|permission denied|PermissionDenied/i, "permission denied"],
  [/EADDRNOTAVAIL|cannot assign requested address|AddrNotAvailable/i, "address not available"],
];

/**
 * `Cannot listen on 0.0.0.0:4318: address already in use`, from whatever error the runtime or
 * library gave; the original error is the cause.
 */
export function listenError(endpoint: string, error: unknown): Error {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  const reason = REASONS.find(([pattern]) => pattern.test(text))?.[1] ??
    (error instanceof Error ? error.message : text);
  return new Error(`Cannot listen on ${endpoint}: ${reason}`, { cause: error });
}
