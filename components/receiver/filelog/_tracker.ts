/**
 * Which files are which across polls. A file is known by its inode while tfo holds it open, and by
 * its fingerprint (its first `fingerprint_size` bytes) otherwise, as the Collector does:
 *
 * - rename: the open handle keeps the inode; a file renamed within the globs keeps its reader, one
 *   renamed out of them (or deleted) is read to its end once and released;
 * - copy-truncate: the inode's head no longer starts with its fingerprint (or it shrank below the
 *   offset), so it is read again from 0 as a new file, while a copy that starts with the old
 *   fingerprint takes over the old offset;
 * - restart: records loaded from storage have no inode and match by fingerprint.
 *
 * @module
 */
import { FileReader, type ReaderOptions, readHead } from "./_reader.ts";

/** A reader to read this poll, with the file size seen. */
export interface PlannedRead {
  readonly reader: FileReader;
  readonly size: number;
  /** True for a file no longer at any matched path: read to its end, then released. */
  readonly lost: boolean;
}

/** A stored record of a file. */
export interface FileRecordData {
  readonly path: string;
  readonly fingerprint: Uint8Array;
  readonly offset: number;
}

/** Polls after which a record that matches no file is forgotten. */
const FORGET_AFTER_POLLS = 3;

function startsWith(head: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length === 0 || head.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (head[i] !== prefix[i]) return false;
  return true;
}

function samePrefix(a: Uint8Array, b: Uint8Array): boolean {
  return a.length <= b.length ? startsWith(b, a) : startsWith(a, b);
}

/** Tracks files across polls. */
export class FileTracker {
  readonly #readers: FileReader[] = [];
  readonly #opts: ReaderOptions;
  readonly #fingerprintSize: number;
  readonly #forgotten: string[] = [];
  #nextId = 0;
  readonly #idPrefix = crypto.randomUUID().slice(0, 8);

  constructor(opts: ReaderOptions, fingerprintSize: number) {
    this.#opts = opts;
    this.#fingerprintSize = fingerprintSize;
  }

  /** Every tracked reader. */
  get readers(): readonly FileReader[] {
    return this.#readers;
  }

  /** Adds a record loaded from storage. */
  restore(id: string, data: FileRecordData): void {
    this.#readers.push(new FileReader(id, data.path, data.fingerprint, data.offset, this.#opts));
  }

  /** IDs of records forgotten since the last call (to delete from storage). */
  takeForgotten(): string[] {
    return this.#forgotten.splice(0);
  }

  #newReader(path: string, fingerprint: Uint8Array, offset: number): FileReader {
    const r = new FileReader(
      `${this.#idPrefix}-${(this.#nextId++).toString(36)}`,
      path,
      fingerprint,
      offset,
      this.#opts,
    );
    this.#readers.push(r);
    return r;
  }

  /**
   * Matches `paths` against known files and says what to read, in order: files that left the
   * globs (their last bytes), known files, then new ones.
   * @param startAtEnd new files start at their end (the first poll with `start_at: end`)
   */
  async poll(paths: readonly string[], startAtEnd: boolean): Promise<PlannedRead[]> {
    const fpSize = this.#fingerprintSize;
    const claimed = new Set<FileReader>();
    const continued: PlannedRead[] = [];
    const fresh: PlannedRead[] = [];
    const pending: { path: string; info: Deno.FileInfo }[] = [];

    // Pass 1: files we hold open, by inode.
    for (const path of paths) {
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(path);
      } catch {
        continue;
      }
      if (!info.isFile) continue;
      const r = this.#readers.find((x) =>
        x.file !== undefined && x.ino === info.ino && x.dev === info.dev && !claimed.has(x)
      );
      if (r === undefined) {
        if (info.size > 0) pending.push({ path, info });
        continue;
      }
      if (info.size === 0) {
        // Truncated to nothing: keep the record, without its handle, for a copy to claim.
        r.close();
        continue;
      }
      const head = await readHead(r.file!, Math.min(fpSize, info.size));
      if (startsWith(head, r.fingerprint) && info.size >= r.offset) {
        if (head.length > r.fingerprint.length) r.fingerprint = head;
        r.path = path;
        r.idlePolls = 0;
        claimed.add(r);
        continued.push({ reader: r, size: info.size, lost: false });
        continue;
      }
      // Truncated or rewritten: the inode holds a new file; the old record stays, without a
      // handle, for a copy to claim.
      const file = r.file!;
      r.file = undefined;
      r.ino = null;
      r.dev = null;
      const n = this.#newReader(path, head, 0);
      n.file = file;
      n.ino = info.ino;
      n.dev = info.dev;
      claimed.add(n);
      fresh.push({ reader: n, size: info.size, lost: false });
    }

    // Pass 2: files not open, by fingerprint.
    for (const { path, info } of pending) {
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { read: true });
      } catch {
        continue;
      }
      const head = await readHead(file, Math.min(fpSize, info.size));
      // A copy being made of a file we are reading (copy-truncate before the truncate) has the
      // same first bytes: skip it until the original is truncated, as the Collector does.
      if (this.#readers.some((x) => x.file !== undefined && samePrefix(head, x.fingerprint))) {
        file.close();
        continue;
      }
      let best: FileReader | undefined;
      for (const x of this.#readers) {
        if (claimed.has(x) || x.file !== undefined) continue;
        if (!startsWith(head, x.fingerprint) || info.size < x.offset) continue;
        if (best === undefined || x.fingerprint.length > best.fingerprint.length) best = x;
      }
      const r = best ?? this.#newReader(path, head, startAtEnd ? info.size : 0);
      if (head.length > r.fingerprint.length) r.fingerprint = head;
      r.path = path;
      r.file = file;
      r.ino = info.ino;
      r.dev = info.dev;
      r.idlePolls = 0;
      claimed.add(r);
      (best === undefined ? fresh : continued).push({ reader: r, size: info.size, lost: false });
    }

    // Files we hold that matched no path: renamed away or deleted. Read what is left.
    const lost: PlannedRead[] = [];
    for (const r of this.#readers) {
      if (claimed.has(r) || r.file === undefined) continue;
      let size = 0;
      try {
        size = (await r.file.stat()).size;
      } catch {
        // unreadable: release it below
      }
      lost.push({ reader: r, size: size >= r.offset ? size : 0, lost: true });
    }
    return [...lost, ...continued, ...fresh];
  }

  /**
   * After a poll's reads were committed: releases lost files read to their end and forgets stale
   * records.
   * @param unfinished readers whose data was not all read (or not accepted): kept open
   */
  finishPoll(plan: readonly PlannedRead[], unfinished: ReadonlySet<FileReader>): void {
    for (const p of plan) {
      if (p.lost && !unfinished.has(p.reader)) {
        p.reader.close(); // the record stays a few polls, in case a copy of it shows up
      }
    }
    const seen = new Set(
      plan.filter((p) => !p.lost || unfinished.has(p.reader)).map((p) => p.reader),
    );
    for (let i = this.#readers.length - 1; i >= 0; i--) {
      const r = this.#readers[i]!;
      if (seen.has(r)) continue;
      if (++r.idlePolls > FORGET_AFTER_POLLS) {
        r.close();
        this.#readers.splice(i, 1);
        this.#forgotten.push(r.id);
      }
    }
  }

  /** Closes every handle. */
  closeAll(): void {
    for (const r of this.#readers) r.close();
  }
}
