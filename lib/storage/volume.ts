/**
 * {@linkcode StorageVolume}: what a storage directory's filesystem has room for, and the reserve
 * that keeps a full volume recoverable.
 *
 * SQLite (under Deno KV) needs free space to delete: a delete appends pages to the write-ahead log,
 * and folding the log back into the database may grow the database file. On a volume filled to the
 * last byte every write fails with `database or disk is full`, deletes included, so a persistent
 * queue can neither accept nor acknowledge (measured on Deno 2.9.6 on a 4 MiB tmpfs: the log stood
 * at 4 MiB, the database at 24 KiB, and no delete went through). The database connection stays
 * usable: once space returns, the same writes succeed.
 *
 * So the volume keeps a reserve: a file (`tfo.reserve`) of `reserveBytes` incompressible bytes,
 * written when the store opens. The first write that fails with the disk full
 * ({@linkcode isDiskFull}) marks the volume full ({@linkcode StorageVolume.reportFull}) and deletes
 * the reserve, so that deletes and a checkpoint can run; writers refuse new data while the volume
 * is full. {@linkcode StorageVolume.probe} writes the reserve again once the volume has room for it
 * and a commit besides, and only then clears the full mark.
 *
 * {@linkcode StorageVolume.budget} is the default byte bound of the persistent queues in this
 * database, one budget they share: half of what the volume offered at the first call (free space
 * plus the database's own files), less a write-ahead log's worth.
 *
 * Free space comes from `statfs(2)` through `node:fs` (`Deno` itself has no `statfs`); where that
 * is unavailable the volume cannot tell, and {@linkcode StorageVolume.freeBytes} is `undefined`.
 *
 * @module
 */
import { statfsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../telemetry/logger.ts";

const MIB = 1024 * 1024;

/** The reserve file's name inside the storage directory. */
export const RESERVE_FILE_NAME = "tfo.reserve";

/** The reserve's default size in the `file_storage` extension, in MiB. */
export const DEFAULT_RESERVE_MIB = 8;

/**
 * Room needed beyond the reserve before the volume counts as no longer full: more than one commit
 * (Deno KV commits at most 800 KiB).
 */
export const HEADROOM_BYTES = 1 * MIB;

/**
 * What SQLite's write-ahead log may take beside the data: it is folded back every 1000 pages
 * (4 MiB) and keeps that size afterwards, plus one commit.
 */
export const WAL_ALLOWANCE_BYTES = 5 * MIB;

/** The share of the volume a derived budget takes. */
export const BUDGET_FRACTION = 0.5;

/** The smallest derived budget: below it a queue would refuse nearly everything. */
export const MIN_BUDGET_BYTES = 1 * MIB;

/**
 * True when a storage error says the volume (or a quota) is full: SQLite's `SQLITE_FULL`
 * (`database or disk is full`), `ENOSPC`, `EDQUOT`. SQLite's `disk I/O error` counts too: it is
 * what some writes report for `ENOSPC`, and treating a real I/O error as a full volume only makes
 * the writer refuse and probe for a while.
 */
export function isDiskFull(error: unknown): boolean {
  const text = error instanceof Error
    ? `${error.message} ${(error as { code?: unknown }).code ?? ""}`
    : String(error);
  return /database or disk is full|disk I\/O error|no space left|ENOSPC|EDQUOT|quota exceeded/i
    .test(text);
}

/** A byte bound shared by several writers: each adds what it stores and removes what it deletes. */
export class ByteBudget {
  /** The most bytes held together. */
  readonly limit: number;
  #used = 0;

  /** @param limit the most bytes held together */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** The bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Whether `bytes` more fit. */
  fits(bytes: number): boolean {
    return this.#used + bytes <= this.limit;
  }

  /** Counts `bytes` more held (negative: fewer). */
  add(bytes: number): void {
    this.#used = Math.max(0, this.#used + bytes);
  }
}

/** Options of {@linkcode StorageVolume}. */
export interface StorageVolumeOptions {
  /** The reserve's size in bytes (0: none). @default 0 */
  reserveBytes?: number;
  /** The database file's name, counted as room in the derived budget. @default "tfo.kv" */
  databaseFile?: string;
  /** Where releasing and restoring the reserve, and the budget, are reported. */
  logger?: Logger;
  /** The free bytes of the volume (a test's stand-in for `statfs`). */
  freeBytes?: () => number | undefined;
}

/** The free bytes an unprivileged writer may use on the volume of `path`, if `statfs` works. */
export function volumeFreeBytes(path: string): number | undefined {
  try {
    const stats = statfsSync(path);
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined;
  }
}

/** The volume of one storage directory, shared by every writer of its database. */
export class StorageVolume {
  /** The storage directory. */
  readonly directory: string;
  /** The reserve's size in bytes (0: none). */
  readonly reserveBytes: number;
  readonly #reservePath: string;
  readonly #databaseFile: string;
  readonly #logger: Logger | undefined;
  readonly #free: () => number | undefined;
  #held = false;
  #full = false;
  #probing: Promise<boolean> | undefined;
  #budget: ByteBudget | undefined;

  /** Makes the volume of `directory`; {@linkcode StorageVolume.open} writes the reserve. */
  constructor(directory: string, options: StorageVolumeOptions = {}) {
    const reserve = options.reserveBytes ?? 0;
    if (!(reserve >= 0)) throw new RangeError("Storage reserve must not be negative");
    this.directory = directory;
    this.reserveBytes = Math.round(reserve);
    this.#reservePath = join(directory, RESERVE_FILE_NAME);
    this.#databaseFile = options.databaseFile ?? "tfo.kv";
    this.#logger = options.logger;
    this.#free = options.freeBytes ?? (() => volumeFreeBytes(directory));
  }

  /** The free bytes of the volume now, or `undefined` when they cannot be known. */
  freeBytes(): number | undefined {
    return this.#free();
  }

  /** True while the reserve file is in place. */
  get reserveHeld(): boolean {
    return this.#held;
  }

  /** True from a write failing with the disk full until the volume has room again. */
  get full(): boolean {
    return this.#full;
  }

  /**
   * Writes the reserve (keeping one of the right size left by an earlier run). When it does not
   * fit, the volume runs without it (the database may still have room inside its file) and
   * {@linkcode StorageVolume.probe} writes it once there is room.
   */
  async open(): Promise<void> {
    if (this.reserveBytes === 0) {
      await this.#removeReserve();
      return;
    }
    try {
      const info = await Deno.stat(this.#reservePath);
      if (info.isFile && info.size === this.reserveBytes) {
        this.#held = true;
        return;
      }
    } catch {
      // absent: written below
    }
    if (!await this.#writeReserve()) {
      this.#logger?.warn(
        "Cannot write the storage reserve: the volume is nearly full; running without it until " +
          "there is room (a full volume may then block deletes until space is freed)",
        { directory: this.directory, reserve_bytes: this.reserveBytes },
      );
    }
  }

  /**
   * Marks the volume full and deletes the reserve, so that deletes can run. Called by a writer
   * whose write failed with {@linkcode isDiskFull}; idempotent.
   */
  reportFull(): void {
    const first = !this.#full;
    this.#full = true;
    if (!this.#held) {
      if (first) this.#logger?.warn("Storage volume full", { directory: this.directory });
      return;
    }
    this.#held = false;
    try {
      Deno.removeSync(this.#reservePath);
    } catch {
      // gone already
    }
    this.#logger?.warn("Storage volume full: released the reserve so that deletes can run", {
      directory: this.directory,
      reserve_bytes: this.reserveBytes,
    });
  }

  /**
   * Checks for room: when the reserve is missing and the volume has room for it and
   * {@linkcode HEADROOM_BYTES} besides, writes it again and clears the full mark. Resolves to
   * whether the volume is usable (not full). Concurrent calls share one check.
   */
  probe(): Promise<boolean> {
    this.#probing ??= this.#probe().finally(() => this.#probing = undefined);
    return this.#probing;
  }

  async #probe(): Promise<boolean> {
    if (this.#held || (this.reserveBytes === 0 && !this.#full)) return !this.#full;
    const free = this.freeBytes();
    if (free === undefined) {
      // Nothing tells when space returns: try the reserve, and let the writers try again.
      if (this.reserveBytes > 0) await this.#writeReserve();
      if (this.#full) this.#logger?.info("Storage volume may have room again", this.#fields());
      this.#full = false;
      return true;
    }
    if (free < this.reserveBytes + HEADROOM_BYTES) return false;
    if (this.reserveBytes > 0 && !await this.#writeReserve()) return false;
    if (this.#full) {
      this.#logger?.info("Storage volume has room again", { ...this.#fields(), free_bytes: free });
    }
    this.#full = false;
    return true;
  }

  /**
   * Clears the full mark without the reserve: a writer found room inside the database (it freed
   * pages by deleting). {@linkcode StorageVolume.probe} still writes the reserve when it can.
   */
  resume(): void {
    if (!this.#full) return;
    this.#full = false;
    this.#logger?.info("Writing to the storage again without its reserve", this.#fields());
  }

  /**
   * The budget shared by the writers that take the default bound, sized at the first call: half
   * of the volume's free bytes and the database's files, less {@linkcode WAL_ALLOWANCE_BYTES}, at
   * least {@linkcode MIN_BUDGET_BYTES}; `undefined` when free space cannot be known.
   */
  budget(): ByteBudget | undefined {
    if (this.#budget !== undefined) return this.#budget;
    const free = this.freeBytes();
    if (free === undefined) return undefined;
    let files = 0;
    for (const suffix of ["", "-wal"]) {
      try {
        files += Deno.statSync(join(this.directory, this.#databaseFile + suffix)).size;
      } catch {
        // not there yet
      }
    }
    const limit = Math.max(
      MIN_BUDGET_BYTES,
      Math.floor((free + files - WAL_ALLOWANCE_BYTES) * BUDGET_FRACTION),
    );
    this.#budget = new ByteBudget(limit);
    return this.#budget;
  }

  #fields(): Record<string, unknown> {
    return { directory: this.directory, reserve_bytes: this.reserveBytes };
  }

  /** Writes the reserve file whole, or removes what it wrote and returns false. */
  async #writeReserve(): Promise<boolean> {
    let file: Deno.FsFile | undefined;
    try {
      file = await Deno.open(this.#reservePath, { write: true, create: true, truncate: true });
      // Random bytes: a compressing or deduplicating filesystem would not allocate zeros.
      const block = new Uint8Array(Math.min(MIB, this.reserveBytes));
      for (let at = 0; at < block.length; at += 65_536) {
        crypto.getRandomValues(block.subarray(at, Math.min(at + 65_536, block.length)));
      }
      let left = this.reserveBytes;
      while (left > 0) {
        const part = left >= block.length ? block : block.subarray(0, left);
        let written = 0;
        while (written < part.length) written += await file.write(part.subarray(written));
        left -= part.length;
      }
      await file.syncData();
      file.close();
      file = undefined;
      this.#held = true;
      return true;
    } catch {
      file?.close();
      await this.#removeReserve();
      return false;
    }
  }

  async #removeReserve(): Promise<void> {
    this.#held = false;
    try {
      await Deno.remove(this.#reservePath);
    } catch {
      // absent
    }
  }
}
