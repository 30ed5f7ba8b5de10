/**
 * {@linkcode BufferPool}: a small bounded pool of equal-sized byte buffers that a receiver encodes
 * requests into and gets back once nothing downstream can read them any more, counted by leases
 * (see {@linkcode BufferLease} and `Payload.retain` / `Payload.release`).
 *
 * Why: encoded requests that wait in a batch, a queue and an exporter survive V8's young-generation
 * scavenges, so dead ones are freed only by a mark-compact, which V8 starts after external memory
 * grew by tens of MB; reusing the buffers keeps external memory near what is live.
 *
 * The pool never waits: when no free buffer is left, {@linkcode BufferPool.take} allocates one,
 * and a buffer given back to a full free list is left to the garbage collector. A lease that is
 * never released only costs the pool that buffer; a release too many is a bug of its caller and is
 * reported (thrown when the pool is `strict`, as tests make it; logged once otherwise) and
 * otherwise ignored, so it never hands out a buffer that is still in use.
 *
 * @module
 */

/**
 * A counted claim on one pooled buffer. The party that took the buffer holds the first reference;
 * every further holder calls {@linkcode BufferLease.retain} and, when done, `release`. The last
 * release gives the buffer back to its pool.
 */
export interface BufferLease {
  /** Adds a reference. */
  retain(): void;
  /** Drops a reference; the last one gives the buffer back. */
  release(): void;
  /** Reports a misuse found by a holder (a payload released more often than retained). */
  reportMisuse(message: string): void;
}

/** Options of {@linkcode BufferPool}. */
export interface BufferPoolOptions {
  /** The size of every buffer, in bytes. */
  readonly bufferBytes: number;
  /** The most free buffers kept for reuse. @default 1024 */
  readonly maxFree?: number;
  /**
   * Throw on a misuse (tests) instead of reporting it once through `onMisuse`, and overwrite every
   * buffer given back with {@linkcode POISON}, so a reader that kept bytes without a lease reads
   * garbage at once rather than only once the buffer is reused. @default false
   */
  readonly strict?: boolean;
  /** Told of the first misuse (production); later ones are only counted. @default nothing */
  readonly onMisuse?: (message: string) => void;
}

/** The byte a strict pool fills buffers given back with. */
export const POISON = 0xee;

/** What a pool did so far. */
export interface BufferPoolStats {
  /** Buffers allocated because no free one was left. */
  readonly allocated: number;
  /** Takes served by a free buffer. */
  readonly reused: number;
  /** Buffers given back and kept for reuse. */
  readonly returned: number;
  /** Buffers given back to a full free list (left to the garbage collector) or trimmed. */
  readonly dropped: number;
  /** Buffers taken and not given back yet. */
  readonly outstanding: number;
  /** Free buffers held now. */
  readonly free: number;
  /** Misuses found (double releases, retains after the last release). */
  readonly misuses: number;
}

/** An error thrown by a strict pool on a lease misuse. */
export class LeaseMisuseError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "LeaseMisuseError";
  }
}

/** One buffer of a pool, with its reference count. */
export class PooledBuffer implements BufferLease {
  /** The whole buffer; a request uses a prefix of it. */
  readonly bytes: Uint8Array;
  readonly #pool: BufferPool;
  #refs = 0;

  /** Made by the pool only. */
  constructor(pool: BufferPool, bytes: Uint8Array) {
    this.#pool = pool;
    this.bytes = bytes;
  }

  /** Called by the pool when it hands the buffer out. */
  lend(): void {
    this.#refs = 1;
  }

  retain(): void {
    if (this.#refs <= 0) {
      this.#pool.misuse("A pooled buffer was retained after its last release");
      return;
    }
    this.#refs++;
  }

  release(): void {
    if (this.#refs <= 0) {
      this.#pool.misuse("A pooled buffer was released more often than it was retained");
      return;
    }
    if (--this.#refs === 0) this.#pool.giveBack(this);
  }

  reportMisuse(message: string): void {
    this.#pool.misuse(message);
  }
}

/** A bounded pool of equal-sized buffers. Not shared between workers. */
export class BufferPool {
  /** The size of every buffer. */
  readonly bufferBytes: number;
  readonly #maxFree: number;
  readonly #strict: boolean;
  readonly #onMisuse: ((message: string) => void) | undefined;
  readonly #free: PooledBuffer[] = [];
  #allocated = 0;
  #reused = 0;
  #returned = 0;
  #dropped = 0;
  #outstanding = 0;
  #misuses = 0;

  /** Creates an empty pool; buffers are allocated as they are first needed. */
  constructor(options: BufferPoolOptions) {
    if (!(options.bufferBytes >= 1)) throw new RangeError("Pool buffers must hold at least 1 byte");
    this.bufferBytes = options.bufferBytes;
    this.#maxFree = Math.max(0, options.maxFree ?? 1024);
    this.#strict = options.strict ?? false;
    this.#onMisuse = options.onMisuse;
  }

  /** A buffer with one reference held by the caller: a free one, or a new one when none is left. */
  take(): PooledBuffer {
    let buffer = this.#free.pop();
    if (buffer === undefined) {
      buffer = new PooledBuffer(this, new Uint8Array(this.bufferBytes));
      this.#allocated++;
    } else {
      this.#reused++;
    }
    buffer.lend();
    this.#outstanding++;
    return buffer;
  }

  /** Keeps at most `keep` free buffers, leaving the rest to the garbage collector (when idle). */
  trim(keep: number): void {
    while (this.#free.length > Math.max(0, keep)) {
      this.#free.pop();
      this.#dropped++;
    }
  }

  /** What the pool did so far. */
  get stats(): BufferPoolStats {
    return {
      allocated: this.#allocated,
      reused: this.#reused,
      returned: this.#returned,
      dropped: this.#dropped,
      outstanding: this.#outstanding,
      free: this.#free.length,
      misuses: this.#misuses,
    };
  }

  /** Takes back a buffer whose last reference was released (called by the buffer). */
  giveBack(buffer: PooledBuffer): void {
    this.#outstanding--;
    if (this.#strict) buffer.bytes.fill(POISON);
    if (this.#free.length < this.#maxFree) {
      this.#free.push(buffer);
      this.#returned++;
    } else {
      this.#dropped++;
    }
  }

  /** Reports a lease misuse: throws when strict, else tells `onMisuse` the first time. */
  misuse(message: string): void {
    this.#misuses++;
    if (this.#strict) throw new LeaseMisuseError(message);
    if (this.#misuses === 1) this.#onMisuse?.(message);
  }
}
