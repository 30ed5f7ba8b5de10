/**
 * One output file of the `file` exporter: records written straight to the file (no user-space
 * buffer, so an acknowledged record is in the operating system's hands), synced to disk every
 * `flush_interval`, and rotated by size the way the Collector's rotating writer (timberjack) does:
 * before a record that would take the file over `max_megabytes`, the file is renamed to
 * `<name>-<2006-01-02T15-04-05.000>-size<ext>` (UTC unless `localtime`) and a new one is started;
 * then backups beyond `max_backups` (newest kept) and older than `max_days` are removed. With
 * rotation an existing file is appended to; without it, it is truncated unless `append`.
 *
 * A write that fails (full disk, read-only file system, a removed directory) rejects, after
 * truncating the file back to where the record started so that a retry never leaves half a
 * record behind. The file is reopened on the next write.
 *
 * @module
 */
import { basename, dirname, extname, join } from "node:path";

/** Rotation settings, as in the config. */
export interface RotationSettings {
  readonly max_megabytes: number;
  readonly max_days: number;
  readonly max_backups: number;
  readonly localtime: boolean;
}

/** Options of {@linkcode FileWriter}. */
export interface FileWriterOptions {
  readonly append: boolean;
  readonly rotation: RotationSettings | undefined;
  /** Sync interval in ms. */
  readonly syncIntervalMs: number;
  /** Wall clock for backup names. @default Date.now */
  readonly now?: () => number;
}

const MIB = 1024 * 1024;
const TIME_FORMAT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `2006-01-02T15-04-05.000` of a time, in UTC or local time. */
export function backupTimestamp(ms: number, local: boolean): string {
  const d = new Date(ms);
  if (local) {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}-` +
      `${pad(d.getMinutes())}-${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}.` +
    pad(d.getUTCMilliseconds(), 3);
}

function parseBackupTimestamp(text: string, local: boolean): number | undefined {
  if (!TIME_FORMAT_RE.test(text)) return undefined;
  const [date, time] = text.split("T") as [string, string];
  const [y, mo, d] = date.split("-").map(Number) as [number, number, number];
  const [h, mi, rest] = time.split("-") as [string, string, string];
  const [s, ms] = rest.split(".").map(Number) as [number, number];
  return local
    ? new Date(y, mo - 1, d, Number(h), Number(mi), s, ms).getTime()
    : Date.UTC(y, mo - 1, d, Number(h), Number(mi), s, ms);
}

/** A file that records are appended to. */
export class FileWriter {
  readonly path: string;
  readonly #options: FileWriterOptions;
  readonly #now: () => number;
  #file: Deno.FsFile | undefined;
  #size = 0;
  #opened = false;
  #dirty = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(path: string, options: FileWriterOptions) {
    this.path = path;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Opens the file now (so a bad path is reported at start) and starts the sync timer. */
  async open(): Promise<void> {
    await this.#serial(() => this.#ensureOpen(0));
    if (this.#options.syncIntervalMs > 0 && this.#timer === undefined) {
      const id = setInterval(() => void this.sync().catch(() => {}), this.#options.syncIntervalMs);
      Deno.unrefTimer(id as unknown as number);
      this.#timer = id;
    }
  }

  /** Writes one record; rejects when it did not reach the file. */
  write(record: Uint8Array): Promise<void> {
    return this.#serial(() => this.#write(record));
  }

  /** Syncs written data to disk. */
  sync(): Promise<void> {
    return this.#serial(async () => {
      if (this.#file === undefined || !this.#dirty) return;
      this.#dirty = false;
      await this.#file.syncData();
    });
  }

  /** Syncs and closes; further writes reject. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#serial(async () => {
      this.#closed = true;
      const file = this.#file;
      this.#file = undefined;
      if (file === undefined) return;
      try {
        if (this.#dirty) await file.syncData();
      } finally {
        file.close();
      }
    });
  }

  #serial<T>(job: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(job, job);
    this.#chain = next.catch(() => {});
    return next;
  }

  #maxBytes(): number {
    const mb = this.#options.rotation?.max_megabytes ?? 0;
    return (mb > 0 ? mb : 100) * MIB;
  }

  async #ensureOpen(writeLen: number): Promise<Deno.FsFile> {
    if (this.#closed) throw new Error(`The file "${this.path}" is closed`);
    if (this.#file !== undefined) return this.#file;
    const rotation = this.#options.rotation;
    if (rotation !== undefined) {
      let size: number | undefined;
      try {
        size = (await Deno.stat(this.path)).size;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      if (size !== undefined && size + writeLen > this.#maxBytes()) await this.#rotateFile();
      else if (size !== undefined) {
        this.#file = await Deno.open(this.path, { append: true, create: true });
        this.#size = size;
        return this.#file;
      }
      this.#file = await Deno.open(this.path, { write: true, create: true, truncate: true });
      this.#size = 0;
      await this.#cleanup();
      return this.#file;
    }
    // Without rotation the first open truncates (unless append); a reopen after an error appends.
    const truncate = !this.#options.append && !this.#opened;
    this.#file = await Deno.open(this.path, {
      write: true,
      create: true,
      ...(truncate ? { truncate: true } : { append: true }),
    });
    this.#opened = true;
    this.#size = truncate ? 0 : (await this.#file.stat()).size;
    return this.#file;
  }

  async #write(record: Uint8Array): Promise<void> {
    let file = await this.#ensureOpen(record.length);
    if (this.#options.rotation !== undefined && this.#size > 0) {
      if (this.#size + record.length > this.#maxBytes()) {
        this.#file = undefined;
        file.close();
        await this.#rotateFile();
        file = await Deno.open(this.path, { write: true, create: true, truncate: true });
        this.#file = file;
        this.#size = 0;
        await this.#cleanup();
      }
    }
    const start = this.#size;
    try {
      let done = 0;
      while (done < record.length) done += await file.write(record.subarray(done));
      this.#size = start + record.length;
      this.#dirty = true;
    } catch (error) {
      // Leave no partial record behind; reopen on the next write.
      this.#file = undefined;
      try {
        await file.truncate(start);
      } catch {
        // the file system refuses even that; the reader stops at the partial record
      } finally {
        try {
          file.close();
        } catch {
          // already closed
        }
      }
      this.#opened = true;
      throw error;
    }
  }

  async #rotateFile(): Promise<void> {
    const rotation = this.#options.rotation!;
    const ext = extname(this.path);
    const base = basename(this.path, ext);
    // Two rotations within a millisecond would give one name: take the next free millisecond
    // rather than overwrite a backup.
    let at = this.#now();
    let target = "";
    for (let i = 0; i < 1000; i++, at++) {
      target = join(
        dirname(this.path),
        `${base}-${backupTimestamp(at, rotation.localtime)}-size${ext}`,
      );
      try {
        await Deno.lstat(target);
      } catch {
        break;
      }
    }
    try {
      await Deno.rename(this.path, target);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /** Removes backups beyond `max_backups` and older than `max_days`. */
  async #cleanup(): Promise<void> {
    const rotation = this.#options.rotation!;
    if (rotation.max_backups === 0 && rotation.max_days === 0) return;
    const dir = dirname(this.path);
    const ext = extname(this.path);
    const prefix = basename(this.path, ext) + "-";
    const backups: { name: string; time: number }[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.startsWith(prefix) || !entry.name.endsWith(ext)) continue;
      let middle = entry.name.slice(prefix.length, entry.name.length - ext.length);
      const dash = middle.lastIndexOf("-");
      if (dash < 0) continue;
      middle = middle.slice(0, dash);
      const time = parseBackupTimestamp(middle, rotation.localtime);
      if (time !== undefined) backups.push({ name: entry.name, time });
    }
    backups.sort((a, b) => b.time - a.time);
    const remove = new Set<string>();
    if (rotation.max_backups > 0) {
      for (const b of backups.slice(rotation.max_backups)) remove.add(b.name);
    }
    if (rotation.max_days > 0) {
      const cutoff = this.#now() - rotation.max_days * 86_400_000;
      for (const b of backups) if (b.time < cutoff) remove.add(b.name);
    }
    for (const name of remove) {
      try {
        await Deno.remove(join(dir, name));
      } catch {
        // gone already, or not ours to remove
      }
    }
  }
}
