/**
 * The `file_storage` extension: one Deno KV database per instance in its `directory`, offered to
 * other components as the `storage` capability ({@linkcode StorageProvider}). Each component gets a
 * client scoped to the key prefix `[kind, componentId, name]` — the persistent sending queue uses
 * `("exporter", "otlp/x", "traces")`, say — so components never see each other's keys.
 *
 * Start opens the database under an exclusive lock (a second tfo process, or a second extension,
 * pointed at the same directory fails its start after `timeout`). Shutdown — the service stops
 * extensions last — closes every client, waiting for their writes in flight, then the database.
 * See `config.ts` for what `fsync` and `compaction` mean here, and `reserve_mib`. Without `fsync`
 * each client is offered a journal location under `<directory>/journal/`.
 *
 * @module
 */
import type { Extension, ExtensionFactory, Host, Kind } from "../../component.ts";
import { join } from "node:path";
import {
  createStorageClient,
  journalName,
  type StorageClient,
} from "../../../lib/storage/client.ts";
import { STORAGE_CAPABILITY, type StorageProvider } from "../../../lib/storage/provider.ts";
import { type KvStore, openKvStore } from "../../../lib/storage/store.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { type FileStorageConfig, fileStorageConfigSchema } from "./config.ts";

/** The subdirectory of `directory` holding the persistent queues' journals. */
export const JOURNAL_DIRECTORY = "journal";

/** A `file_storage` instance. */
export class FileStorageExtension implements Extension, StorageProvider {
  readonly #id: string;
  readonly #config: FileStorageConfig;
  readonly #logger: Logger;
  #store: KvStore | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #clients = new Map<string, StorageClient>();
  /** Offers `storage`: this extension as a {@linkcode StorageProvider}. */
  readonly capabilities: Readonly<Record<string, unknown>>;

  /** Creates the extension; nothing is opened before {@linkcode FileStorageExtension.start}. */
  constructor(id: string, config: FileStorageConfig, logger: Logger) {
    this.#id = id;
    this.#config = config;
    this.#logger = logger;
    this.capabilities = Object.freeze({ [STORAGE_CAPABILITY]: this });
  }

  /** Opens the database; rejects with a `StorageOpenError` naming the directory and the cause. */
  start(_host: Host): Promise<void> {
    this.#starting ??= this.#open();
    return this.#starting;
  }

  async #open(): Promise<void> {
    const config = this.#config;
    this.#store = await openKvStore(config.directory, {
      timeoutMs: config.timeout,
      createDirectory: config.create_directory,
      directoryMode: parseInt(config.directory_permissions, 8),
      reserveBytes: Math.round(config.reserve_mib * 1024 * 1024),
      logger: this.#logger,
    });
    const compaction = config.compaction;
    if (compaction.on_start || compaction.on_rebound) {
      this.#logger.info(
        "Compaction settings have no effect: SQLite reuses freed pages, so the database stays at " +
          "its peak size instead of growing",
        { directory: config.directory },
      );
    }
    this.#logger.info("File storage open", { path: this.#store.path });
  }

  /** A client scoped to `[kind, componentId, name]`; see {@linkcode StorageProvider.getClient}. */
  getClient(kind: Kind, componentId: string, name = ""): StorageClient {
    const store = this.#store;
    if (store === undefined || this.#stopping !== undefined) {
      throw new Error(
        `Cannot get a storage client from extension "${this.#id}": it is not running`,
      );
    }
    const prefix = [kind, componentId, name];
    const key = JSON.stringify(prefix);
    if (this.#clients.has(key)) {
      throw new Error(
        `Cannot get a storage client from extension "${this.#id}": ${kind} "${componentId}"` +
          `${name === "" ? "" : ` (${name})`} already holds one`,
      );
    }
    // Without fsync, the persistent queue acknowledges what its journal holds (see config.ts).
    const journal = this.#config.fsync
      ? undefined
      : { directory: join(this.#config.directory, JOURNAL_DIRECTORY), name: journalName(prefix) };
    const client = createStorageClient(
      store.kv,
      prefix,
      () => this.#clients.delete(key),
      store.volume,
      journal,
    );
    this.#clients.set(key, client);
    return client;
  }

  /** Closes every client (after their writes in flight), then the database; safe to call twice. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#close();
    return this.#stopping;
  }

  async #close(): Promise<void> {
    if (this.#starting === undefined) return;
    try {
      await this.#starting;
    } catch {
      return; // never opened
    }
    await Promise.all([...this.#clients.values()].map((client) => client.close()));
    this.#store?.close();
    this.#store = undefined;
  }
}

/** The `file_storage` extension. */
export const fileStorageFactory: ExtensionFactory<FileStorageConfig> = {
  kind: "extension",
  type: "file_storage",
  configSchema: fileStorageConfigSchema,
  stability: "beta",
  create(settings) {
    return new FileStorageExtension(settings.id, settings.config, settings.logger);
  },
};
