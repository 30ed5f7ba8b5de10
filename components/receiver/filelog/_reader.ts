/**
 * Reading one file: from its committed offset to the end (or a byte budget), split into entries —
 * lines, or multiline entries by `line_start_pattern` / `line_end_pattern` — decoded, trimmed and
 * cut to `max_log_size`. The offset only moves when the caller commits a read, after the pipeline
 * accepted its entries, so a failure or crash re-reads rather than skips.
 *
 * An unterminated last line (or a multiline entry still open) waits for more data; once the file
 * stopped growing for `force_flush_period` it is sent as it is.
 *
 * @module
 */

/** How a reader splits and decodes. */
export interface ReaderOptions {
  readonly maxLogSize: number;
  readonly encoding: "utf-8" | "ascii" | "nop";
  readonly lineStart: RegExp | undefined;
  readonly lineEnd: RegExp | undefined;
  readonly preserveLeading: boolean;
  readonly preserveTrailing: boolean;
  readonly forceFlushMs: number;
  /** The most bytes read from one file per read. */
  readonly budget: number;
}

/** The outcome of one read, applied by {@linkcode FileReader.commit}. */
export interface ReadResult {
  /** Entry bodies: strings, or bytes with the `nop` encoding. */
  readonly tokens: (string | Uint8Array)[];
  /** The offset after the last byte the tokens used. */
  readonly offset: number;
  /** True when the budget stopped the read before the end of the file. */
  readonly more: boolean;
}

const utf8 = new TextDecoder();

function decodeAscii(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! > 127) {
      ascii = false;
      break;
    }
  }
  if (ascii) return utf8.decode(bytes);
  let s = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    s += b > 127 ? "\ufffd" : String.fromCharCode(b);
  }
  return s;
}

/** Reads the first `n` bytes of an open file (fewer when it is shorter). */
export async function readHead(file: Deno.FsFile, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  await file.seek(0, Deno.SeekMode.Start);
  let got = 0;
  while (got < n) {
    const r = await file.read(buf.subarray(got));
    if (r === null || r === 0) break;
    got += r;
  }
  return buf.subarray(0, got);
}

async function readAt(file: Deno.FsFile, offset: number, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < n) {
    const r = await file.read(buf.subarray(got));
    if (r === null || r === 0) break;
    got += r;
  }
  return got === n ? buf : buf.subarray(0, got);
}

/** One tracked file. */
export class FileReader {
  /** The storage key of this file's record. */
  readonly id: string;
  /** The path it was last seen at. */
  path: string;
  /** The first bytes of the file (up to `fingerprint_size`), which identify it. */
  fingerprint: Uint8Array;
  /** The committed offset: every byte before it was accepted downstream. */
  offset: number;
  /** The open handle, while the file is tracked by inode. */
  file: Deno.FsFile | undefined;
  ino: number | null = null;
  dev: number | null = null;
  /** Polls since this record last matched a file. */
  idlePolls = 0;
  /** The file end last seen with an unterminated tail, and since when. */
  #tailEnd = -1;
  #tailSince = 0;
  readonly #opts: ReaderOptions;

  constructor(
    id: string,
    path: string,
    fingerprint: Uint8Array,
    offset: number,
    opts: ReaderOptions,
  ) {
    this.id = id;
    this.path = path;
    this.fingerprint = fingerprint;
    this.offset = offset;
    this.#opts = opts;
  }

  /** Closes the handle, if open. */
  close(): void {
    try {
      this.file?.close();
    } catch {
      // already closed
    }
    this.file = undefined;
    this.ino = null;
    this.dev = null;
  }

  /** Applies a read once its entries were accepted. */
  commit(result: ReadResult): void {
    this.offset = result.offset;
  }

  /** Reads from the committed offset; `size` is the file's current size. */
  async read(size: number, now: number): Promise<ReadResult> {
    const opts = this.#opts;
    const start = this.offset;
    if (this.file === undefined || size <= start) return { tokens: [], offset: start, more: false };
    const want = Math.min(size - start, opts.budget);
    const data = await readAt(this.file, start, want);
    const more = start + data.length < size;
    const tokens: (string | Uint8Array)[] = [];
    const used = opts.lineStart !== undefined || opts.lineEnd !== undefined
      ? this.#splitMultiline(data, tokens)
      : opts.encoding === "utf-8"
      ? this.#splitDecoded(data, tokens)
      : this.#splitLines(data, tokens);
    let consumed = used;
    // A tail without a newline: cut pieces of max_log_size, or flush it once the file is idle.
    let rest = data.length - consumed;
    while (rest >= opts.maxLogSize) {
      this.#push(tokens, data.subarray(consumed, consumed + opts.maxLogSize));
      consumed += opts.maxLogSize;
      rest -= opts.maxLogSize;
    }
    if (rest > 0 && !more) {
      const end = start + data.length;
      if (this.#tailEnd !== end) {
        this.#tailEnd = end;
        this.#tailSince = now;
      } else if (now - this.#tailSince >= opts.forceFlushMs) {
        this.#pushEntry(tokens, data.subarray(consumed));
        consumed = data.length;
      }
    }
    return { tokens, offset: start + consumed, more };
  }

  /** Splits complete lines; returns the bytes used. */
  #splitLines(data: Uint8Array, tokens: (string | Uint8Array)[]): number {
    let pos = 0;
    for (;;) {
      const nl = data.indexOf(10, pos);
      if (nl < 0) return pos;
      this.#pushEntry(tokens, data.subarray(pos, nl));
      pos = nl + 1;
    }
  }

  /**
   * Splits complete lines with one decode of the whole chunk instead of one per line. When the
   * text has as many UTF-16 units as the chunk has bytes, every byte became exactly one unit (ASCII,
   * or a lone invalid byte as U+FFFD: UTF-8 never yields more units than bytes), so string offsets
   * are byte offsets and each line's slice equals its own decode (a newline byte never belongs to a
   * sequence). Otherwise it splits line by line. Returns the bytes used.
   */
  #splitDecoded(data: Uint8Array, tokens: (string | Uint8Array)[]): number {
    const last = data.lastIndexOf(10);
    if (last < 0) return 0;
    const text = utf8.decode(data.subarray(0, last + 1));
    if (text.length !== last + 1) return this.#splitLines(data, tokens);
    const max = this.#opts.maxLogSize;
    let pos = 0;
    while (pos <= last) {
      const nl = text.indexOf("\n", pos);
      let end = nl;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      if (end - pos <= max) {
        this.#pushText(tokens, text.slice(pos, end));
      } else {
        for (let i = pos; i < end; i += max) {
          this.#pushText(tokens, text.slice(i, Math.min(end, i + max)));
        }
      }
      pos = nl + 1;
    }
    return last + 1;
  }

  /** Groups complete lines into entries; the last open entry waits. Returns the bytes used. */
  #splitMultiline(data: Uint8Array, tokens: (string | Uint8Array)[]): number {
    const start = this.#opts.lineStart;
    const end = this.#opts.lineEnd;
    let pos = 0;
    let entryStart = 0;
    let used = 0;
    for (;;) {
      const nl = data.indexOf(10, pos);
      if (nl < 0) break;
      const line = this.#decode(data.subarray(pos, nl));
      if (start !== undefined) {
        if (pos > entryStart && start.test(line)) {
          this.#pushEntry(tokens, data.subarray(entryStart, pos - 1));
          entryStart = pos;
          used = pos;
        }
      } else if (end!.test(line)) {
        this.#pushEntry(tokens, data.subarray(entryStart, nl));
        entryStart = nl + 1;
        used = nl + 1;
      }
      pos = nl + 1;
      if (pos - entryStart >= this.#opts.maxLogSize) {
        this.#pushEntry(tokens, data.subarray(entryStart, pos - 1));
        entryStart = pos;
        used = pos;
      }
    }
    return used;
  }

  #decode(bytes: Uint8Array): string {
    return this.#opts.encoding === "ascii" ? decodeAscii(bytes) : utf8.decode(bytes);
  }

  /** Adds one entry's bytes (without its newline), cut to max_log_size. */
  #pushEntry(tokens: (string | Uint8Array)[], bytes: Uint8Array): void {
    const max = this.#opts.maxLogSize;
    if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, -1);
    if (bytes.length <= max) return this.#push(tokens, bytes);
    for (let i = 0; i < bytes.length; i += max) this.#push(tokens, bytes.subarray(i, i + max));
  }

  #push(tokens: (string | Uint8Array)[], bytes: Uint8Array): void {
    const opts = this.#opts;
    if (opts.encoding === "nop") {
      if (bytes.length > 0) tokens.push(bytes.slice());
      return;
    }
    this.#pushText(tokens, this.#decode(bytes));
  }

  /** Adds one decoded entry, trimmed as configured, unless it is empty. */
  #pushText(tokens: (string | Uint8Array)[], s: string): void {
    const opts = this.#opts;
    if (s.length === 0) return;
    if (!opts.preserveLeading && s.charCodeAt(0) <= 32) s = s.trimStart();
    if (!opts.preserveTrailing && s.charCodeAt(s.length - 1) <= 32) s = s.trimEnd();
    if (s.length > 0) tokens.push(s);
  }
}
