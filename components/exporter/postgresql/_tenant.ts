/**
 * Where the `postgresql` exporter takes a row's `workspace_id` and `tenant_id` from: the one place
 * to change when tfo's request tenant context lands.
 *
 * What a server authenticator established for the request (`apikeyauth`'s `workspace.id` and
 * `tenant.id`, in the payload's client info) wins: a client cannot set it. Otherwise the resource
 * attributes `telemetryflow.workspace.id` and `telemetryflow.tenant.id` name them. Neither: NULL.
 *
 * @module
 */
import type { ClientInfo } from "../../../lib/pdata/payload.ts";
import type { KeyValue } from "../../../lib/pdata/types.ts";

/** The resource attribute naming the workspace. */
export const WORKSPACE_ATTRIBUTE = "telemetryflow.workspace.id";
/** The resource attribute naming the tenant. */
export const TENANT_ATTRIBUTE = "telemetryflow.tenant.id";

/** A row's tenancy; `undefined` is stored as NULL. */
export interface Tenancy {
  readonly workspaceId: string | undefined;
  readonly tenantId: string | undefined;
}

function attribute(attributes: readonly KeyValue[], key: string): string | undefined {
  for (let i = attributes.length - 1; i >= 0; i--) {
    const kv = attributes[i]!;
    if (kv.key === key) {
      const v = kv.value;
      if (typeof v === "string") return v === "" ? undefined : v;
      if (typeof v === "bigint" || typeof v === "number") return String(v);
      return undefined;
    }
  }
  return undefined;
}

/** The tenancy of the data of one resource sent by `client`. */
export function tenancyOf(resource: readonly KeyValue[], client: ClientInfo): Tenancy {
  return {
    workspaceId: client.auth.get("workspace.id") ?? attribute(resource, WORKSPACE_ATTRIBUTE),
    tenantId: client.auth.get("tenant.id") ?? attribute(resource, TENANT_ATTRIBUTE),
  };
}
