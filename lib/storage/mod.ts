/**
 * The Deno KV store behind the `file_storage` extension: opening a database under an exclusive
 * lock, clients scoped to one component's key prefix, Deno KV's write limits, and the volume's
 * free space and reserve.
 *
 * @module
 */
export {
  createStorageClient,
  type JournalLocation,
  journalName,
  type StorageAtomic,
  type StorageClient,
  type StorageEntry,
  type StorageListOptions,
} from "./client.ts";
export {
  keySize,
  KV_MAX_COMMIT_BYTES,
  KV_MAX_COMMIT_KEY_BYTES,
  KV_MAX_KEY_BYTES,
  KV_MAX_MUTATIONS,
  KV_MAX_VALUE_BYTES,
} from "./limits.ts";
export { getStorageClient, STORAGE_CAPABILITY, type StorageProvider } from "./provider.ts";
export {
  KV_FILE_NAME,
  type KvStore,
  openKvStore,
  type OpenKvStoreOptions,
  StorageOpenError,
} from "./store.ts";
export {
  ByteBudget,
  DEFAULT_RESERVE_MIB,
  isDiskFull,
  RESERVE_FILE_NAME,
  StorageVolume,
  type StorageVolumeOptions,
  volumeFreeBytes,
} from "./volume.ts";
