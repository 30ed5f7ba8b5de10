/**
 * Token buckets that every isolate of the process shares (`service.workers` above 1), so that a
 * tenant's `rate_limit` bounds the process and not each worker: N workers would otherwise admit up
 * to N times the rate, the kernel spreading a tenant's connections over them.
 *
 * The board is a `SharedArrayBuffer` the primary creates and hands each worker at start, as the
 * memory board of `lib/host/isolate_memory.ts`: an open-addressed table of {@linkcode BOARD_SLOTS}
 * slots of 48 bytes, each a bucket pair (items, bytes) of one (receiver, tenant), found by a 64-bit
 * hash of both names and probed linearly over at most {@linkcode PROBES} slots; when those are all
 * taken the least recently seen of them is given to the new tenant (which starts with a full
 * bucket, as a tenant forgotten beyond `max_tenants` does in one isolate). A slot is read and
 * updated under its own spin lock (`Atomics.compareExchange`), held for a few arithmetic steps; a
 * lock held for more than {@linkcode STEAL_SPINS} turns is taken over, since an isolate that was
 * terminated while holding it never releases it.
 *
 * Time is each isolate's clock (`Date.now()` by default), the same wall clock in every isolate.
 *
 * @module
 */
import type { Admission } from "./rate_limiter.ts";

/** Slots of a board: at most this many (receiver, tenant) pairs are tracked at once. */
export const BOARD_SLOTS = 16_384;
/** Slots probed per lookup. */
export const PROBES = 16;
/** Turns a lock is waited for before it is taken over. */
export const STEAL_SPINS = 1 << 20;

/** Int32 words per slot: lock, used, hash high, hash low (then 4 float64s). */
const WORDS = 12;
/** Float64s per slot (the first two overlap the Int32 words). */
const FLOATS = 6;
const ITEMS = 2;
const BYTES = 3;
const AT = 4;

/** One board as an isolate sees it. */
interface Board {
  readonly words: Int32Array;
  readonly floats: Float64Array;
  readonly mask: number;
}

let joined: Board | undefined;

/** A board of `slots` buckets (rounded up to a power of two), to share with the workers. */
export function createBucketBoard(slots: number = BOARD_SLOTS): SharedArrayBuffer {
  let n = 1;
  while (n < slots) n *= 2;
  return new SharedArrayBuffer(n * FLOATS * Float64Array.BYTES_PER_ELEMENT);
}

/** Makes this isolate's rate limiters use `buffer`'s buckets. */
export function joinBucketBoard(buffer: SharedArrayBuffer): void {
  const floats = new Float64Array(buffer);
  const slots = floats.length / FLOATS;
  if (slots < 1 || (slots & (slots - 1)) !== 0) {
    throw new RangeError(`A bucket board needs a power of two of slots, not ${slots}`);
  }
  joined = { words: new Int32Array(buffer), floats, mask: slots - 1 };
}

/** Rate limiters of this isolate keep their buckets to themselves again. */
export function leaveBucketBoard(): void {
  joined = undefined;
}

/** Whether this isolate's rate limiters share a board. */
export function hasBucketBoard(): boolean {
  return joined !== undefined;
}

let hashHi = 0;
let hashLo = 0;

/**
 * Two 32-bit FNV-1a style hashes (different offsets and mixing) of `scope`, a NUL and `tenant`,
 * into `hashHi` and `hashLo` (no allocation per request).
 */
function hashKey(scope: string, tenant: string): void {
  let a = 0x811c9dc5 | 0;
  let b = 0x5bd1e995 | 0;
  const total = scope.length + 1 + tenant.length;
  for (let i = 0; i < total; i++) {
    const code = i < scope.length
      ? scope.charCodeAt(i)
      : i === scope.length
      ? 0
      : tenant.charCodeAt(i - scope.length - 1);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995);
    b ^= b >>> 13;
  }
  hashHi = a | 0;
  hashLo = b | 0;
}

function lock(words: Int32Array, slot: number): void {
  const at = slot * WORDS;
  for (let spins = 0; Atomics.compareExchange(words, at, 0, 1) !== 0; spins++) {
    if (spins >= STEAL_SPINS) return; // Its holder is gone: the lock is ours now.
  }
}

function unlock(words: Int32Array, slot: number): void {
  Atomics.store(words, slot * WORDS, 0);
}

/** The rates and burst a bucket pair is refilled with. */
export interface BucketRates {
  readonly itemRate: number;
  readonly byteRate: number;
  /** Seconds of each rate a bucket holds. */
  readonly burst: number;
}

/** Finds (or takes) the slot of `scope`/`tenant` and returns it locked. */
function lockedSlot(board: Board, scope: string, tenant: string, now: number, r: BucketRates) {
  const { words, floats, mask } = board;
  hashKey(scope, tenant);
  const hi = hashHi;
  const lo = hashLo;
  const start = (hi ^ lo) & mask;
  let oldest = -1;
  let oldestAt = Infinity;
  for (let p = 0; p < PROBES; p++) {
    const slot = (start + p) & mask;
    lock(words, slot);
    const w = slot * WORDS;
    if (words[w + 1] === 0) {
      words[w + 1] = 1;
      words[w + 2] = hi;
      words[w + 3] = lo;
      fill(floats, slot, now, r);
      return slot;
    }
    if (words[w + 2] === hi && words[w + 3] === lo) return slot;
    const at = floats[slot * FLOATS + AT]!;
    unlock(words, slot);
    if (at < oldestAt) {
      oldestAt = at;
      oldest = slot;
    }
  }
  // Every probed slot is taken: the least recently seen is forgotten.
  lock(words, oldest);
  const w = oldest * WORDS;
  words[w + 2] = hi;
  words[w + 3] = lo;
  fill(floats, oldest, now, r);
  return oldest;
}

function fill(floats: Float64Array, slot: number, now: number, r: BucketRates): void {
  const f = slot * FLOATS;
  floats[f + ITEMS] = r.itemRate * r.burst;
  floats[f + BYTES] = r.byteRate * r.burst;
  floats[f + AT] = now;
}

/** Milliseconds until a bucket at `level` of `rate` holds `need`, or 0 when it does. */
export function waitMs(level: number, rate: number, need: number, burst: number): number {
  if (rate <= 0) return 0;
  const required = Math.min(need, rate * burst);
  return level >= required ? 0 : ((required - level) / rate) * 1000;
}

/**
 * Decides `items` and `bytes` of `tenant` (of the receiver `scope`) on the joined board, charging
 * both buckets when admitted and `charge` is set; undefined when this isolate has no board.
 */
export function decideShared(
  scope: string,
  tenant: string,
  now: number,
  rates: BucketRates,
  items: number,
  bytes: number,
  charge: boolean,
): Admission | undefined {
  const board = joined;
  if (board === undefined) return undefined;
  const { words, floats } = board;
  const slot = lockedSlot(board, scope, tenant, now, rates);
  const f = slot * FLOATS;
  const { itemRate, byteRate, burst } = rates;
  try {
    const elapsed = Math.max(0, now - floats[f + AT]!) / 1000;
    if (now > floats[f + AT]!) floats[f + AT] = now;
    const itemLevel = Math.min(itemRate * burst, floats[f + ITEMS]! + elapsed * itemRate);
    const byteLevel = Math.min(byteRate * burst, floats[f + BYTES]! + elapsed * byteRate);
    floats[f + ITEMS] = itemLevel;
    floats[f + BYTES] = byteLevel;
    const itemWait = waitMs(itemLevel, itemRate, items, burst);
    const byteWait = waitMs(byteLevel, byteRate, bytes, burst);
    if (itemWait > 0 || byteWait > 0) {
      return {
        admitted: false,
        retryAfterMs: Math.ceil(Math.max(itemWait, byteWait)),
        limit: itemWait >= byteWait ? "items" : "bytes",
      };
    }
    if (charge && itemRate > 0) floats[f + ITEMS] = itemLevel - items;
    if (charge && byteRate > 0) floats[f + BYTES] = byteLevel - bytes;
    return ADMITTED;
  } finally {
    unlock(words, slot);
  }
}

const ADMITTED: Admission = Object.freeze({ admitted: true });

/** Slots in use on the joined board (a scan: for diagnostics and tests); 0 without a board. */
export function sharedBucketsInUse(): number {
  const board = joined;
  if (board === undefined) return 0;
  let n = 0;
  for (let slot = 0; slot <= board.mask; slot++) {
    if (Atomics.load(board.words, slot * WORDS + 1) !== 0) n++;
  }
  return n;
}
