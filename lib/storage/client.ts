/**
 * {@linkcode StorageClient}: one component's view of a shared Deno KV database, confined to its own
 * key prefix. Keys passed to and returned by the helpers are relative to that prefix; `kv` and
 * `prefix` are there for what the helpers do not cover (raw use is neither scoped nor tracked).
 *
 * The helpers track operations in flight, so {@linkcode StorageClient.close} (and the extension's
 * shutdown, which closes every client before the database) waits for them to finish.
 *
 * @module
 */
import type { StorageVolume } from "./volume.ts";

/** One stored entry, its key relative to the client's prefix. */
export interface StorageEntry<T> {
  readonly key: Deno.KvKey;
  readonly value: T;
}

/** Options of {@linkcode StorageClient.list}. */
export interface StorageListOptions {
  /** The most entries returned. */
  limit?: number;
  /** Newest key first. @default false */
  reverse?: boolean;
  /** Entries read per round trip (at most 1000). @default 100 */
  batchSize?: number;
}

/** Mutations committed together, all or none. */
export interface StorageAtomic {
  /** Stores a value (at most 64 KiB) under a relative key. */
  set(key: Deno.KvKey, value: unknown): StorageAtomic;
  /** Removes a relative key (a no-op when absent). */
  delete(key: Deno.KvKey): StorageAtomic;
  /** Commits every mutation at once; rejects when the database refuses (disk full, limits). */
  commit(): Promise<void>;
}

/**
 * Where a writer of this client may keep a write-ahead journal of its own (the persistent queue
 * does, with `file_storage`'s `fsync: false`): written without a sync, folded into the database.
 */
export interface JournalLocation {
  /** The directory of the journal's files (created when missing). */
  readonly directory: string;
  /** A file name prefix unique to this client in `directory`. */
  readonly name: string;
}

/** A file-name-safe form of a key prefix, unique per prefix. */
export function journalName(prefix: Deno.KvKey): string {
  return prefix.map((part) =>
    String(part).replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)
  ).join("~");
}

/** A component's scoped storage. */
export interface StorageClient {
  /** The whole database (shared; prefer the scoped helpers). */
  readonly kv: Deno.Kv;
  /** The prefix every key of this client lives under. */
  readonly prefix: Deno.KvKey;
  /** The volume the database lives on, when known (free space, reserve, full state). */
  readonly volume?: StorageVolume | undefined;
  /**
   * Where a write-ahead journal may live; absent when every write must be synced before it is
   * acknowledged (`fsync: true`) or the client has no directory.
   */
  readonly journal?: JournalLocation | undefined;
  /** The value at a relative key, or `undefined`. */
  get<T = unknown>(key: Deno.KvKey): Promise<T | undefined>;
  /** Stores a value (at most 64 KiB) under a relative key. */
  set(key: Deno.KvKey, value: unknown): Promise<void>;
  /** Removes a relative key. */
  delete(key: Deno.KvKey): Promise<void>;
  /** Entries under a relative prefix (`[]` for all of this client's), in key order. */
  list<T = unknown>(
    prefix: Deno.KvKey,
    options?: StorageListOptions,
  ): AsyncIterableIterator<StorageEntry<T>>;
  /** Starts an atomic write. */
  atomic(): StorageAtomic;
  /** Waits for operations in flight, then refuses new ones; safe to call twice. */
  close(): Promise<void>;
  /** True once closed. */
  readonly closed: boolean;
}

/**
 * A client over `prefix` of `kv`; `onClose` runs once, after the client closed. `volume` is the
 * database's volume, for writers that handle a full disk; `journal` where a writer may keep a
 * write-ahead journal.
 */
export function createStorageClient(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  onClose?: () => void,
  volume?: StorageVolume,
  journal?: JournalLocation,
): StorageClient {
  return new ScopedClient(kv, prefix, onClose, volume, journal);
}

class ScopedClient implements StorageClient {
  readonly kv: Deno.Kv;
  readonly prefix: Deno.KvKey;
  readonly volume: StorageVolume | undefined;
  readonly journal: JournalLocation | undefined;
  readonly #onClose: (() => void) | undefined;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    kv: Deno.Kv,
    prefix: Deno.KvKey,
    onClose: (() => void) | undefined,
    volume: StorageVolume | undefined,
    journal: JournalLocation | undefined,
  ) {
    this.kv = kv;
    this.volume = volume;
    this.journal = journal;
    this.prefix = Object.freeze([...prefix]);
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #key(key: Deno.KvKey): Deno.KvKey {
    return [...this.prefix, ...key];
  }

  #begin(): void {
    if (this.#closed) {
      throw new Error(`Storage client [${this.prefix.join(", ")}] is closed`);
    }
    this.#inFlight++;
  }

  #end(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) this.#idle?.();
  }

  async #track<T>(work: () => Promise<T>): Promise<T> {
    this.#begin();
    try {
      return await work();
    } finally {
      this.#end();
    }
  }

  get<T>(key: Deno.KvKey): Promise<T | undefined> {
    return this.#track(async () => (await this.kv.get<T>(this.#key(key))).value ?? undefined);
  }

  set(key: Deno.KvKey, value: unknown): Promise<void> {
    return this.#track(async () => void await this.kv.set(this.#key(key), value));
  }

  delete(key: Deno.KvKey): Promise<void> {
    return this.#track(() => this.kv.delete(this.#key(key)));
  }

  async *list<T>(
    prefix: Deno.KvKey,
    options: StorageListOptions = {},
  ): AsyncIterableIterator<StorageEntry<T>> {
    this.#begin();
    try {
      const strip = this.prefix.length;
      const iter = this.kv.list<T>({ prefix: this.#key(prefix) }, options);
      for await (const entry of iter) yield { key: entry.key.slice(strip), value: entry.value };
    } finally {
      this.#end();
    }
  }

  atomic(): StorageAtomic {
    const op = this.kv.atomic();
    const atomic: StorageAtomic = {
      set: (key, value) => {
        op.set(this.#key(key), value);
        return atomic;
      },
      delete: (key) => {
        op.delete(this.#key(key));
        return atomic;
      },
      commit: () =>
        this.#track(async () => {
          const result = await op.commit();
          if (!result.ok) throw new Error("Storage commit failed a check");
        }),
    };
    return atomic;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      if (this.#inFlight > 0) {
        await new Promise<void>((resolve) => this.#idle = resolve);
      }
      this.#onClose?.();
    })();
    return this.#closing;
  }
}
