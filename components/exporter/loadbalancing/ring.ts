/**
 * The consistent-hash ring of the `loadbalancing` exporter. Every backend owns
 * {@linkcode POINTS_PER_BACKEND} points on a 32-bit ring (hashes of `endpoint#i`); a key belongs to
 * the backend owning the first point at or after the key's hash. Adding a backend takes only the
 * arcs in front of its own points (about 1/n of the keys), and removing one gives only its keys to
 * the others: every other key stays where it was.
 *
 * @module
 */
import { hashRange } from "../../../lib/hash.ts";

/** Points each backend owns; more points spread keys more evenly (about 1/sqrt(points)). */
export const POINTS_PER_BACKEND = 5000;

const ENCODER = new TextEncoder();

/** {@linkcode hashRange} of all of `bytes`: the ring's key hash, the same as the shard placement's. */
export function hashBytes(bytes: Uint8Array): number {
  return hashRange(bytes, 0, bytes.length);
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
