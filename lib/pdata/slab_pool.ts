/**
 * {@linkcode SlabPool}: request buffers of any size cut one after the other out of large pooled
 * buffers (slabs), each slab counted by leases (`./buffer_pool.ts`) and given back to its pool once
 * the writer moved on and every request cut from it was released.
 *
 * Why: a receiver's requests have every size, so one pool of equal buffers either wastes most of
 * each buffer or misses most requests. Cutting them out of slabs wastes only a slab's tail, and
 * requests that travel a pipeline together (a batch, a queue, an export) are released about
 * together, so their slabs come back whole and are reused instead of waiting, promoted, for a
 * mark-compact as fresh arrays do.
 *
 * The cost: a slab comes back only after its last request was released, so one request held long
 * (a retry, a slow branch) holds its whole slab. Requests larger than `maxPooledBytes` are not
 * cut from slabs; {@linkcode SlabPool.take} returns `undefined` for them and the caller allocates.
 *
 * @module
 */
import { type BufferLease, BufferPool, type PooledBuffer } from "./buffer_pool.ts";

/** Options of {@linkcode SlabPool}. */
export interface SlabPoolOptions {
  /** The size of a slab. @default 524288 */
  readonly slabBytes?: number;
  /** The largest request cut from a slab; larger ones are the caller's to allocate. @default 65536 */
  readonly maxPooledBytes?: number;
  /** The most free slabs kept for reuse. @default 64 */
  readonly maxFreeSlabs?: number;
  /** As {@linkcode BufferPool}'s `strict` (tests): misuses throw, slabs given back are poisoned. */
  readonly strict?: boolean;
  /** Told of the first lease misuse (production). */
  readonly onMisuse?: (message: string) => void;
}

/** A request's bytes in a slab and the lease the caller holds on that slab (one reference). */
export interface SlabSlice {
  readonly bytes: Uint8Array;
  readonly lease: BufferLease;
}

/** Cuts requests out of pooled slabs. Not shared between workers. */
export class SlabPool {
  /** The largest request cut from a slab. */
  readonly maxPooledBytes: number;
  readonly #pool: BufferPool;
  /** The slab being cut, with the pool's reference to it held here; undefined before the first. */
  #current: PooledBuffer | undefined;
  #offset = 0;
  /** Slices taken since the last {@linkcode SlabPool.trimIfIdle}. */
  #takes = 0;

  /** Creates a pool with no slab yet. */
  constructor(options: SlabPoolOptions = {}) {
    const slabBytes = options.slabBytes ?? 512 * 1024;
    this.maxPooledBytes = Math.min(slabBytes, options.maxPooledBytes ?? 64 * 1024);
    this.#pool = new BufferPool({
      bufferBytes: slabBytes,
      maxFree: options.maxFreeSlabs ?? 64,
      ...(options.strict === undefined ? {} : { strict: options.strict }),
      ...(options.onMisuse === undefined ? {} : { onMisuse: options.onMisuse }),
    });
  }

  /**
   * `length` bytes in a slab, with one reference on that slab for the caller (release it when
   * nothing reads the bytes any more); `undefined` when `length` is 0 or over `maxPooledBytes`.
   * The bytes are not zeroed: the caller fills all of them.
   */
  take(length: number): SlabSlice | undefined {
    if (length <= 0 || length > this.maxPooledBytes) return undefined;
    this.#takes++;
    let slab = this.#current;
    if (slab === undefined || this.#offset + length > slab.bytes.length) {
      // Moving on: the slab comes back once every request cut from it was released.
      slab?.release();
      slab = this.#pool.take();
      this.#current = slab;
      this.#offset = 0;
    }
    const bytes = slab.bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    slab.retain();
    return { bytes, lease: slab };
  }

  /**
   * Stops cutting the current slab (it comes back once its requests were released) and keeps at
   * most `keepFree` free slabs: for an idle receiver, and at shutdown with 0.
   */
  trim(keepFree: number): void {
    this.#current?.release();
    this.#current = undefined;
    this.#offset = 0;
    this.#pool.trim(keepFree);
  }

  /**
   * {@linkcode SlabPool.trim} when nothing was taken since the last call (call it on a timer): a
   * receiver that went quiet gives its free slabs back to the garbage collector.
   */
  trimIfIdle(keepFree: number): void {
    if (this.#takes === 0) this.trim(keepFree);
    this.#takes = 0;
  }

  /** The slab pool's counters (see `BufferPoolStats`; `outstanding` counts the current slab). */
  get stats(): BufferPool["stats"] {
    return this.#pool.stats;
  }
}
