/**
 * The span metrics' series: one table per metric per resource, keyed by the dimension values,
 * each bounded. Past its limit a new key goes to the one overflow series (attribute
 * `otel.metric.overflow: true`), as the Collector's `aggregation_cardinality_limit` does, so a
 * table never holds more than limit + 1 series.
 *
 * @module
 */
import type { Exemplar, KeyValue } from "../../../lib/pdata/types.ts";
import type { ExpoHistogram } from "./_expo_histogram.ts";

/** The attribute of the overflow series. */
export const OVERFLOW_KEY = "otel.metric.overflow";

/** What every series holds. */
export interface SeriesBase {
  attributes: KeyValue[];
  exemplars: Exemplar[];
  /** The start time of the series, in Unix nanoseconds. */
  start: bigint;
  /** When data last reached it, in clock milliseconds. */
  lastSeen: number;
}

/** A `calls` or `events` series. */
export interface SumSeries extends SeriesBase {
  count: number;
  /** Not yet exported: a cumulative sum's first point is 0, as the Collector's. */
  first: boolean;
}

/** An explicit-bucket `duration` series. */
export interface ExplicitSeries extends SeriesBase {
  buckets: number[];
  count: number;
  sum: number;
}

/** An exponential `duration` series. */
export interface ExpoSeries extends SeriesBase {
  histogram: ExpoHistogram;
}

/** What {@linkcode SeriesTable.get} found or made. */
export interface Found<T> {
  series: T;
  /** True when the key did not fit and the overflow series was given. */
  overflow: boolean;
}

/** A bounded map of series of one metric. */
export class SeriesTable<T extends SeriesBase> {
  readonly series: Map<string, T> = new Map();
  readonly #limit: number;
  readonly #make: (attributes: KeyValue[], start: bigint, now: number) => T;
  readonly #onOverflow: () => void;

  /**
   * @param limit the most series besides the overflow one
   * @param make makes a series with its attributes and start time
   * @param onOverflow called when a new key first goes to the overflow series
   */
  constructor(
    limit: number,
    make: (attributes: KeyValue[], start: bigint, now: number) => T,
    onOverflow: () => void,
  ) {
    this.#limit = limit;
    this.#make = make;
    this.#onOverflow = onOverflow;
  }

  /** The series of `key` if it exists, marked as seen `now`. */
  find(key: string, now: number): T | undefined {
    const series = this.series.get(key);
    if (series !== undefined) series.lastSeen = now;
    return series;
  }

  /**
   * Adds the series of a new `key` with its `attributes`, or gives the overflow series when the
   * table is full.
   */
  insert(key: string, attributes: () => KeyValue[], start: bigint, now: number): Found<T> {
    if (this.series.size >= this.#limit) {
      let series = this.series.get(OVERFLOW_KEY);
      if (series === undefined) {
        this.#onOverflow();
        series = this.#make([{ key: OVERFLOW_KEY, value: true }], start, now);
        this.series.set(OVERFLOW_KEY, series);
      }
      series.lastSeen = now;
      return { series, overflow: true };
    }
    const series = this.#make(attributes(), start, now);
    this.series.set(key, series);
    return { series, overflow: false };
  }

  /** Removes series that saw no data for `ttl` milliseconds. */
  expire(ttl: number, now: number): void {
    for (const [key, s] of this.series) if (now - s.lastSeen >= ttl) this.series.delete(key);
  }

  /** Drops every series' exemplars (they belong to one flush interval). */
  clearExemplars(): void {
    for (const s of this.series.values()) if (s.exemplars.length > 0) s.exemplars = [];
  }
}

/** Adds an exemplar unless the series has `max` already. */
export function addExemplar(
  series: SeriesBase,
  max: number,
  traceId: Uint8Array,
  spanId: Uint8Array,
  value: number,
): void {
  if (series.exemplars.length >= max) return;
  series.exemplars.push({
    filteredAttributes: [],
    timeUnixNano: 0n,
    value,
    traceId: traceId.slice(),
    spanId: spanId.slice(),
  });
}

/** A least-recently-used map with a capacity; evicted entries are kept (at most
 * `capacity` of them) until `clearEvicted`. */
export class LruMap<K, V> {
  readonly #capacity: number;
  readonly #live = new Map<K, V>();
  readonly #evicted = new Map<K, V>();

  /** @param capacity the most live entries */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The entry of `key`, made most recent; an evicted one comes back to life. */
  get(key: K): V | undefined {
    const v = this.#live.get(key);
    if (v !== undefined) {
      this.#live.delete(key);
      this.#live.set(key, v);
      return v;
    }
    const e = this.#evicted.get(key);
    if (e !== undefined) {
      this.#evicted.delete(key);
      this.set(key, e);
    }
    return e;
  }

  /** Adds or replaces an entry as the most recent; the least recent one past capacity is evicted. */
  set(key: K, value: V): void {
    this.#live.delete(key);
    this.#live.set(key, value);
    if (this.#live.size > this.#capacity) {
      const oldest = this.#live.keys().next().value as K;
      this.#evicted.set(oldest, this.#live.get(oldest)!);
      this.#live.delete(oldest);
      // Bounded too (the Collector keeps every evicted entry until the next flush).
      if (this.#evicted.size > this.#capacity) {
        this.#evicted.delete(this.#evicted.keys().next().value as K);
      }
    }
  }

  /** Removes an entry. */
  delete(key: K): void {
    this.#live.delete(key);
    this.#evicted.delete(key);
  }

  /** Forgets evicted entries. */
  clearEvicted(): void {
    this.#evicted.clear();
  }

  /** Removes everything. */
  clear(): void {
    this.#live.clear();
    this.#evicted.clear();
  }

  /** Live entries, oldest first, then evicted ones. */
  *entries(): IterableIterator<[K, V]> {
    yield* [...this.#live.entries()];
    yield* [...this.#evicted.entries()];
  }

  /** Live plus evicted entries. */
  get size(): number {
    return this.#live.size + this.#evicted.size;
  }
}
