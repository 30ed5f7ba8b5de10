/**
 * The OpenTelemetry consistent-probability sampling numbers: 56-bit randomness (`rv`) and
 * rejection thresholds (`th`), as the specification (and the contrib `pkg/sampling`) define them.
 * Both are `bigint` in `[0, 2^56]`; an item is sampled when `threshold <= randomness`.
 *
 * @module
 */

/** 2^56: the number of randomness values; as a threshold, "never sample". */
export const MAX_ADJUSTED_COUNT = 1n << 56n;
/** Hex digits of a full threshold or randomness value. */
export const NUM_HEX_DIGITS = 14;
/** The threshold that samples everything (`th:0`). */
export const ALWAYS_SAMPLE_THRESHOLD = 0n;
/** The threshold that samples nothing (no `th` at all). */
export const NEVER_SAMPLE_THRESHOLD = MAX_ADJUSTED_COUNT;
/** The randomness that every threshold but "never" samples. */
export const ALL_PROBABILITIES_RANDOMNESS = MAX_ADJUSTED_COUNT - 1n;
/** The smallest sampling probability that has a threshold: 2^-56. */
export const MIN_SAMPLING_PROBABILITY = 1 / 2 ** 56;

/** A value that is not a valid `th` / `rv`, or a probability out of range. */
export class SamplingValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SamplingValueError";
  }
}

const HEX = /^[0-9a-fA-F]+$/;

/** Parses a `th` value (1–14 hex digits, zero-extended on the right). */
export function tValueToThreshold(s: string): bigint {
  if (s.length > NUM_HEX_DIGITS) throw new SamplingValueError("t-value exceeds 14 hex digits");
  if (s === "") throw new SamplingValueError("t-value is empty");
  if (!HEX.test(s)) throw new SamplingValueError(`invalid t-value syntax: ${s}`);
  return BigInt("0x" + s) << BigInt(4 * (NUM_HEX_DIGITS - s.length));
}

/** Parses an `rv` value (exactly 14 hex digits). */
export function rValueToRandomness(s: string): bigint {
  if (s.length !== NUM_HEX_DIGITS) throw new SamplingValueError("r-value must have 14 hex digits");
  if (!HEX.test(s)) throw new SamplingValueError(`invalid r-value syntax: ${s}`);
  return BigInt("0x" + s);
}

/** A randomness as its 14-digit `rv` text ("" when out of range). */
export function randomnessToRValue(rnd: bigint): string {
  if (rnd < 0n || rnd >= MAX_ADJUSTED_COUNT) return "";
  return (MAX_ADJUSTED_COUNT + rnd).toString(16).slice(1);
}

/** A threshold as its `th` text: trailing zeros dropped, `0` for always, "" for never. */
export function thresholdToTValue(th: bigint): string {
  if (th === ALWAYS_SAMPLE_THRESHOLD) return "0";
  if (th === NEVER_SAMPLE_THRESHOLD) return "";
  return randomnessToRValue(th).replace(/0+$/, "");
}

/** True when an item with this randomness passes this threshold. */
export function shouldSample(threshold: bigint, randomness: bigint): boolean {
  return threshold <= randomness;
}

/** The randomness of a trace ID: its last 7 bytes, big-endian. */
export function traceIdToRandomness(id: Uint8Array): bigint {
  let r = 0n;
  for (let i = 9; i < 16; i++) r = (r << 8n) | BigInt(id[i] ?? 0);
  return r;
}

/** The sampling probability a threshold stands for. */
export function thresholdProbability(th: bigint): number {
  return Number(MAX_ADJUSTED_COUNT - th) / 2 ** 56;
}

/** The exponent Go's `math.Frexp` returns: `x = f × 2^e` with `f` in [0.5, 1). */
function frexpExponent(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return 0;
  let e = Math.floor(Math.log2(Math.abs(x))) + 1;
  const f = Math.abs(x) / 2 ** e;
  if (f >= 1) e++;
  else if (f < 0.5) e--;
  return e;
}

/**
 * The threshold for a probability, rounded to `precision` hex digits (more for probabilities
 * near 0 or 1, as the specification says, so that they keep `precision` significant digits).
 * Throws {@linkcode SamplingValueError} outside [2^-56, 1].
 */
export function probabilityToThreshold(fraction: number, precision = NUM_HEX_DIGITS): bigint {
  if (precision === 0) precision = NUM_HEX_DIGITS;
  if (!(fraction >= MIN_SAMPLING_PROBABILITY && fraction <= 1)) {
    throw new SamplingValueError("sampling probability out of the range [1/MaxAdjustedCount, 1]");
  }
  if (fraction === 1) return ALWAYS_SAMPLE_THRESHOLD;
  const expF = frexpExponent(fraction);
  const expR = frexpExponent(1 - fraction);
  // Go's integer division truncates toward zero.
  precision = Math.min(
    NUM_HEX_DIGITS,
    Math.max(precision + Math.trunc(expF / -4), precision + Math.trunc(expR / -4)),
  );
  const scaled = BigInt(Math.round(fraction * 2 ** 56));
  let threshold = MAX_ADJUSTED_COUNT - scaled;
  const shift = BigInt(4 * (NUM_HEX_DIGITS - precision));
  if (shift !== 0n) {
    threshold += 1n << (shift - 1n);
    threshold >>= shift;
    threshold <<= shift;
  }
  return threshold;
}
