/**
 * The `apikeyauth` extension: a server authenticator (`auth: {authenticator: apikeyauth}` on a
 * receiver) that accepts TelemetryFlow API keys. A request carries a key ID and secret in headers
 * (see `_credentials.ts` for which); the key's secret is compared as a SHA-256 digest in constant
 * time, and an unknown key ID costs the same comparison as a wrong secret.
 *
 * A request with a valid key is authenticated with the facts `key.id`, `workspace.id`,
 * `tenant.id` (and `key.name` when the key has one), which processors read as
 * `from_context: auth.tenant.id` and the like. A missing, malformed or wrong key is refused with an
 * `AuthError` whose message never says whether the key ID exists. Secrets are never logged.
 *
 * Keys are read at start: `keys_file` changes take effect on the next start (a reload).
 *
 * @module
 */
import type { Extension, ExtensionFactory, Host } from "../../component.ts";
import {
  AuthError,
  type AuthResult,
  SERVER_AUTH,
  type ServerAuthenticator,
} from "../../../lib/net/auth.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import {
  API_KEY_ID_HEADER,
  API_KEY_SECRET_HEADER,
  type ApikeyauthConfig,
  apikeyauthConfigSchema,
  type ApiKeyConfig,
} from "./config.ts";
import { type CredentialSources, extractCredentials } from "./_credentials.ts";
import { buildKeyTable, checkKey, type KeyRecord, type KeyTable, readKeysFile } from "./_keys.ts";

/** The message of every refused key: it must not tell an unknown ID from a wrong secret. */
const INVALID = "Invalid API key";

function facts(key: KeyRecord): AuthResult {
  const auth = new Map<string, string>([
    ["key.id", key.id],
    ["workspace.id", key.workspaceId],
    ["tenant.id", key.tenantId],
  ]);
  if (key.name !== undefined) auth.set("key.name", key.name);
  return { auth };
}

/** Where credentials are read from, per the config. */
export function credentialSources(config: ApikeyauthConfig): CredentialSources {
  const pairs = [{
    keyId: config.headers.key_id.toLowerCase(),
    keySecret: config.headers.key_secret.toLowerCase(),
  }];
  if (config.accept_api_key_headers) {
    const extra = { keyId: API_KEY_ID_HEADER.toLowerCase(), keySecret: API_KEY_SECRET_HEADER };
    if (extra.keyId !== pairs[0]!.keyId) {
      pairs.push({ keyId: extra.keyId, keySecret: extra.keySecret.toLowerCase() });
    }
  }
  return { pairs, bearer: config.accept_bearer };
}

/** An `apikeyauth` instance. */
export class ApikeyauthExtension implements Extension, ServerAuthenticator {
  readonly #id: string;
  readonly #config: ApikeyauthConfig;
  readonly #logger: Logger;
  readonly #sources: CredentialSources;
  readonly #missing: string;
  #table: KeyTable | undefined;
  #starting: Promise<void> | undefined;
  /** Offers `serverAuth`: this extension as a {@linkcode ServerAuthenticator}. */
  readonly capabilities: Readonly<Record<string, unknown>>;

  /** Creates the extension; keys are loaded by {@linkcode ApikeyauthExtension.start}. */
  constructor(id: string, config: ApikeyauthConfig, logger: Logger) {
    this.#id = id;
    this.#config = config;
    this.#logger = logger;
    this.#sources = credentialSources(config);
    this.#missing = `Missing API key: send the ${config.headers.key_id} and ` +
      `${config.headers.key_secret} headers`;
    this.capabilities = Object.freeze({ [SERVER_AUTH]: this });
  }

  /** Loads the keys; rejects when `keys_file` cannot be used or no key is defined. */
  start(_host: Host): Promise<void> {
    this.#starting ??= this.#load().catch((error) => {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Cannot start extension "${this.#id}": ${message.charAt(0).toLowerCase()}${
          message.slice(1)
        }`,
        { cause: error },
      );
    });
    return this.#starting;
  }

  async #load(): Promise<void> {
    const path = this.#config.keys_file;
    const fromFile: ApiKeyConfig[] = path === undefined ? [] : await readKeysFile(path);
    this.#table = await buildKeyTable(this.#config.keys, fromFile, path);
    this.#logger.info("API keys loaded", {
      keys: this.#table.byId.size,
      ...(path === undefined ? {} : { keys_file: path, from_file: fromFile.length }),
    });
  }

  /** Nothing to release; keys stay loaded so requests in flight still finish. */
  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  /** The number of keys loaded (0 before start). */
  get keyCount(): number {
    return this.#table?.byId.size ?? 0;
  }

  /** Checks the presented key; see the module documentation. */
  async authenticate(headers: ReadonlyMap<string, readonly string[]>): Promise<AuthResult> {
    const table = this.#table;
    if (table === undefined) throw new AuthError("The authenticator is not started");
    const extracted = extractCredentials(headers, this.#sources);
    if (extracted.kind === "missing") throw new AuthError(this.#missing);
    if (extracted.kind === "malformed") throw new AuthError(`${INVALID}: ${extracted.reason}`);
    const key = await checkKey(table, extracted.credentials.id, extracted.credentials.secret);
    if (key === undefined) {
      // An unknown ID is not echoed: a misconfigured client may have put a secret there.
      const known = table.byId.has(extracted.credentials.id);
      this.#logger.debug(
        "Refused an API key",
        known ? { key_id: extracted.credentials.id } : {
          key_id: "(unknown)",
        },
      );
      throw new AuthError(INVALID);
    }
    return facts(key);
  }
}

/** The `apikeyauth` extension factory. */
export const apikeyauthFactory: ExtensionFactory<ApikeyauthConfig> = {
  kind: "extension",
  type: "apikeyauth",
  configSchema: apikeyauthConfigSchema,
  // Receivers in every worker authenticate with it.
  placement: "stateless",
  stability: "alpha",
  create(settings) {
    return new ApikeyauthExtension(settings.id, settings.config, settings.logger);
  },
};
