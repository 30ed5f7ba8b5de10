/**
 * Tenant label values for per-tenant self-metrics, bounded: the first `max` distinct tenants get
 * their own label, later ones `_other`; data that names no tenant is `_none`.
 *
 * @module
 */
import type { ClientInfo } from "../pdata/payload.ts";
import { contextValue } from "../processing/actions.ts";

/** The label of data that names no tenant. */
export const NO_TENANT_LABEL = "_none";
/** The label of tenants beyond the bound. */
export const OTHER_TENANT_LABEL = "_other";

/** Maps tenants to label values, at most `max` distinct ones. */
export function tenantLabeler(max: number): (tenant: string) => string {
  const labelled = new Set<string>();
  return (tenant) => {
    if (tenant === "") return NO_TENANT_LABEL;
    if (labelled.has(tenant)) return tenant;
    if (labelled.size >= max) return OTHER_TENANT_LABEL;
    labelled.add(tenant);
    return tenant;
  };
}

/** The tenant `from` names in `client`'s request context, `""` when none. */
export function tenantOf(client: ClientInfo, from: string): string {
  return contextValue(client, from) ?? "";
}
