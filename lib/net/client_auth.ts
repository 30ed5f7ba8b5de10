/**
 * Client authentication for the OTLP exporters (`otlp` and `otlphttp`): the `auth` config key,
 * the authenticator it names resolved at start, and its headers merged into every request.
 *
 * As in the OpenTelemetry Collector, the authenticator's headers are added last: one of them
 * replaces a static `headers` entry of the same name (compared case-insensitively). They are read
 * per request, so credentials the authenticator rotates take effect on the next request.
 *
 * @module
 */
import { z } from "../config/z.js";
import type { Host } from "../component/host.ts";
import { type ClientAuthenticator, clientAuthenticatorOf } from "./auth.ts";
import { ConsumerError, retryableError } from "../consumer/consumer.ts";
import { type ClientInfo, NO_CLIENT } from "../pdata/payload.ts";

/** `auth: {authenticator: <extension id>}`. */
export const clientAuthSchema = z.strictObject({
  /** The ID of an extension that is a client authenticator. */
  authenticator: z.string().min(1),
});

/** A validated `auth` key. */
export type ClientAuthConfig = z.output<typeof clientAuthSchema>;

/**
 * The client authenticator `auth` names; undefined without `auth`.
 *
 * @throws {Error} `Cannot use auth.authenticator "x": …` when it is not a started client
 * authenticator.
 */
export function resolveClientAuth(
  host: Host,
  auth: ClientAuthConfig | undefined,
): ClientAuthenticator | undefined {
  if (auth === undefined) return undefined;
  try {
    return clientAuthenticatorOf(host, auth.authenticator);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot use auth.authenticator "${auth.authenticator}": ${message.charAt(0).toLowerCase()}${
        message.slice(1)
      }`,
      { cause: error },
    );
  }
}

/**
 * `base` with the authenticator's current headers for data from `client` laid on top (or, for an
 * authenticator with `apply`, the headers it makes of `base`); `base` itself when there is no
 * authenticator. A failing authenticator is a retryable error (credentials may come later) unless
 * it threw a {@linkcode ConsumerError}, whose kind is kept (a request context that can never give
 * a header is permanent).
 */
export function withAuthHeaders(
  base: Readonly<Record<string, string>>,
  authenticator: ClientAuthenticator | undefined,
  context: string,
  client: ClientInfo = NO_CLIENT,
): Readonly<Record<string, string>> {
  if (authenticator === undefined) return base;
  let extra: Readonly<Record<string, string>>;
  try {
    if (authenticator.apply !== undefined) return authenticator.apply(base, client);
    extra = authenticator.headers(client);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const full = `${context}: the client authenticator failed: ${message}`;
    if (error instanceof ConsumerError) {
      throw new ConsumerError(full, error.permanent, { cause: error });
    }
    throw retryableError(full, { cause: error });
  }
  const names = Object.keys(extra);
  if (names.length === 0) return base;
  const replaced = new Set(names.map((n) => n.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (!replaced.has(name.toLowerCase())) out[name] = value;
  }
  return Object.assign(out, extra);
}
