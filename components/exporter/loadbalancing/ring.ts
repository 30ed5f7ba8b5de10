/**
 * The consistent-hash ring of the `loadbalancing` exporter. Every backend owns
 * {@linkcode POINTS_PER_BACKEND} points on a 32-bit ring (hashes of `endpoint#i`); a key belongs to
 * the backend owning the first point at or after the key's hash. Adding a backend takes only the
 * arcs in front of its own points (about 1/n of the keys), and removing one gives only its keys to
 * the others: every other key stays where it was.
 *
 * @module
 */

/** Points each backend owns; more points spread keys more evenly (about 1/sqrt(points)). */
export const POINTS_PER_BACKEND = 5000;

const ENCODER = new TextEncoder();

/** FNV-1a over bytes, finished with Murmur3's avalanche so that nearby inputs spread out. */
export function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** {@linkcode hashBytes} of a string's UTF-8 bytes. */
export function hashString(text: string): number {
  return hashBytes(ENCODER.encode(text));
}

/** An immutable ring over a set of backends. */
export interface Ring {
  /** The backends, sorted. */
  readonly endpoints: readonly string[];
  /** The backend owning `hash`, or undefined when the ring is empty. */
  owner(hash: number): string | undefined;
}

/** Builds the ring of `endpoints` (duplicates count once). */
export function buildRing(
  endpoints: Iterable<string>,
  pointsPerBackend = POINTS_PER_BACKEND,
): Ring {
  const sorted = [...new Set(endpoints)].sort();
  const count = sorted.length * pointsPerBackend;
  const points = new Uint32Array(count);
  const owners = new Uint32Array(count);
  const order = new Uint32Array(count);
  const raw = new Uint32Array(count);
  sorted.forEach((endpoint, b) => {
    for (let i = 0; i < pointsPerBackend; i++) {
      raw[b * pointsPerBackend + i] = hashString(`${endpoint}#${i}`);
    }
  });
  for (let i = 0; i < count; i++) order[i] = i;
  // Ties (two backends hashing a point to the same value) go to the smaller endpoint: stable.
  order.sort((a, b) => raw[a]! - raw[b]! || a - b);
  for (let i = 0; i < count; i++) {
    points[i] = raw[order[i]!]!;
    owners[i] = Math.floor(order[i]! / pointsPerBackend);
  }
  return {
    endpoints: sorted,
    owner(hash) {
      if (count === 0) return undefined;
      let lo = 0;
      let hi = count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (points[mid]! < hash) lo = mid + 1;
        else hi = mid;
      }
      return sorted[owners[lo === count ? 0 : lo]!];
    },
  };
}
