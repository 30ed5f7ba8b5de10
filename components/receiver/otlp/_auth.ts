/**
 * Authentication in the otlp receiver: the client info of an authenticated request. The
 * authenticator's facts go into `ClientInfo.auth`; with `include_metadata`, the metadata is the
 * request's headers (or gRPC metadata) made safe to pass downstream:
 *
 * - credentials are dropped: `authorization`, `proxy-authorization`, `cookie`, and every key naming
 *   a secret, password, token or API key (`x-telemetryflow-key-secret`, `x-api-key-secret`, …);
 * - the tenant and workspace are the authenticated ones: keys that name a tenant or workspace
 *   (`x-tenant-id`, `x-telemetryflow-tenant-id`, `tenant-id`, `x-scope-orgid`, `x-workspace-id`,
 *   …) are overwritten with `auth.tenant.id` / `auth.workspace.id`, and `x-tenant-id` and
 *   `x-workspace-id` are set even when the client did not send them, so that
 *   `from_context: x-tenant-id` reads the same tenant as `from_context: auth.tenant.id`. When
 *   the authenticator established no tenant (or workspace), the client's claims of one are
 *   dropped rather than passed on.
 *
 * @module
 */
import type { ClientInfo } from "../../../lib/pdata/payload.ts";

/** Metadata keys never passed downstream from an authenticated request. */
const CREDENTIAL_KEY =
  /^(authorization|proxy-authorization|cookie)$|secret|passw(or)?d|token|(^|-)api-key$/;
/** Metadata keys naming the tenant. */
const TENANT_KEY = /^((x-)?(telemetryflow-)?tenant(-id)?|x-scope-orgid)$/;
/** Metadata keys naming the workspace. */
const WORKSPACE_KEY = /^(x-)?(telemetryflow-)?workspace(-id)?$/;

/**
 * The client info of a request the authenticator accepted. `headers` are the request's headers or
 * metadata, keys in lower case; they become the metadata only when `includeMetadata` is true.
 */
export function authenticatedClient(
  headers: ReadonlyMap<string, readonly string[]>,
  auth: ReadonlyMap<string, string>,
  includeMetadata: boolean,
  address: string,
): ClientInfo {
  if (!includeMetadata) return { metadata: new Map(), auth, address };
  const tenant = auth.get("tenant.id");
  const workspace = auth.get("workspace.id");
  const metadata = new Map<string, readonly string[]>();
  for (const [key, values] of headers) {
    if (CREDENTIAL_KEY.test(key)) continue;
    if (TENANT_KEY.test(key)) {
      if (tenant !== undefined) metadata.set(key, [tenant]);
      continue;
    }
    if (WORKSPACE_KEY.test(key)) {
      if (workspace !== undefined) metadata.set(key, [workspace]);
      continue;
    }
    metadata.set(key, values);
  }
  if (tenant !== undefined) metadata.set("x-tenant-id", [tenant]);
  if (workspace !== undefined) metadata.set("x-workspace-id", [workspace]);
  return { metadata, auth, address };
}
