/**
 * {@linkcode openKvStore}: one Deno KV database in a directory, guarded by an exclusive lock so
 * that a second process (or a second extension in this one) pointed at the same directory fails
 * clearly instead of sharing the database. SQLite itself would let both open it, and two persistent
 * queues working on the same keys would hand the same data out twice.
 *
 * The lock is an advisory `flock` on `<file>.lock`, released by the kernel when the process dies,
 * so a `kill -9` never leaves a stale lock behind. The lock file holds the owner's PID, for the
 * error message only.
 *
 * @module
 */
import { join } from "node:path";
import type { Logger } from "../telemetry/logger.ts";
import { StorageVolume } from "./volume.ts";

/** The database file name inside the storage directory. */
export const KV_FILE_NAME = "tfo.kv";

/** Options of {@linkcode openKvStore}. */
export interface OpenKvStoreOptions {
  /** How long to wait for another holder to release the lock, in milliseconds. @default 1000 */
  timeoutMs?: number;
  /** Create the directory (and its parents) when missing. @default false */
  createDirectory?: boolean;
  /** The mode of a created directory, before the umask. @default 0o750 */
  directoryMode?: number;
  /** The database file name inside the directory. @default "tfo.kv" */
  fileName?: string;
  /**
   * Bytes kept free in a reserve file, released when the volume fills so that deletes can run
   * (see `volume.ts`). @default 0
   */
  reserveBytes?: number;
  /** Where the volume reports filling up and recovering. */
  logger?: Logger;
}

/** An open database and the lock that makes it this process's own. */
export interface KvStore {
  /** The database. */
  readonly kv: Deno.Kv;
  /** The database file's path. */
  readonly path: string;
  /** The directory's volume: its free space, reserve and full state. */
  readonly volume: StorageVolume;
  /** Closes the database and releases the lock; safe to call twice. */
  close(): void;
}

const LOCK_POLL_MS = 25;

/** Why a storage directory could not be opened. */
export class StorageOpenError extends Error {
  /** @param message what failed, in the project's message style */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageOpenError";
  }
}

async function ensureDirectory(directory: string, create: boolean, mode: number): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(directory);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new StorageOpenError(`Cannot open storage directory "${directory}": ${error}`, {
        cause: error,
      });
    }
    if (!create) {
      throw new StorageOpenError(
        `Cannot open storage directory "${directory}": it does not exist ` +
          "(create it, or set create_directory: true)",
        { cause: error },
      );
    }
    await Deno.mkdir(directory, { recursive: true, mode });
    return;
  }
  if (!info.isDirectory) {
    throw new StorageOpenError(`Cannot open storage directory "${directory}": not a directory`);
  }
}

async function acquireLock(lockPath: string, directory: string, timeoutMs: number) {
  const file = await Deno.open(lockPath, { read: true, write: true, create: true });
  try {
    const deadline = performance.now() + timeoutMs;
    while (!(await file.tryLock(true))) {
      if (performance.now() >= deadline) {
        const owner = await readOwner(lockPath);
        throw new StorageOpenError(
          `Cannot open storage directory "${directory}": it is locked by another ` +
            `${owner === undefined ? "process" : `process (PID ${owner})`} or extension ` +
            `(waited ${timeoutMs}ms; lock file ${lockPath})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    return file;
  } catch (error) {
    file.close();
    throw error;
  }
}

async function readOwner(lockPath: string): Promise<string | undefined> {
  try {
    const text = (await Deno.readTextFile(lockPath)).trim();
    return /^\d+$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens (creating if needed) the Deno KV database in `directory`, after taking its lock.
 * Rejects with a {@linkcode StorageOpenError} when the directory is missing (and may not be
 * created), is not a directory, is locked past the timeout, or the database cannot be opened.
 */
export async function openKvStore(
  directory: string,
  options: OpenKvStoreOptions = {},
): Promise<KvStore> {
  const fileName = options.fileName ?? KV_FILE_NAME;
  await ensureDirectory(
    directory,
    options.createDirectory ?? false,
    options.directoryMode ?? 0o750,
  );
  const path = join(directory, fileName);
  const lock = await acquireLock(`${path}.lock`, directory, options.timeoutMs ?? 1000);
  let kv: Deno.Kv;
  const volume = new StorageVolume(directory, {
    reserveBytes: options.reserveBytes ?? 0,
    databaseFile: fileName,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  try {
    await volume.open();
    kv = await Deno.openKv(path);
  } catch (error) {
    lock.close();
    throw new StorageOpenError(`Cannot open the storage database "${path}": ${error}`, {
      cause: error,
    });
  }
  let closed = false;
  return {
    kv,
    path,
    volume,
    close() {
      if (closed) return;
      closed = true;
      try {
        kv.close();
      } finally {
        lock.close(); // closing the descriptor releases the flock
      }
    },
  };
}
