/**
 * Config of the `apikeyauth` extension: the API keys a receiver accepts, each mapped to its
 * TelemetryFlow workspace and tenant, and the headers the key is read from.
 *
 * Keys come from `keys` (secrets usually as `${env:…}`), from `keys_file`, or both; an ID may be
 * defined once only. A key gives its secret in plain text (`secret`) or as the lowercase or
 * uppercase hex SHA-256 digest of the secret (`secret_sha256`), so that a keys file need hold no
 * plaintext. Secrets are random tokens (`tfs_…`), not passwords: an unsalted digest is enough.
 *
 * ```yaml
 * extensions:
 *   apikeyauth:
 *     keys:
 *       - id: tfk_agent_a
 *         secret: ${env:TFK_AGENT_A_SECRET}
 *         workspace_id: ws-1
 *         tenant_id: acme
 *     keys_file: /etc/tfo/keys.yaml   # a YAML or JSON list of the same entries
 * ```
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";

/** The TelemetryFlow platform's OTLP headers, the default. */
export const DEFAULT_KEY_ID_HEADER = "X-TelemetryFlow-Key-ID";
/** The TelemetryFlow platform's OTLP headers, the default. */
export const DEFAULT_KEY_SECRET_HEADER = "X-TelemetryFlow-Key-Secret";
/** The TelemetryFlow platform's REST API headers, accepted with `accept_api_key_headers`. */
export const API_KEY_ID_HEADER = "X-API-Key-ID";
/** The TelemetryFlow platform's REST API headers, accepted with `accept_api_key_headers`. */
export const API_KEY_SECRET_HEADER = "X-API-Key-Secret";

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
  message: "must be an HTTP header name",
});

/** One API key; the same shape in `keys` and in `keys_file`. */
export const apiKeySchema = z
  .strictObject({
    /** The key ID the client sends (`tfk_…`). */
    id: z.string().min(1),
    /** The secret in plain text (`tfs_…`); exactly one of `secret` and `secret_sha256`. */
    secret: z.string().min(1, { message: "must not be empty" }).optional(),
    /** The hex SHA-256 digest of the secret's UTF-8 bytes. */
    secret_sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, {
      message: "must be 64 hex digits (a SHA-256 digest)",
    }).optional(),
    /** The workspace the key belongs to; becomes `auth.workspace.id`. */
    workspace_id: z.string().min(1),
    /** The tenant the key belongs to; becomes `auth.tenant.id`. */
    tenant_id: z.string().min(1),
    /** A label for people; becomes `auth.key.name`. */
    name: z.string().min(1).optional(),
  })
  .superRefine((k, ctx) => {
    if ((k.secret === undefined) === (k.secret_sha256 === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["secret"],
        message: "exactly one of secret and secret_sha256 is required",
      });
    }
  });

/** One validated API key entry. */
export type ApiKeyConfig = z.output<typeof apiKeySchema>;

/** Rejects the same ID twice in one list. */
function uniqueIds(keys: readonly ApiKeyConfig[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  keys.forEach((k, i) => {
    if (seen.has(k.id)) {
      ctx.addIssue({
        code: "custom",
        path: [i, "id"],
        message: `key ID "${k.id}" is defined more than once`,
      });
    }
    seen.add(k.id);
  });
}

/** A list of API keys, IDs unique: the content of a `keys_file`. */
export const apiKeyListSchema = z.array(apiKeySchema).superRefine(uniqueIds);

/** The `apikeyauth` extension's config schema. */
export const apikeyauthConfigSchema = z
  .strictObject({
    /** Keys defined inline. */
    keys: apiKeyListSchema.default([]),
    /** A YAML or JSON file holding a list of keys, read at start. */
    keys_file: z.string().min(1).optional(),
    /** The headers the key ID and secret are read from, first. */
    headers: z
      .strictObject({
        key_id: headerName.default(DEFAULT_KEY_ID_HEADER),
        key_secret: headerName.default(DEFAULT_KEY_SECRET_HEADER),
      })
      .prefault({}),
    /** Also accept `X-API-Key-ID` / `X-API-Key-Secret` (the platform's REST API headers). */
    accept_api_key_headers: z.boolean().default(true),
    /** Also accept `Authorization: Bearer <key id>:<secret>`. */
    accept_bearer: z.boolean().default(true),
  })
  .superRefine((c, ctx) => {
    if (c.keys.length === 0 && c.keys_file === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["keys"],
        message: "must list at least one key unless keys_file is set",
      });
    }
  });

/** The `apikeyauth` extension's validated config. */
export type ApikeyauthConfig = z.output<typeof apikeyauthConfigSchema>;
