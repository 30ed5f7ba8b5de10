/**
 * Where the `apikeyauth` extension finds the presented key: the configured header pair (by default
 * `X-TelemetryFlow-Key-ID` / `X-TelemetryFlow-Key-Secret`), then `X-API-Key-ID` /
 * `X-API-Key-Secret`, then `Authorization: Bearer <key id>:<secret>`. The first source whose key
 * ID header (or `Authorization` header) is present is the one used.
 *
 * @module
 */

/** A presented key ID and secret. */
export interface Credentials {
  readonly id: string;
  readonly secret: string;
}

/** One header pair to look at, names in lower case. */
export interface HeaderPair {
  readonly keyId: string;
  readonly keySecret: string;
}

/** What {@linkcode extractCredentials} looks at. */
export interface CredentialSources {
  /** Header pairs, in order of preference. */
  readonly pairs: readonly HeaderPair[];
  /** Whether `Authorization: Bearer <id>:<secret>` is accepted. */
  readonly bearer: boolean;
}

/** The outcome: credentials, none presented, or presented but malformed. */
export type Extracted =
  | { readonly kind: "found"; readonly credentials: Credentials }
  | { readonly kind: "missing" }
  | { readonly kind: "malformed"; readonly reason: string };

function single(
  headers: ReadonlyMap<string, readonly string[]>,
  name: string,
): string | undefined | null {
  const values = headers.get(name);
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) return null;
  return values[0]!.trim();
}

const BEARER = /^bearer\s+(.+)$/i;

/** Finds the presented key in request headers (or gRPC metadata), keys in lower case. */
export function extractCredentials(
  headers: ReadonlyMap<string, readonly string[]>,
  sources: CredentialSources,
): Extracted {
  for (const pair of sources.pairs) {
    const id = single(headers, pair.keyId);
    if (id === undefined) continue;
    const secret = single(headers, pair.keySecret);
    if (id === null || secret === null) {
      return { kind: "malformed", reason: "the key headers must be sent once" };
    }
    if (id === "" || secret === undefined || secret === "") {
      return { kind: "malformed", reason: `${pair.keyId} and ${pair.keySecret} are both required` };
    }
    return { kind: "found", credentials: { id, secret } };
  }
  if (sources.bearer) {
    const authorization = single(headers, "authorization");
    if (authorization === null) {
      return { kind: "malformed", reason: "the Authorization header must be sent once" };
    }
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1]?.trim();
      const colon = token?.indexOf(":") ?? -1;
      if (token === undefined || colon <= 0 || colon === token.length - 1) {
        return {
          kind: "malformed",
          reason: 'the Authorization header must be "Bearer <key id>:<secret>"',
        };
      }
      return {
        kind: "found",
        credentials: { id: token.slice(0, colon), secret: token.slice(colon + 1) },
      };
    }
  }
  return { kind: "missing" };
}
