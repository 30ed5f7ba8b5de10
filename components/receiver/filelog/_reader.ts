/**
 * Reading one file: from its committed offset to the end (or a byte budget), split into entries —
 * lines, or multiline entries by `line_start_pattern` / `line_end_pattern` — decoded, trimmed and
 * cut to `max_log_size`. The offset only moves when the caller commits a read, after the pipeline
 * accepted its entries, so a failure or crash re-reads rather than skips.
 *
 * An unterminated last line (or a multiline entry still open) waits for more data; once the file
 * stopped growing for `force_flush_period` it is sent as it is.
 *
 * A read given a {@linkcode ReadScratch} reads into its buffer (one per receiver, not one per read)
 * and, when the chunk is ASCII and split into lines (not multiline, not `nop`), hands out its
 * entries as byte ranges of that buffer instead of strings: the same entries, cut and trimmed the
 * same way, for a caller that encodes them straight from the bytes.
 *
 * @module
 */
import { LineSpans } from "../../../lib/otlp/log_lines_proto.ts";

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
  /**
   * Set when the entries are byte ranges (`ReadScratch.lines`) of these bytes rather than
   * `tokens`; valid until the next read with the same scratch.
   */
  readonly bytes?: Uint8Array;
}

/** What the reads of one receiver share; a read's ranges and bytes last until the next read. */
export class ReadScratch {
  /** Whether reads may hand out ranges (else always tokens). */
  readonly ranges: boolean;
  /** The read buffer, allocated on first use. */
  buffer: Uint8Array | undefined;
  /** The entries of the last read, as byte ranges of its bytes. */
  readonly lines: LineSpans = new LineSpans();
  /** Newline offsets of the last ASCII chunk, as {@linkcode scanAsciiLines} found them. */
  newlines: Int32Array = new Int32Array(16384);

  constructor(ranges: boolean) {
    this.ranges = ranges;
  }
}

/** Where a read puts its entries: strings (or bytes with `nop`) in `tokens`, or ranges. */
interface Out {
  readonly tokens: (string | Uint8Array)[];
  readonly ranges: LineSpans | undefined;
}

/**
 * Finds the newlines of `data` into `scratch.newlines` and returns how many there are, or -1 when a
 * byte is 0x80 or above (not ASCII). One pass, 4 bytes at a time when `data` is 4-byte aligned: a
 * word is looked at byte by byte only when it may hold a newline (the zero-byte test of
 * `word ^ 0x0a0a0a0a`, which has no false negatives). Faster than `indexOf(10)` per line followed
 * by a separate ASCII check (a micro-bench: 108 ms against 173 ms per 120 MB for the search alone).
 */
export function scanAsciiLines(data: Uint8Array, scratch: ReadScratch): number {
  let nl = scratch.newlines;
  let count = 0;
  const n = data.length;
  let i = 0;
  if ((data.byteOffset & 3) === 0) {
    const words = new Int32Array(data.buffer, data.byteOffset, n >>> 2);
    const nw = words.length;
    for (let w = 0; w < nw; w++) {
      const v = words[w]!;
      if ((v & 0x80808080) !== 0) return -1;
      const x = v ^ 0x0a0a0a0a;
      if ((((x - 0x01010101) & ~x) & 0x80808080) === 0) continue;
      const b = w << 2;
      for (let k = b; k < b + 4; k++) {
        if (data[k] !== 10) continue;
        if (count === nl.length) nl = grow(scratch);
        nl[count++] = k;
      }
    }
    i = nw << 2;
  }
  for (; i < n; i++) {
    const b = data[i]!;
    if (b >= 0x80) return -1;
    if (b !== 10) continue;
    if (count === nl.length) nl = grow(scratch);
    nl[count++] = i;
  }
  return count;
}

/** Doubles `scratch.newlines`, keeping its contents. */
function grow(scratch: ReadScratch): Int32Array {
  const next = new Int32Array(scratch.newlines.length * 2);
  next.set(scratch.newlines);
  scratch.newlines = next;
  return next;
}

/** ASCII whitespace as `String.prototype.trim` removes it: tab, LF, VT, FF, CR, space. */
function isSpace(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13);
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

async function readAt(
  file: Deno.FsFile,
  offset: number,
  n: number,
  scratch: ReadScratch | undefined,
): Promise<Uint8Array> {
  let buf: Uint8Array;
  if (scratch === undefined) buf = new Uint8Array(n);
  else {
    if (scratch.buffer === undefined || scratch.buffer.length < n) {
      scratch.buffer = new Uint8Array(n);
    }
    buf = scratch.buffer.subarray(0, n);
  }
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

  /**
   * Reads from the committed offset; `size` is the file's current size. With `scratch`, reads
   * into its buffer and may hand out the entries as its ranges (see {@linkcode ReadResult.bytes}).
   */
  async read(size: number, now: number, scratch?: ReadScratch): Promise<ReadResult> {
    const opts = this.#opts;
    const start = this.offset;
    if (this.file === undefined || size <= start) return { tokens: [], offset: start, more: false };
    const want = Math.min(size - start, opts.budget);
    const data = await readAt(this.file, start, want, scratch);
    const more = start + data.length < size;
    const multiline = opts.lineStart !== undefined || opts.lineEnd !== undefined;
    const newlines = scratch !== undefined && scratch.ranges && !multiline &&
        opts.encoding !== "nop"
      ? scanAsciiLines(data, scratch)
      : -1;
    const ranges = newlines >= 0 ? scratch!.lines : undefined;
    if (ranges !== undefined) ranges.count = 0;
    const out: Out = { tokens: [], ranges };
    const used = multiline
      ? this.#splitMultiline(data, out)
      : ranges !== undefined
      ? this.#splitAt(data, scratch!.newlines, newlines, out)
      : opts.encoding === "utf-8"
      ? this.#splitDecoded(data, out)
      : this.#splitLines(data, out);
    let consumed = used;
    // A tail without a newline: cut pieces of max_log_size, or flush it once the file is idle.
    let rest = data.length - consumed;
    while (rest >= opts.maxLogSize) {
      this.#push(out, data, consumed, consumed + opts.maxLogSize);
      consumed += opts.maxLogSize;
      rest -= opts.maxLogSize;
    }
    if (rest > 0 && !more) {
      const end = start + data.length;
      if (this.#tailEnd !== end) {
        this.#tailEnd = end;
        this.#tailSince = now;
      } else if (now - this.#tailSince >= opts.forceFlushMs) {
        this.#pushEntry(out, data, consumed, data.length);
        consumed = data.length;
      }
    }
    const offset = start + consumed;
    return ranges === undefined
      ? { tokens: out.tokens, offset, more }
      : { tokens: out.tokens, offset, more, bytes: data };
  }

  /** Splits complete lines at the first `count` offsets of `newlines`; returns the bytes used. */
  #splitAt(data: Uint8Array, newlines: Int32Array, count: number, out: Out): number {
    let pos = 0;
    for (let i = 0; i < count; i++) {
      const nl = newlines[i]!;
      this.#pushEntry(out, data, pos, nl);
      pos = nl + 1;
    }
    return pos;
  }

  /** Splits complete lines; returns the bytes used. */
  #splitLines(data: Uint8Array, out: Out): number {
    let pos = 0;
    for (;;) {
      const nl = data.indexOf(10, pos);
      if (nl < 0) return pos;
      this.#pushEntry(out, data, pos, nl);
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
  #splitDecoded(data: Uint8Array, out: Out): number {
    const tokens = out.tokens;
    const last = data.lastIndexOf(10);
    if (last < 0) return 0;
    const text = utf8.decode(data.subarray(0, last + 1));
    if (text.length !== last + 1) return this.#splitLines(data, out);
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
  #splitMultiline(data: Uint8Array, out: Out): number {
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
          this.#pushEntry(out, data, entryStart, pos - 1);
          entryStart = pos;
          used = pos;
        }
      } else if (end!.test(line)) {
        this.#pushEntry(out, data, entryStart, nl);
        entryStart = nl + 1;
        used = nl + 1;
      }
      pos = nl + 1;
      if (pos - entryStart >= this.#opts.maxLogSize) {
        this.#pushEntry(out, data, entryStart, pos - 1);
        entryStart = pos;
        used = pos;
      }
    }
    return used;
  }

  #decode(bytes: Uint8Array): string {
    return this.#opts.encoding === "ascii" ? decodeAscii(bytes) : utf8.decode(bytes);
  }

  /** Adds one entry, `data[from, to)` (without its newline), cut to max_log_size. */
  #pushEntry(out: Out, data: Uint8Array, from: number, to: number): void {
    const max = this.#opts.maxLogSize;
    if (to > from && data[to - 1] === 13) to--;
    if (to - from <= max) return this.#push(out, data, from, to);
    for (let i = from; i < to; i += max) this.#push(out, data, i, Math.min(to, i + max));
  }

  /** Adds one piece `data[from, to)` as it is (trimmed unless `nop`), unless it ends up empty. */
  #push(out: Out, data: Uint8Array, from: number, to: number): void {
    const opts = this.#opts;
    const ranges = out.ranges;
    if (ranges !== undefined) {
      // ASCII: byte offsets are character offsets, and these are the spaces trim() removes.
      if (!opts.preserveLeading) { while (from < to && isSpace(data[from]!)) from++; }
      if (!opts.preserveTrailing) { while (to > from && isSpace(data[to - 1]!)) to--; }
      if (to > from) ranges.push(from, to);
      return;
    }
    if (opts.encoding === "nop") {
      if (to > from) out.tokens.push(data.slice(from, to));
      return;
    }
    this.#pushText(out.tokens, this.#decode(data.subarray(from, to)));
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
