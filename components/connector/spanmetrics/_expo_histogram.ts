/**
 * A base-2 exponential histogram that aggregates the way the Collector's span metrics do
 * (lightstep/go-expohisto): it starts at scale 20 and halves its resolution as few times as needed
 * to keep every positive index within `maxSize` buckets. Indices follow the OpenTelemetry
 * mapping: logarithm above scale 0 (exact at powers of two), the float exponent at or below it.
 *
 * @module
 */
import type { ExponentialHistogramDataPoint } from "../../../lib/pdata/types.ts";

/** The scale a new histogram starts at. */
export const MAX_SCALE = 20;

const view = new DataView(new ArrayBuffer(8));

/** The unbiased base-2 exponent of a normal positive float. */
function exponentOf(value: number): number {
  view.setFloat64(0, value);
  return ((view.getUint32(0) >>> 20) & 0x7ff) - 1023;
}

/** True when the float's significand is zero (the value is an exact power of two). */
function isPowerOfTwo(value: number): boolean {
  view.setFloat64(0, value);
  return (view.getUint32(0) & 0xfffff) === 0 && view.getUint32(4) === 0;
}

const MIN_NORMAL = 2.2250738585072014e-308;
const MIN_NORMAL_EXPONENT = -1022;
const MAX_NORMAL_EXPONENT = 1023;

/** The bucket index of a positive value at `scale`. */
export function mapToIndex(value: number, scale: number): number {
  if (scale > 0) {
    if (value <= MIN_NORMAL) return MIN_NORMAL_EXPONENT * 2 ** scale - 1;
    if (isPowerOfTwo(value)) return exponentOf(value) * 2 ** scale - 1;
    const index = Math.floor(Math.log(value) * (Math.LOG2E * 2 ** scale));
    const max = (MAX_NORMAL_EXPONENT + 1) * 2 ** scale - 1;
    return index >= max ? max : index;
  }
  const shift = -scale;
  if (value < MIN_NORMAL) return MIN_NORMAL_EXPONENT >> shift;
  const correction = isPowerOfTwo(value) ? -1 : 0;
  return (exponentOf(value) + correction) >> shift;
}

/** One exponential histogram's running state. */
export class ExpoHistogram {
  #maxSize: number;
  #scale = MAX_SCALE;
  #start = 0;
  #counts: number[] = [];
  #zeroCount = 0;
  #count = 0;
  #sum = 0;
  #min = 0;
  #max = 0;

  /** @param maxSize the most positive buckets kept (the Collector's `max_size`) */
  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  /** Adds `value` `n` times (values are durations: never negative). */
  observe(value: number, n: number): void {
    if (this.#count === 0) {
      this.#min = value;
      this.#max = value;
    } else {
      if (value < this.#min) this.#min = value;
      if (value > this.#max) this.#max = value;
    }
    this.#count += n;
    if (value === 0) {
      this.#zeroCount += n;
      return;
    }
    this.#sum += value * n;
    if (n === 0) return;
    let index = mapToIndex(value, this.#scale);
    if (this.#counts.length === 0) {
      this.#start = index;
      this.#counts.push(n);
      return;
    }
    let end = this.#start + this.#counts.length - 1;
    let low = Math.min(this.#start, index);
    let high = Math.max(end, index);
    if (high - low >= this.#maxSize) {
      let change = 0;
      while (high - low >= this.#maxSize) {
        high = Math.floor(high / 2);
        low = Math.floor(low / 2);
        change++;
      }
      this.#downscale(change);
      index = mapToIndex(value, this.#scale);
      end = this.#start + this.#counts.length - 1;
    }
    if (index < this.#start) {
      const grow = this.#start - index;
      this.#counts.unshift(...new Array<number>(grow).fill(0));
      this.#start = index;
    } else if (index > end) {
      for (let i = end; i < index; i++) this.#counts.push(0);
    }
    this.#counts[index - this.#start]! += n;
  }

  #downscale(change: number): void {
    const factor = 2 ** change;
    const start = Math.floor(this.#start / factor);
    const out: number[] = [];
    for (let i = 0; i < this.#counts.length; i++) {
      const at = Math.floor((this.#start + i) / factor) - start;
      out[at] = (out[at] ?? 0) + this.#counts[i]!;
    }
    this.#start = start;
    this.#counts = out;
    this.#scale -= change;
  }

  /** Fills the values of a data point (attributes and timestamps are the caller's). */
  fill(dp: ExponentialHistogramDataPoint): void {
    dp.count = BigInt(this.#count);
    dp.sum = this.#sum;
    if (this.#count !== 0) {
      dp.min = this.#min;
      dp.max = this.#max;
    }
    dp.zeroCount = BigInt(this.#zeroCount);
    dp.scale = this.#scale;
    dp.positive = {
      offset: this.#counts.length === 0 ? 0 : this.#start,
      bucketCounts: this.#counts.map(BigInt),
    };
    dp.negative = { offset: 0, bucketCounts: [] };
    dp.zeroThreshold = 0;
  }
}
