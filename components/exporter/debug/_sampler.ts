/**
 * The debug exporter's sampling, after the Collector's log sampler: per key and per one-second
 * window, the first `initial` events pass, then every `thereafter`-th.
 *
 * @module
 */

/** Decides whether the next event of a key is written. */
export type Sampler = (key: string) => boolean;

/**
 * Creates a sampler.
 * @param now the clock in milliseconds (a fake one in tests)
 */
export function createSampler(
  initial: number,
  thereafter: number,
  now: () => number = Date.now,
): Sampler {
  const windows = new Map<string, { start: number; count: number }>();
  return (key) => {
    const t = now();
    let w = windows.get(key);
    if (w === undefined || t - w.start >= 1000) {
      w = { start: t, count: 0 };
      windows.set(key, w);
    }
    const n = ++w.count;
    if (n <= initial) return true;
    return thereafter > 0 && (n - initial) % thereafter === 0;
  };
}
