/**
 * Token buckets per tenant: one for items, one for bytes, each refilled at its rate up to
 * `burst_seconds` of it. A request is admitted when every limited bucket holds what it needs (a
 * request larger than a whole bucket is admitted once that bucket is full, and leaves it in debt);
 * then both are charged. A refused request charges nothing and is told when enough will be
 * there. Buckets are independent: one tenant's traffic never touches another's.
 *
 * Given a `scope` (the receiver's ID), a limiter in an isolate that joined the process's bucket
 * board (`shared_buckets.ts`, with `service.workers` above 1) keeps its buckets there, shared
 * with the same receiver's limiters in the other workers, so the rate bounds the process.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { RateLimitConfig } from "./config.ts";
import {
  type BucketRates,
  decideShared,
  hasBucketBoard,
  sharedBucketsInUse,
  waitMs,
} from "./shared_buckets.ts";

/** The answer to a request: admitted, or refused with the wait until it would be. */
export type Admission =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly retryAfterMs: number; readonly limit: "items" | "bytes" };

const ADMITTED: Admission = Object.freeze({ admitted: true });

interface Bucket {
  items: number;
  bytes: number;
  at: number;
  readonly itemRate: number;
  readonly byteRate: number;
}

/** Limits per tenant. */
export interface RateLimiter {
  /** Admits (and charges) or refuses `items` and `bytes` of `tenant` now. */
  admit(tenant: string, items: number, bytes: number): Admission;
  /**
   * Whether `items` and `bytes` of `tenant` would be admitted now, charging nothing: a receiver
   * asks with one item and the declared length before it reads a body, so a tenant over its
   * limit is refused without the cost of reading, decompressing and checking what it sent.
   */
  check(tenant: string, items: number, bytes: number): Admission;
  /** Tenants tracked now. */
  readonly size: number;
}

/** Options of {@linkcode createRateLimiter}. */
export interface RateLimiterOptions {
  /**
   * What names this limiter's buckets on the process's shared board (the receiver's ID); without
   * it the buckets are always this limiter's own.
   */
  readonly scope?: string | undefined;
}

/** Creates the limiter a validated `rate_limit` describes. */
export function createRateLimiter(
  config: RateLimitConfig,
  clock: Clock,
  options: RateLimiterOptions = {},
): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const burst = config.burst_seconds;
  const scope = options.scope;
  const defaultRates: BucketRates = {
    itemRate: config.items_per_second,
    byteRate: config.bytes_per_second,
    burst,
  };
  const overrideRates = new Map<string, BucketRates>();
  for (const [tenant, o] of Object.entries(config.overrides)) {
    overrideRates.set(tenant, {
      itemRate: o.items_per_second ?? config.items_per_second,
      byteRate: o.bytes_per_second ?? config.bytes_per_second,
      burst,
    });
  }

  function bucketOf(tenant: string, now: number): Bucket {
    let bucket = buckets.get(tenant);
    if (bucket !== undefined) {
      buckets.delete(tenant); // re-inserted below: the map's order is least recently seen first
    } else {
      const override = config.overrides[tenant];
      const itemRate = override?.items_per_second ?? config.items_per_second;
      const byteRate = override?.bytes_per_second ?? config.bytes_per_second;
      bucket = { items: itemRate * burst, bytes: byteRate * burst, at: now, itemRate, byteRate };
      if (buckets.size >= config.max_tenants) {
        const oldest = buckets.keys().next();
        if (!oldest.done) buckets.delete(oldest.value);
      }
    }
    buckets.set(tenant, bucket);
    return bucket;
  }

  const wait = (level: number, rate: number, need: number) => waitMs(level, rate, need, burst);

  return {
    admit: (tenant, items, bytes) => decide(tenant, items, bytes, true),
    check: (tenant, items, bytes) => decide(tenant, items, bytes, false),
    get size() {
      return scope !== undefined && hasBucketBoard() ? sharedBucketsInUse() : buckets.size;
    },
  };

  function decide(tenant: string, items: number, bytes: number, charge: boolean): Admission {
    const now = clock.now();
    if (scope !== undefined) {
      const rates = overrideRates.get(tenant) ?? defaultRates;
      const shared = decideShared(scope, tenant, now, rates, items, bytes, charge);
      if (shared !== undefined) return shared;
    }
    const b = bucketOf(tenant, now);
    const elapsed = Math.max(0, now - b.at) / 1000;
    b.at = now;
    b.items = Math.min(b.itemRate * burst, b.items + elapsed * b.itemRate);
    b.bytes = Math.min(b.byteRate * burst, b.bytes + elapsed * b.byteRate);
    const itemWait = wait(b.items, b.itemRate, items);
    const byteWait = wait(b.bytes, b.byteRate, bytes);
    if (itemWait > 0 || byteWait > 0) {
      return {
        admitted: false,
        retryAfterMs: Math.ceil(Math.max(itemWait, byteWait)),
        limit: itemWait >= byteWait ? "items" : "bytes",
      };
    }
    if (charge && b.itemRate > 0) b.items -= items;
    if (charge && b.byteRate > 0) b.bytes -= bytes;
    return ADMITTED;
  }
}
