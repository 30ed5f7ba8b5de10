/**
 * Authentication capabilities that extensions offer: a server authenticator checks an incoming
 * request's headers (before its body is read); a client authenticator adds headers to outgoing
 * requests. Components find them with {@linkcode serverAuthenticatorOf} and
 * {@linkcode clientAuthenticatorOf} on the extension named in their `auth.authenticator`.
 *
 * @module
 */
import type { Host } from "../component/host.ts";
import type { ClientInfo } from "../pdata/payload.ts";

/** What a successful authentication established. */
export interface AuthResult {
  /** Facts for `ClientInfo.auth`, e.g. `workspace.id`, `tenant.id`, `key.id`. */
  readonly auth: ReadonlyMap<string, string>;
}

/** Checks incoming requests. */
export interface ServerAuthenticator {
  /**
   * Authenticates by headers (HTTP) or metadata (gRPC), keys in lower case. Rejects with an
   * {@linkcode AuthError} when the credentials are missing or wrong.
   */
  authenticate(headers: ReadonlyMap<string, readonly string[]>): Promise<AuthResult>;
}

/** Adds credentials (or other headers) to outgoing requests. */
export interface ClientAuthenticator {
  /**
   * The headers (or gRPC metadata) to lay on top of a request's own; read per request.
   * `client` is the request context of the data being sent (what the receiver, the batch
   * partition or the sending queue kept of it); authenticators that do not depend on the data
   * ignore it. Absent: data of no client (`NO_CLIENT`).
   */
  headers(client?: ClientInfo): Readonly<Record<string, string>>;
  /**
   * When present, used instead of laying {@linkcode ClientAuthenticator.headers} on top: the
   * complete headers of a request whose own are `base`, for authenticators that also remove or
   * keep existing headers (`headers_setter`'s `delete`, `insert` and `update` actions). Must not
   * change `base`.
   */
  apply?(
    base: Readonly<Record<string, string>>,
    client: ClientInfo,
  ): Readonly<Record<string, string>>;
}

/** Missing or wrong credentials: 401 / UNAUTHENTICATED. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthError";
  }
}

/** The capability names extensions use. */
export const SERVER_AUTH = "serverAuth";
/** The capability names extensions use. */
export const CLIENT_AUTH = "clientAuth";

function capability<T>(host: Host, id: string, name: string, what: string): T {
  const extension = host.getExtension(id);
  if (extension === undefined) {
    throw new Error(`The authenticator "${id}" is not a started extension`);
  }
  const found = extension.capabilities?.[name];
  if (found === undefined) throw new Error(`The extension "${id}" is not a ${what}`);
  return found as T;
}

/** The server authenticator of extension `id`; throws a clear error when there is none. */
export function serverAuthenticatorOf(host: Host, id: string): ServerAuthenticator {
  return capability(host, id, SERVER_AUTH, "server authenticator");
}

/** The client authenticator of extension `id`; throws a clear error when there is none. */
export function clientAuthenticatorOf(host: Host, id: string): ClientAuthenticator {
  return capability(host, id, CLIENT_AUTH, "client authenticator");
}
