/**
 * The count a sampled span stands for, from the OpenTelemetry sampling threshold in its W3C
 * tracestate (`ot=th:…`): 2^56 / (2^56 − threshold), rounded up or down at random in proportion
 * to the remainder, as the Collector's span metrics do. A span without a valid `th` counts once.
 *
 * @module
 */

const MAX_ADJUSTED = 1n << 56n;

/** The adjusted count and whether a threshold gave it. */
export interface AdjustedCount {
  count: number;
  adjusted: boolean;
}

const ONE: AdjustedCount = Object.freeze({ count: 1, adjusted: false });

/** The `th` value of the `ot` entry of a tracestate, if it has a well-formed one. */
export function thresholdOf(traceState: string): string | undefined {
  if (!traceState.includes("ot=")) return undefined;
  for (const member of traceState.split(",")) {
    const entry = member.trim();
    if (!entry.startsWith("ot=")) continue;
    for (const field of entry.slice(3).split(";")) {
      if (!field.startsWith("th:")) continue;
      const th = field.slice(3);
      return /^[0-9a-f]{1,14}$/.test(th) ? th : undefined;
    }
    return undefined;
  }
  return undefined;
}

/**
 * The adjusted count of a span with `traceState`.
 * @param random a source of uniform numbers in [0, 1), for the rounding
 */
export function adjustedCount(traceState: string, random: () => number): AdjustedCount {
  if (traceState === "") return ONE;
  const th = thresholdOf(traceState);
  if (th === undefined) return ONE;
  const threshold = BigInt(`0x${th.padEnd(14, "0")}`);
  const denominator = MAX_ADJUSTED - threshold;
  if (denominator === 0n) return ONE;
  let quotient = MAX_ADJUSTED / denominator;
  const remainder = MAX_ADJUSTED % denominator;
  if (remainder !== 0n && random() < Number(remainder) / Number(denominator)) quotient++;
  return { count: Number(quotient), adjusted: true };
}
