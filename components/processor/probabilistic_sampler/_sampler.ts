/**
 * The sampling decision of the probabilistic sampler, mode by mode, as the contrib processor makes
 * it: where an item's randomness comes from (a hash of the trace ID or an attribute in
 * `hash_seed` mode; the trace ID's last 7 bytes or an explicit `rv` otherwise), the threshold the
 * mode chooses, the consistency checks, and the threshold recorded on items that pass.
 *
 * @module
 */
import { fnv1a32, uint32LE } from "../../../lib/sampling/fnv.ts";
import {
  ALL_PROBABILITIES_RANDOMNESS,
  ALWAYS_SAMPLE_THRESHOLD,
  MIN_SAMPLING_PROBABILITY,
  NEVER_SAMPLE_THRESHOLD,
  probabilityToThreshold,
  SamplingValueError,
  shouldSample,
  thresholdProbability,
} from "../../../lib/sampling/threshold.ts";
import type { ProbabilisticSamplerConfig } from "./config.ts";

const NUM_HASH_BUCKETS = 0x4000;
const BUCKET_MASK = NUM_HASH_BUCKETS - 1;
const PERCENTAGE_SCALE = Math.fround(NUM_HASH_BUCKETS / 100);

/** An item's randomness and the policy name it is counted under. */
export interface Randomness {
  readonly value: bigint;
  /** `trace_id_hash`, `trace_id_w3c`, `sampling_randomness`, `sampling_priority`, an attribute name, or `missing_randomness`. */
  readonly policy: string;
}

/** The randomness of an item that has none. */
export const MISSING: Randomness = {
  value: ALL_PROBABILITIES_RANDOMNESS,
  policy: "missing_randomness",
};

/** Where an item carries its sampling state (a span's tracestate, a record's attributes). */
export interface Carrier {
  /** The arriving threshold, if any. */
  threshold(): bigint | undefined;
  /** The explicit randomness (`rv`), if any. */
  randomness(): bigint | undefined;
  setRandomness(rnd: bigint): void;
  clearThreshold(): void;
  /** Records the threshold; false when that would raise an existing one's probability. */
  updateThreshold(th: bigint): boolean;
  /** Writes the state back into the item. */
  reserialize(): void;
}

/** An error that makes the item fail open or closed. */
export class SamplerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SamplerError";
  }
}

/** How the configured mode decides. */
export type Mode =
  | { kind: "never" }
  | { kind: "hash"; threshold: bigint; seed: Uint8Array }
  | { kind: "equalizing"; threshold: bigint }
  | { kind: "proportional"; ratio: number; precision: number };

/** The mode a config resolves to (unset is `hash_seed`), with its fixed threshold. */
export function makeMode(config: ProbabilisticSamplerConfig): Mode {
  const pct = Math.min(config.sampling_percentage, 100);
  const mode = config.mode === "" ? "hash_seed" : config.mode;
  if (pct === 0) return { kind: "never" };
  const ratio = Math.max(pct / 100, MIN_SAMPLING_PROBABILITY);
  if (mode === "equalizing") {
    return {
      kind: "equalizing",
      threshold: probabilityToThreshold(ratio, config.sampling_precision),
    };
  }
  if (mode === "proportional") {
    return { kind: "proportional", ratio, precision: config.sampling_precision };
  }
  // float32 arithmetic, as Go computes `pct * percentageScaleFactor` on a float32
  const scaled = Math.trunc(Math.fround(pct * PERCENTAGE_SCALE));
  if (scaled === 0) return { kind: "never" };
  const reject56 = BigInt(NUM_HASH_BUCKETS - scaled) << 42n;
  return { kind: "hash", threshold: reject56, seed: uint32LE(config.hash_seed) };
}

/**
 * The 56-bit randomness `hash_seed` mode derives from bytes: the low 14 bits of the seeded
 * FNV-1a 32 hash decide (as the sampler always has), the rest fill the lower bits.
 */
export function randomnessFromBytes(bytes: Uint8Array, seed: Uint8Array): bigint {
  const hashed32 = fnv1a32(seed, bytes);
  const hashed = hashed32 & BUCKET_MASK;
  const rprime14 = NUM_HASH_BUCKETS - 1 - hashed;
  const unused18 = hashed32 >>> (32 - 14);
  const mixed28 = (unused18 ^ (unused18 << 10)) >>> 0;
  return (BigInt(rprime14) << 42n) | (BigInt(mixed28) << 14n) | BigInt(hashed);
}

/** The threshold the mode applies to an item whose carrier passed the checks. */
export function decide(mode: Mode, carrier: Carrier | undefined): bigint {
  switch (mode.kind) {
    case "never":
      return NEVER_SAMPLE_THRESHOLD;
    case "hash":
      return mode.threshold;
    case "equalizing": {
      const tv = carrier?.threshold();
      return tv !== undefined && mode.threshold < tv ? tv : mode.threshold;
    }
    case "proportional": {
      const tv = carrier?.threshold();
      const incoming = tv === undefined ? 1 : thresholdProbability(tv);
      try {
        return probabilityToThreshold(incoming * mode.ratio, mode.precision);
      } catch (error) {
        if (error instanceof SamplingValueError) return NEVER_SAMPLE_THRESHOLD;
        throw error;
      }
    }
  }
}

/** What finding an item's randomness gave. */
export interface Found {
  rnd: Randomness;
  carrier: Carrier | undefined;
  error: Error | undefined;
}

/** A priority override: the randomness (renamed) and threshold to use instead. */
export type Priority = (rnd: Randomness, threshold: bigint) => [Randomness, bigint];

/**
 * The decision for one item: consistency checks, fail-open or fail-closed on errors, the mode's
 * threshold, the priority override, and on a pass the threshold written back to the carrier.
 * Returns whether it is kept and the policy it is counted under.
 */
export function shouldSampleItem(
  mode: Mode,
  found: Found,
  failClosed: boolean,
  priority: Priority,
): { sampled: boolean; policy: string } {
  let { rnd, carrier, error } = found;
  if (error === undefined) {
    if (rnd === MISSING) {
      error = new SamplerError("missing randomness");
    } else if (carrier !== undefined) {
      const tv = carrier.threshold();
      if (tv !== undefined && !shouldSample(tv, rnd.value)) {
        carrier.clearThreshold();
        error = new SamplerError(
          "inconsistent arriving threshold: item should not have been sampled",
        );
      }
    }
  }
  let threshold: bigint;
  if (error !== undefined) {
    threshold = failClosed ? NEVER_SAMPLE_THRESHOLD : ALWAYS_SAMPLE_THRESHOLD;
  } else {
    threshold = decide(mode, carrier);
  }
  [rnd, threshold] = priority(rnd, threshold);
  const sampled = shouldSample(threshold, rnd.value);
  if (sampled && carrier !== undefined) {
    carrier.updateThreshold(threshold);
    carrier.reserialize();
  }
  return { sampled, policy: rnd.policy };
}

/** The same randomness counted as `sampling_priority`. */
export function asPriority(rnd: Randomness): Randomness {
  return { value: rnd.value, policy: "sampling_priority" };
}

/** An item that already carries `rv` or `th` is refused by `hash_seed` mode. */
export const RANDOMNESS_IN_USE =
  "item has sampling randomness, equalizing or proportional mode recommended";
/** See {@linkcode RANDOMNESS_IN_USE}. */
export const THRESHOLD_IN_USE =
  "item has sampling threshold, equalizing or proportional mode recommended";
