/**
 * Config of the `file_storage` extension, with the OpenTelemetry Collector's keys and defaults so
 * configs port over. What each key means for a Deno KV (SQLite) database:
 *
 * - `directory`: where the database (`tfo.kv`, with SQLite's `-wal` and `-shm` files) and its lock
 *   file (`tfo.kv.lock`) live. One database per extension instance; each component gets its own key
 *   prefix in it (the Collector uses one bbolt file per component instead).
 * - `timeout`: how long start waits for another holder of the directory's lock.
 * - `create_directory` / `directory_permissions`: create a missing directory with this mode (before
 *   the umask); otherwise a missing directory fails the start.
 * - `fsync` (default `false`, as the Collector's): whether an acknowledgement of the persistent
 *   sending queue waits for a sync to disk. With `false`, an offered item is written (no sync) to
 *   the queue's own append-only journal (`<directory>/journal/`) and acknowledged; what is still
 *   queued after 5 s (or past a memory bound) is compressed and folded into the database (synced
 *   commits, in order) and a journal segment deleted once nothing in it waits; what was
 *   acknowledged sooner is never written there. The journal's files count in the queue's byte
 *   bound. What was acknowledged survives `kill -9` of tfo (the page cache belongs to the kernel); a
 *   power loss or kernel crash may lose what was acknowledged in the last 5 s or so and not yet
 *   delivered (the Collector's bbolt without `fsync` leaves that to the kernel's writeback). With
 *   `true`, every acknowledgement waits for its Deno KV commit, which SQLite (WAL mode,
 *   `synchronous` FULL; Deno offers no way to change it) syncs before it resolves: it survives
 *   power loss as far as the disk honours syncs, at one sync's latency per request (or group of
 *   concurrent requests). Other users of the storage (file log offsets, the agent identity) always
 *   commit to the database directly.
 * - `compaction.*`: accepted with the Collector's defaults, no effect. The Collector compacts bbolt
 *   files because bbolt never reuses the space of deleted data well and maps the whole file into
 *   memory. SQLite reuses freed pages for later writes, so the file plateaus at its peak size
 *   instead of growing, is not memory-mapped by Deno KV, and Deno KV exposes no `VACUUM`; a
 *   copy-and-rename compaction under a live WAL risks the data it should protect. To reclaim the
 *   disk after a large backlog drained, stop tfo and delete the directory's files once the queue is
 *   empty.
 * - `reserve_mib` (tfo): the size of a reserve file (`tfo.reserve`) written in `directory` at
 *   start and deleted when a write fails with the disk full, so that the queue can still delete
 *   what was delivered; written again once the volume has room. 0 turns it off. See
 *   `lib/storage/volume.ts`.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";
import { DEFAULT_RESERVE_MIB } from "../../../lib/storage/volume.ts";

/** The Collector's default storage directory on Linux and macOS. */
export const DEFAULT_FILE_STORAGE_DIRECTORY = "/var/lib/otelcol/file_storage";

const compactionSchema = z.strictObject({
  /** Compact when the service starts (no effect; see the module documentation). */
  on_start: z.boolean().default(false),
  /** Compact online after a drained backlog (no effect; see the module documentation). */
  on_rebound: z.boolean().default(false),
  /** Where compaction writes its temporary database (no effect). Default: `directory`. */
  directory: z.string().min(1).optional(),
  /** The most bytes per compaction transaction (no effect). */
  max_transaction_size: z.number().int().nonnegative().default(65_536),
  /** Allocated MiB that mark online compaction as needed (no effect). */
  rebound_needed_threshold_mib: z.number().int().nonnegative().default(100),
  /** Used MiB below which a needed online compaction runs (no effect). */
  rebound_trigger_threshold_mib: z.number().int().nonnegative().default(10),
  /** How often online compaction conditions are checked (no effect). */
  check_interval: duration("5s"),
  /** Remove temporary compaction files at start (no effect: tfo makes none). */
  cleanup_on_start: z.boolean().default(false),
});

/** The `file_storage` extension's config schema. */
export const fileStorageConfigSchema = z.strictObject({
  /** The directory holding the database. */
  directory: z.string().min(1).default(DEFAULT_FILE_STORAGE_DIRECTORY),
  /** How long to wait for the directory's lock, in milliseconds (Go duration in YAML). */
  timeout: duration("1s"),
  /** Acknowledge queued data only once synced (else once written to the journal; see module docs). */
  fsync: z.boolean().default(false),
  /** Create `directory` when it is missing. */
  create_directory: z.boolean().default(false),
  /** The octal mode of a created directory, before the umask. */
  directory_permissions: z.string().regex(/^0?[0-7]{3}$/, {
    message: 'must be an octal mode such as "0750"',
  }).default("0750"),
  /** tfo: MiB kept in a reserve file, released when the volume fills (0: none). */
  reserve_mib: z.number().nonnegative().max(1024).default(DEFAULT_RESERVE_MIB),
  /** Compaction settings, accepted with the Collector's defaults (see module docs). */
  compaction: compactionSchema.prefault({}),
});

/** The `file_storage` extension's validated config. */
export type FileStorageConfig = z.output<typeof fileStorageConfigSchema>;
