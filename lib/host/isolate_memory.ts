/**
 * Live memory of the whole process when it runs several isolates (`service.workers` above 1).
 *
 * `Deno.memoryUsage()` reports the V8 heap and external memory of the calling isolate only, so a
 * memory limiter in each worker would allow N times its limit. Every isolate of the process
 * instead publishes its own live memory into one slot of a shared board, and
 * {@linkcode readProcessLiveMemory} sums the slots. The primary creates the board and hands it to
 * each worker at start; it clears the slot of a worker that died so the dead isolate is not
 * counted. A process with one isolate has no board and reads its own memory as before.
 *
 * @module
 */

/** KiB per slot unit: an Int32 slot then holds up to 2 TiB. */
const UNIT = 1024;

/** How often an isolate with a board refreshes its slot without being asked, in milliseconds. */
export const PUBLISH_INTERVAL_MS = 100;

interface Board {
  readonly slots: Int32Array;
  readonly index: number;
  readonly timer: ReturnType<typeof setInterval>;
}

let board: Board | undefined;

/** The calling isolate's live memory in bytes: the V8 heap in use plus external memory. */
export function readOwnLiveMemory(): number {
  const usage = Deno.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** A board with one slot per isolate, to be shared with the workers (primary side). */
export function createMemoryBoard(isolates: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * Math.max(1, isolates));
}

function publish(current: Board): void {
  const kib = Math.min(0x7fffffff, Math.ceil(readOwnLiveMemory() / UNIT));
  Atomics.store(current.slots, current.index, kib);
}

/**
 * Makes this isolate publish its live memory into slot `index` of `buffer`, now and every
 * {@linkcode PUBLISH_INTERVAL_MS}, and makes {@linkcode readProcessLiveMemory} sum the board.
 * The refresh timer does not keep the isolate alive.
 */
export function joinMemoryBoard(buffer: SharedArrayBuffer, index: number): void {
  leaveMemoryBoard();
  const slots = new Int32Array(buffer);
  if (index < 0 || index >= slots.length) {
    throw new RangeError(`Isolate ${index} has no slot on a board of ${slots.length}`);
  }
  const timer = setInterval(() => board !== undefined && publish(board), PUBLISH_INTERVAL_MS);
  Deno.unrefTimer(Number(timer));
  const joined: Board = { slots, index, timer };
  board = joined;
  publish(joined);
}

/** Stops publishing and clears this isolate's slot; reads are per isolate again. */
export function leaveMemoryBoard(): void {
  if (board === undefined) return;
  clearInterval(board.timer);
  Atomics.store(board.slots, board.index, 0);
  board = undefined;
}

/** Zeroes slot `index` of `buffer`: the isolate there is gone (primary side, on a worker's death). */
export function clearMemorySlot(buffer: SharedArrayBuffer, index: number): void {
  const slots = new Int32Array(buffer);
  if (index >= 0 && index < slots.length) Atomics.store(slots, index, 0);
}

/**
 * The live memory of every isolate of the process in bytes: this isolate's, measured now, plus
 * what the others last published (at most {@linkcode PUBLISH_INTERVAL_MS} old). Without a board,
 * this isolate's own.
 */
export function readProcessLiveMemory(): number {
  const current = board;
  if (current === undefined) return readOwnLiveMemory();
  publish(current);
  let kib = 0;
  for (let i = 0; i < current.slots.length; i++) kib += Atomics.load(current.slots, i);
  return kib * UNIT;
}
