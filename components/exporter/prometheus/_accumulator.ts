/**
 * The `prometheus` exporter's state: the last value of every series, with the Collector's
 * accumulation rules (its `lastValueAccumulator`):
 *
 * - gauges, cumulative sums, histograms and summaries: the newest point wins; an older one is
 *   ignored;
 * - monotonic delta sums: a point whose start time equals the stored point's time is added to it
 *   (keeping the stored start time); any other start time starts over from the point's value;
 *   non-monotonic delta sums are refused (they cannot become a cumulative series);
 * - delta histograms (explicit and exponential): a point starting where the stored one ended is
 *   merged into it (explicit buckets added when the bounds match, else the newer point replaces;
 *   exponential ones downscaled to the smaller scale and merged); a point starting later is a
 *   reset; one starting earlier is misaligned and dropped;
 * - a point flagged "no recorded value" removes its series;
 * - sums and histograms with unspecified temporality are dropped.
 *
 * A series is keyed by metric name and type, scope (name, version, schema URL, attributes), point
 * attributes and the resource's `job`/`instance`; its labels are computed once, when it is first
 * seen. Series not updated for `metric_expiration` are dropped at scrape time and by a periodic
 * sweep, so the state is bounded by the number of distinct series seen in that window.
 *
 * @module
 */
import type {
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  KeyValue,
  Metric,
  NumberDataPoint,
  SummaryDataPoint,
} from "../../../lib/pdata/types.ts";
import { AggregationTemporality } from "../../../lib/pdata/types.ts";
import { anyValueToString } from "../../../lib/pdata/attributes.ts";

/** The kind of a stored series. */
export type SeriesKind = "gauge" | "sum" | "histogram" | "exponentialHistogram" | "summary";

/** A stored exemplar, copied out of the request (no views into its bytes). */
export interface StoredExemplar {
  readonly value: number;
  /** Seconds since the epoch, as `float64(ns) / 1e9`. */
  readonly timeSeconds: number;
  readonly timeNs: bigint;
  readonly traceId: string;
  readonly spanId: string;
}

/** The scope a series came from. */
export interface SeriesScope {
  readonly name: string;
  readonly version: string;
  readonly schemaUrl: string;
  readonly attributes: readonly KeyValue[];
}

/** One stored series. */
export interface Series {
  readonly kind: SeriesKind;
  name: string;
  description: string;
  unit: string;
  monotonic: boolean;
  /** The metric was an untyped Prometheus metric (`prometheus.type: unknown` metadata). */
  untyped: boolean;
  /** Point attributes as strings, resource attributes merged in when configured. */
  readonly attributes: ReadonlyMap<string, string>;
  readonly scope: SeriesScope;
  resource: readonly KeyValue[];
  readonly job: string | undefined;
  readonly instance: string | undefined;
  startNs: bigint;
  timeNs: bigint;
  /** gauge / sum value. */
  value: number;
  count: bigint;
  sum: number;
  hasSum: boolean;
  bounds: number[];
  bucketCounts: bigint[];
  quantiles: [number, number][];
  exp?: ExpState;
  exemplars: StoredExemplar[];
  /** Wall-clock milliseconds of the last update. */
  updated: number;
  /** Cached by the collector: labels, as sorted pairs. */
  labels?: readonly (readonly [string, string])[];
}

/** An exponential histogram's buckets. */
export interface ExpState {
  scale: number;
  zeroThreshold: number;
  zeroCount: bigint;
  posOffset: number;
  pos: bigint[];
  negOffset: number;
  neg: bigint[];
  min?: number;
  max?: number;
}

/** Why points were not accumulated, for the self-metric. */
export type DropReason =
  | "non_monotonic_delta"
  | "unspecified_temporality"
  | "misaligned_delta"
  | "no_data";

/** Options of {@linkcode Accumulator}. */
export interface AccumulatorOptions {
  /** Series not updated for this long are dropped; 0 keeps them forever. */
  readonly expirationMs: number;
  /** Resource attributes to copy onto points (`undefined`: none). */
  readonly resourceLabels: ((key: string) => boolean) | undefined;
  /** Wall clock. @default Date.now */
  readonly now?: () => number;
  /** Counts dropped points. */
  readonly onDrop?: (reason: DropReason, points: number) => void;
}

function stringAttr(attrs: readonly KeyValue[], key: string): string | undefined {
  for (const kv of attrs) if (kv.key === key) return anyValueToString(kv.value);
  return undefined;
}

/** `service.namespace/service.name`, or `service.name`, as the Collector derives `job`. */
export function jobOf(resource: readonly KeyValue[]): string | undefined {
  const name = stringAttr(resource, "service.name");
  if (name === undefined) return undefined;
  const ns = stringAttr(resource, "service.namespace");
  return ns === undefined ? name : `${ns}/${name}`;
}

/** `service.instance.id`, as the Collector derives `instance`. */
export function instanceOf(resource: readonly KeyValue[]): string | undefined {
  return stringAttr(resource, "service.instance.id");
}

function numberValue(v: number | bigint | undefined): number {
  return v === undefined ? 0 : Number(v);
}

function copyExemplars(
  exemplars: readonly {
    value: number | bigint | undefined;
    timeUnixNano: bigint;
    traceId: Uint8Array;
    spanId: Uint8Array;
  }[],
): StoredExemplar[] {
  if (exemplars.length === 0) return [];
  return exemplars.map((e) => ({
    value: numberValue(e.value),
    timeSeconds: Number(e.timeUnixNano) / 1e9,
    timeNs: e.timeUnixNano,
    traceId: hex(e.traceId),
    spanId: hex(e.spanId),
  }));
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

const NO_RECORDED_VALUE = 1;

/**
 * Sorts pairs by key in place (a repeated key keeps its last value, as a map would) and joins
 * them into a series key. Attributes often arrive sorted already: then nothing is sorted.
 */
function pairsKey(pairs: [string, string][]): string {
  if (pairs.length === 0) return "";
  let sorted = true;
  for (let i = 1; i < pairs.length; i++) {
    if (pairs[i - 1]![0] >= pairs[i]![0]) {
      sorted = false;
      break;
    }
  }
  if (!sorted) {
    pairs.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0); // stable: last of a key last
    let w = 0;
    for (let r = 0; r < pairs.length; r++) {
      if (r + 1 < pairs.length && pairs[r + 1]![0] === pairs[r]![0]) continue;
      pairs[w++] = pairs[r]!;
    }
    pairs.length = w;
  }
  let out = pairs[0]![0] + "\u0000" + pairs[0]![1];
  for (let i = 1; i < pairs.length; i++) out += "\u0001" + pairs[i]![0] + "\u0000" + pairs[i]![1];
  return out;
}

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

function downscale(offset: number, counts: bigint[], from: number, to: number) {
  if (counts.length === 0 || from <= to) return { offset, counts };
  const factor = 2 ** (from - to);
  const newOffset = floorDiv(offset, factor);
  const last = floorDiv(offset + counts.length - 1, factor);
  const out: bigint[] = new Array(last - newOffset + 1).fill(0n);
  for (let i = 0; i < counts.length; i++) {
    const k = floorDiv(offset + i, factor) - newOffset;
    out[k] = out[k]! + counts[i]!;
  }
  return { offset: newOffset, counts: out };
}

function mergeBuckets(aOff: number, a: bigint[], bOff: number, b: bigint[]) {
  if (a.length === 0) return { offset: b.length === 0 ? 0 : bOff, counts: b };
  if (b.length === 0) return { offset: aOff, counts: a };
  const lo = Math.min(aOff, bOff);
  const hi = Math.max(aOff + a.length, bOff + b.length);
  const out: bigint[] = new Array(hi - lo).fill(0n);
  a.forEach((c, i) => out[aOff + i - lo] = out[aOff + i - lo]! + c);
  b.forEach((c, i) => out[bOff + i - lo] = out[bOff + i - lo]! + c);
  return { offset: lo, counts: out };
}

/** Moves positive buckets whose upper bound is within `threshold` into the zero bucket. */
function filterZero(offset: number, counts: bigint[], scale: number, threshold: number) {
  if (counts.length === 0 || threshold <= 0) return { offset, counts, zero: 0n };
  let zero = 0n;
  for (let i = 0; i < counts.length; i++) {
    const upper = Math.pow(2, scale + offset + i + 1);
    if (upper > threshold) return { offset: offset + i, counts: counts.slice(i), zero };
    zero += counts[i]!;
  }
  return { offset: 0, counts: [], zero };
}

function expState(p: ExponentialHistogramDataPoint): ExpState {
  const s: ExpState = {
    scale: p.scale,
    zeroThreshold: p.zeroThreshold,
    zeroCount: p.zeroCount,
    posOffset: p.positive.offset,
    pos: [...p.positive.bucketCounts],
    negOffset: p.negative.offset,
    neg: [...p.negative.bucketCounts],
  };
  if (p.min !== undefined) s.min = p.min;
  if (p.max !== undefined) s.max = p.max;
  return s;
}

/** Holds every series and applies the accumulation rules. */
export class Accumulator {
  readonly #series = new Map<string, Series>();
  readonly #options: AccumulatorOptions;
  readonly #now: () => number;

  constructor(options: AccumulatorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The number of series held. */
  get size(): number {
    return this.#series.size;
  }

  #drop(reason: DropReason, points: number): void {
    if (points > 0) this.#options.onDrop?.(reason, points);
  }

  /** Accumulates one metric of a resource and scope; returns the points taken. */
  add(metric: Metric, scope: SeriesScope, resource: readonly KeyValue[]): number {
    const data = metric.data;
    if (data === undefined) return 0;
    const now = this.#now();
    const job = jobOf(resource);
    const instance = instanceOf(resource);
    const scopeAttrs: [string, string][] = scope.attributes.map((kv) => [
      kv.key,
      anyValueToString(kv.value),
    ]);
    const prefix = `${metric.name}\u0002${data.type}\u0002${scope.name}\u0002${scope.version}` +
      `\u0002${scope.schemaUrl}\u0002${pairsKey(scopeAttrs)}\u0002${job ?? "\u0003"}` +
      `\u0002${instance ?? "\u0003"}\u0002`;
    const resourceExtra = this.#resourceExtra(resource);
    // The Collector would expose a gauge with `prometheus.type: unknown` metadata as untyped,
    // but its accumulator drops metric metadata first, so in effect it never does; neither does
    // tfo, so that both expose the same.
    const untyped = false;
    let taken = 0;
    const start = (pairs: [string, string][], kind: SeriesKind): Series => ({
      kind,
      name: metric.name,
      description: metric.description,
      unit: metric.unit,
      monotonic: false,
      untyped,
      attributes: new Map(pairs),
      scope,
      resource,
      job,
      instance,
      startNs: 0n,
      timeNs: 0n,
      value: 0,
      count: 0n,
      sum: 0,
      hasSum: false,
      bounds: [],
      bucketCounts: [],
      quantiles: [],
      exemplars: [],
      updated: now,
    });
    const lookup = (attributes: readonly KeyValue[], kind: SeriesKind) => {
      const attrs: [string, string][] = new Array(attributes.length);
      for (let i = 0; i < attributes.length; i++) {
        const kv = attributes[i]!;
        attrs[i] = [kv.key, anyValueToString(kv.value)];
      }
      if (resourceExtra !== undefined) { for (const pair of resourceExtra) attrs.push(pair); }
      const key = prefix + pairsKey(attrs);
      return { key, attrs, existing: this.#series.get(key), kind };
    };
    const store = (key: string, s: Series) => {
      s.name = metric.name;
      s.description = metric.description;
      s.unit = metric.unit;
      s.untyped = untyped;
      s.resource = resource;
      s.updated = now;
      this.#series.set(key, s);
      taken++;
    };

    switch (data.type) {
      case "gauge":
      case "summary": {
        for (const p of data.dataPoints as (NumberDataPoint | SummaryDataPoint)[]) {
          const { key, attrs, existing } = lookup(p.attributes, data.type);
          if ((p.flags & NO_RECORDED_VALUE) !== 0) {
            this.#series.delete(key);
            continue;
          }
          if (existing !== undefined && p.timeUnixNano < existing.timeNs) continue;
          const s = existing ?? start(attrs, data.type);
          s.startNs = p.startTimeUnixNano;
          s.timeNs = p.timeUnixNano;
          if (data.type === "gauge") {
            s.value = numberValue((p as NumberDataPoint).value);
            s.exemplars = copyExemplars((p as NumberDataPoint).exemplars);
          } else {
            const q = p as SummaryDataPoint;
            s.count = q.count;
            s.sum = q.sum;
            s.hasSum = true;
            s.quantiles = q.quantileValues.map((v) => [v.quantile, v.value]);
          }
          store(key, s);
        }
        break;
      }
      case "sum": {
        const temporality = data.aggregationTemporality;
        if (temporality === AggregationTemporality.UNSPECIFIED) {
          this.#drop("unspecified_temporality", data.dataPoints.length);
          break;
        }
        const delta = temporality === AggregationTemporality.DELTA;
        if (delta && !data.isMonotonic) {
          this.#drop("non_monotonic_delta", data.dataPoints.length);
          break;
        }
        for (const p of data.dataPoints) {
          const { key, attrs, existing } = lookup(p.attributes, "sum");
          if ((p.flags & NO_RECORDED_VALUE) !== 0) {
            this.#series.delete(key);
            continue;
          }
          let value = numberValue(p.value);
          let startNs = p.startTimeUnixNano;
          if (existing !== undefined) {
            if (p.timeUnixNano < existing.timeNs) continue;
            if (delta && p.startTimeUnixNano === existing.timeNs) {
              startNs = existing.startNs;
              value += existing.value;
            }
          }
          const s = existing ?? start(attrs, "sum");
          s.monotonic = data.isMonotonic;
          s.startNs = startNs;
          s.timeNs = p.timeUnixNano;
          s.value = value;
          s.exemplars = copyExemplars(p.exemplars);
          store(key, s);
        }
        break;
      }
      case "histogram": {
        const temporality = data.aggregationTemporality;
        for (const p of data.dataPoints) {
          const { key, attrs, existing } = lookup(p.attributes, "histogram");
          if ((p.flags & NO_RECORDED_VALUE) !== 0) {
            this.#series.delete(key);
            continue;
          }
          if (existing === undefined) {
            store(key, this.#setHistogram(start(attrs, "histogram"), p));
            continue;
          }
          if (temporality === AggregationTemporality.DELTA) {
            if (p.startTimeUnixNano !== existing.timeNs) {
              if (p.startTimeUnixNano <= existing.timeNs) {
                this.#drop("misaligned_delta", 1);
                continue;
              }
              store(key, this.#setHistogram(existing, p));
            } else {
              store(key, this.#mergeHistogram(existing, p));
            }
          } else if (temporality === AggregationTemporality.CUMULATIVE) {
            if (p.timeUnixNano < existing.timeNs) continue;
            store(key, this.#setHistogram(existing, p));
          } else {
            this.#drop("unspecified_temporality", 1);
          }
        }
        break;
      }
      case "exponentialHistogram": {
        const temporality = data.aggregationTemporality;
        for (const p of data.dataPoints) {
          const { key, attrs, existing } = lookup(p.attributes, "exponentialHistogram");
          if ((p.flags & NO_RECORDED_VALUE) !== 0) {
            this.#series.delete(key);
            continue;
          }
          if (existing === undefined) {
            store(key, this.#setExp(start(attrs, "exponentialHistogram"), p));
            continue;
          }
          if (temporality === AggregationTemporality.DELTA) {
            if (p.startTimeUnixNano !== existing.timeNs) {
              if (p.startTimeUnixNano <= existing.timeNs) {
                this.#drop("misaligned_delta", 1);
                continue;
              }
              store(key, this.#setExp(existing, p));
            } else {
              store(key, this.#mergeExp(existing, p));
            }
          } else if (temporality === AggregationTemporality.CUMULATIVE) {
            if (p.timeUnixNano < existing.timeNs) continue;
            store(key, this.#setExp(existing, p));
          } else {
            this.#drop("unspecified_temporality", 1);
          }
        }
        break;
      }
    }
    return taken;
  }

  #resourceExtra(resource: readonly KeyValue[]): Map<string, string> | undefined {
    const match = this.#options.resourceLabels;
    if (match === undefined || resource.length === 0) return undefined;
    const out = new Map<string, string>();
    for (const kv of resource) if (match(kv.key)) out.set(kv.key, anyValueToString(kv.value));
    return out.size === 0 ? undefined : out;
  }

  #setHistogram(s: Series, p: HistogramDataPoint): Series {
    s.startNs = p.startTimeUnixNano;
    s.timeNs = p.timeUnixNano;
    s.count = p.count;
    s.sum = p.sum ?? 0;
    s.hasSum = p.sum !== undefined;
    s.bounds = [...p.explicitBounds];
    s.bucketCounts = [...p.bucketCounts];
    s.exemplars = copyExemplars(p.exemplars);
    return s;
  }

  #mergeHistogram(s: Series, p: HistogramDataPoint): Series {
    // The stored point is older (its end is this point's start).
    const match = s.bounds.length === p.explicitBounds.length &&
      s.bounds.every((b, i) => b === p.explicitBounds[i]);
    s.timeNs = p.timeUnixNano;
    if (match) {
      s.count += p.count;
      s.sum += p.sum ?? 0;
      s.bucketCounts = p.bucketCounts.map((c, i) => c + (s.bucketCounts[i] ?? 0n));
    } else {
      s.count = p.count;
      s.sum = p.sum ?? 0;
      s.bucketCounts = [...p.bucketCounts];
    }
    s.hasSum = true;
    s.bounds = [...p.explicitBounds];
    s.exemplars = []; // a merged point carries no exemplars, as in the Collector
    return s;
  }

  #setExp(s: Series, p: ExponentialHistogramDataPoint): Series {
    s.startNs = p.startTimeUnixNano;
    s.timeNs = p.timeUnixNano;
    s.count = p.count;
    s.sum = p.sum ?? 0;
    s.hasSum = p.sum !== undefined;
    s.exp = expState(p);
    s.exemplars = copyExemplars(p.exemplars);
    return s;
  }

  #mergeExp(s: Series, p: ExponentialHistogramDataPoint): Series {
    const prev = s.exp!;
    const scale = Math.min(prev.scale, p.scale);
    const threshold = Math.max(prev.zeroThreshold, p.zeroThreshold);
    let pp = downscale(prev.posOffset, prev.pos, prev.scale, scale);
    const pn = downscale(prev.negOffset, prev.neg, prev.scale, scale);
    let cp = downscale(p.positive.offset, [...p.positive.bucketCounts], p.scale, scale);
    const cn = downscale(p.negative.offset, [...p.negative.bucketCounts], p.scale, scale);
    let extraZero = 0n;
    if (threshold > prev.zeroThreshold) {
      const f = filterZero(pp.offset, pp.counts, scale, threshold);
      pp = f;
      extraZero += f.zero;
    }
    if (threshold > p.zeroThreshold) {
      const f = filterZero(cp.offset, cp.counts, scale, threshold);
      cp = f;
      extraZero += f.zero;
    }
    const pos = mergeBuckets(pp.offset, pp.counts, cp.offset, cp.counts);
    const neg = mergeBuckets(pn.offset, pn.counts, cn.offset, cn.counts);
    const next: ExpState = {
      scale,
      zeroThreshold: threshold,
      zeroCount: prev.zeroCount + p.zeroCount + extraZero,
      posOffset: pos.offset,
      pos: pos.counts,
      negOffset: neg.offset,
      neg: neg.counts,
    };
    const min = prev.min === undefined
      ? p.min
      : p.min === undefined
      ? prev.min
      : Math.min(prev.min, p.min);
    const max = prev.max === undefined
      ? p.max
      : p.max === undefined
      ? prev.max
      : Math.max(prev.max, p.max);
    if (min !== undefined) next.min = min;
    if (max !== undefined) next.max = max;
    s.exp = next;
    s.timeNs = p.timeUnixNano;
    s.count += p.count;
    if (s.hasSum && p.sum !== undefined) s.sum += p.sum;
    else s.hasSum = false;
    s.exemplars = []; // a merged point carries no exemplars, as in the Collector
    return s;
  }

  /** The live series; expired ones are removed on the way. */
  collect(): Series[] {
    this.sweep();
    return [...this.#series.values()];
  }

  /** Removes series not updated within the expiration. */
  sweep(): void {
    const ttl = this.#options.expirationMs;
    if (ttl <= 0) return;
    const oldest = this.#now() - ttl;
    for (const [key, s] of this.#series) if (s.updated < oldest) this.#series.delete(key);
  }
}
