/**
 * The `storage` capability a storage extension offers, and {@linkcode getStorageClient}, which a
 * component calls in `start` to reach it by extension ID with clear errors.
 *
 * @module
 */
import type { Host, Kind } from "../component/host.ts";
import type { StorageClient } from "./client.ts";

/** The capability name under which a storage extension offers a {@linkcode StorageProvider}. */
export const STORAGE_CAPABILITY = "storage";

/** Hands each component a client scoped to its own key prefix. */
export interface StorageProvider {
  /**
   * A client under the prefix `[kind, componentId, name]`. At most one client per prefix is open at
   * a time; throws when the extension is not started or the prefix is taken.
   * @param kind the kind of the component asking
   * @param componentId its ID (`type` or `type/name`)
   * @param name a name within the component, for several stores (a queue per signal, say)
   */
  getClient(kind: Kind, componentId: string, name?: string): StorageClient;
}

function isStorageProvider(value: unknown): value is StorageProvider {
  return typeof value === "object" && value !== null &&
    typeof (value as { getClient?: unknown }).getClient === "function";
}

/**
 * The storage client of a component from the extension `extensionId`.
 * Throws `Cannot use storage "…" for exporter "…": …` when the extension is not defined or offers no
 * storage.
 */
export function getStorageClient(
  host: Host,
  extensionId: string,
  kind: Kind,
  componentId: string,
  name?: string,
): StorageClient {
  const what = `Cannot use storage "${extensionId}" for ${kind} "${componentId}"`;
  const extension = host.getExtension(extensionId);
  if (extension === undefined) {
    throw new Error(`${what}: no such extension is defined and enabled in service.extensions`);
  }
  const provider = extension.capabilities?.[STORAGE_CAPABILITY];
  if (!isStorageProvider(provider)) {
    throw new Error(`${what}: the extension offers no storage`);
  }
  return provider.getClient(kind, componentId, name);
}
