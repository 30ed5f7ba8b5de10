/**
 * OTLP metrics → Prometheus remote write series, as the Collector's translator
 * (`pkg/translator/prometheusremotewrite`, contrib v0.161.0) converts them:
 *
 * - names as the compatibility specification says (`lib/prometheus/naming.ts`): unit and type
 *   suffixes, `namespace` first; histograms and summaries as `_bucket{le}` (cumulative, `+Inf` =
 *   count), `_sum` (when present), `_count` and `{quantile}` series; non-monotonic sums as gauges;
 *   exponential histograms as native histograms (scales above 8 merged down to 8; below -4 they
 *   cannot be converted and are dropped);
 * - labels: point attributes with a non-empty value, sorted by key, sanitized (keys that collide
 *   after sanitizing join their values with `;`), then `job` (`service.namespace/service.name`)
 *   and `instance` (`service.instance.id`) from the resource, then `external_labels` where no
 *   label of that name exists, then `otel_scope_name` / `_version` (when not empty) and
 *   `otel_scope_<attr>` unless `disable_scope_info`, then `__name__` (and `le` / `quantile`);
 * - timestamps in milliseconds; a point flagged "no recorded value" becomes StaleNaN;
 * - `target_info` per resource that has an attribute besides `service.*` and a `job` or
 *   `instance`: value 1 at the resource's latest point time, its other attributes as labels;
 * - delta sums, delta histograms and delta exponential histograms cannot be expressed in remote
 *   write and are dropped, each an error (the Collector counts one failed translation per request
 *   and sends the rest); so are points whose labels cannot be named.
 *
 * Samples of one series (same labels) within a request are merged into one series, sorted by
 * time.
 *
 * What makes it cheap: the same series come back in every request, so an exporter keeps a
 * {@linkcode SeriesCache}. A point's labels are looked up by its attributes as they arrived (their
 * keys and values, in order) within its resource and scope, so a known point skips sanitizing,
 * merging and sorting; its series objects (labels, encoded labels) are kept and refilled with
 * each request's samples; a metric's names and bucket keys are made once per metric, not per
 * point.
 *
 * @module
 */
import type {
  Exemplar,
  ExponentialBuckets,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  InstrumentationScope,
  KeyValue,
  Metric,
  MetricsData,
  NumberDataPoint,
  Resource,
} from "../../../lib/pdata/types.ts";
import { AggregationTemporality } from "../../../lib/pdata/types.ts";
import { anyValueToString } from "../../../lib/pdata/attributes.ts";
import {
  labelName,
  metricName,
  type NamingOptions,
  type TranslatedType,
  unitSuffixes,
} from "../../../lib/prometheus/naming.ts";
import {
  type RwExemplar,
  type RwFamilyMetadata,
  type RwHistogram,
  type RwMetadata,
  type RwMetricType,
  type RwSample,
  type RwSeries,
  STALE_NAN,
  STALE_NAN_BITS,
} from "../../../lib/prometheus/remote_write.ts";

/** How metrics are translated. */
export interface TranslateOptions {
  readonly naming: NamingOptions;
  /** Sanitized label name → value; added where a series has no label of that name. */
  readonly externalLabels: ReadonlyMap<string, string>;
  readonly targetInfo: boolean;
  readonly disableScopeInfo: boolean;
  /** 1.0 only: also produce metadata per metric. */
  readonly sendMetadata: boolean;
  /**
   * Translate as the Collector does for remote write 2.0: start times on counter, histogram and
   * summary samples, exemplars on gauges but not on classic histogram buckets, exemplar labels
   * sorted.
   */
  readonly v2?: boolean;
  /**
   * Which resource attributes become point labels (`resource_to_telemetry_conversion`,
   * `resource_constant_labels`); undefined: none.
   */
  readonly resourceLabels?: (key: string) => boolean;
}

/** The series of one request, and what could not be translated. */
export interface Translation {
  readonly series: RwSeries[];
  readonly metadata: RwFamilyMetadata[];
  /** Data points (and metrics without points) that were dropped. */
  readonly dropped: number;
  /** Why, for the first few. */
  readonly errors: string[];
}

const STALE_FLAG = 1; // DataPointFlags.FLAG_NO_RECORDED_VALUE
const SERVICE_KEYS = ["service.namespace", "service.name", "service.instance.id"];
const MAX_EXEMPLAR_RUNES = 128;
const MAX_ERRORS = 5;

type Pairs = [string, string][];
type Pair = readonly [string, string];

/** The labels of one point, sorted by name, without `__name__`. */
interface Base {
  readonly pairs: readonly Pair[];
  /** The series made of these labels, kept between requests. */
  readonly entry: BaseEntry;
}

function hasLabel(base: Base, name: string): boolean {
  for (const p of base.pairs) if (p[0] === name) return true;
  return false;
}

function byKey(a: KeyValue, b: KeyValue): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function sortedByKey(attrs: readonly KeyValue[]): boolean {
  for (let i = 1; i < attrs.length; i++) if (attrs[i - 1]!.key > attrs[i]!.key) return false;
  return true;
}

function byName(a: Pair, b: Pair): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits, never in exponent form. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const s = String(v);
  if (!s.includes("e")) return s;
  const [mant, expText] = v.toExponential().split("e") as [string, string];
  const negative = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  const exp = Number(expText);
  let out: string;
  if (exp >= 0) {
    out = digits.length <= exp + 1
      ? digits + "0".repeat(exp + 1 - digits.length)
      : `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else {
    out = `0.${"0".repeat(-exp - 1)}${digits}`;
  }
  return negative ? `-${out}` : out;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += (b < 16 ? "0" : "") + b.toString(16);
  return s;
}

function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

/** Nanoseconds to milliseconds, truncated as Go's integer division does. */
let lastNs = -1n;
let lastMs = 0;
function ms(ns: bigint): number {
  if (ns !== lastNs) {
    lastNs = ns;
    lastMs = Number(ns / 1_000_000n);
  }
  return lastMs;
}

function numberValue(v: number | bigint | undefined): number {
  return v === undefined ? 0 : typeof v === "bigint" ? Number(v) : v;
}

function translatedType(m: Metric): TranslatedType {
  const d = m.data!;
  switch (d.type) {
    case "sum":
      return d.isMonotonic ? "monotonicCounter" : "nonMonotonicCounter";
    default:
      return d.type;
  }
}

function metadataType(m: Metric): RwMetricType {
  const d = m.data;
  if (d === undefined) return "unknown";
  const hinted = m.metadata.find((kv) => kv.key === "prometheus.type")?.value;
  switch (d.type) {
    case "gauge":
      return hinted === "unknown" ? "unknown" : "gauge";
    case "sum":
      if (d.isMonotonic) return "counter";
      if (hinted === "info") return "info";
      if (hinted === "stateset") return "stateset";
      return "gauge";
    case "histogram":
    case "exponentialHistogram":
      return "histogram";
    case "summary":
      return "summary";
  }
}

/** The unit as the translator's unit namer writes it (`By` → `bytes`, `m/s` → `meters_per_second`). */
function promUnit(unit: string, utf8: boolean): string {
  const { main, per } = unitSuffixes(unit);
  const joined = main !== "" && per !== "" ? `${main}_${per}` : main + per;
  if (utf8) return joined;
  return joined.replaceAll(/[^a-zA-Z0-9_:]+/g, "_");
}

function validTemporality(m: Metric): boolean {
  const d = m.data;
  if (d === undefined) return true;
  switch (d.type) {
    case "gauge":
    case "summary":
      return true;
    default:
      return d.aggregationTemporality === AggregationTemporality.CUMULATIVE;
  }
}

function latestTime(m: Metric): bigint {
  let t = 0n;
  for (const p of m.data?.dataPoints ?? []) if (p.timeUnixNano > t) t = p.timeUnixNano;
  return t;
}

class LabelError extends Error {}

// Most series carry neither: they share these (frozen) until they get one.
const NO_HISTOGRAMS: RwHistogram[] = Object.freeze([]) as unknown as RwHistogram[];
const NO_EXEMPLARS: RwExemplar[] = Object.freeze([]) as unknown as RwExemplar[];

function addExemplars(s: RwSeries, list: readonly RwExemplar[]): void {
  if (s.exemplars === NO_EXEMPLARS) s.exemplars = [];
  s.exemplars.push(...list);
}

/** What every series of one resource shares. */
interface ResourceContext {
  job?: string;
  instance?: string;
  /** Resource attributes copied onto points (they override point attributes of the same key). */
  extra: readonly KeyValue[];
}

/** A series kept between requests: its samples are the current request's once `gen` is. */
interface KeptSeries extends RwSeries {
  /** The request whose samples it holds. */
  gen: number;
}

/** A label set (a point's labels) seen in earlier requests, and the series made of it. */
interface BaseEntry {
  /** Series by series key (the name, and `le` / `quantile`'s value). */
  readonly series: Map<string, KeptSeries>;
}

/** The name and unit a metric translates to. */
interface MetricNames {
  readonly name: string | undefined;
  readonly unit: string;
}

/**
 * What one exporter instance remembers between requests (for one set of translation options):
 * the label sets it saw, by their labels and by the attributes and context they came from, each
 * series with its labels and encoded labels, and the names metrics translate to, since the same
 * series come back every collection interval. Bounded: past `limit` entries it starts over.
 *
 * The series of a translation stay valid until the next translation with the same cache, which
 * refills them.
 */
export class SeriesCache {
  readonly #limit: number;
  /** Label sets by their labels. */
  readonly bases = new Map<string, BaseEntry>();
  /** Label sets by resource and scope context, then by point attributes. */
  readonly contexts = new Map<string, Map<string, Base>>();
  /** Translated names by metric name, unit and type. */
  readonly names = new Map<string, MetricNames>();
  size = 0;
  gen = 0;

  /** @param limit the most series and label sets remembered @default 200_000 */
  constructor(limit = 200_000) {
    this.#limit = limit;
  }

  /** Starts a request. */
  next(): void {
    this.gen++;
    if (this.size > this.#limit) {
      this.bases.clear();
      this.contexts.clear();
      this.size = 0;
    }
    if (this.names.size > 10_000) this.names.clear();
  }
}

/** An unambiguous key of `(key, value)` pairs: each string prefixed by its length. */
function attributesKey(attrs: readonly KeyValue[]): string {
  let k = "";
  for (const kv of attrs) {
    const v = anyValueToString(kv.value);
    k += `${kv.key.length}:${kv.key}${v.length}:${v}`;
  }
  return k;
}

/** What the labels of a resource's and scope's points share, as a key. */
function contextKey(
  r: ResourceContext,
  scope: InstrumentationScope,
  disableScopeInfo: boolean,
): string {
  const job = r.job ?? "";
  const instance = r.instance ?? "";
  let k = `${job.length}:${job}${instance.length}:${instance}|${attributesKey(r.extra)}`;
  if (!disableScopeInfo) {
    k += `|${scope.name.length}:${scope.name}${scope.version.length}:${scope.version}|` +
      attributesKey(scope.attributes);
  }
  return k;
}

/** Where the points of one scope of one resource find their label sets. */
interface PointContext {
  readonly r: ResourceContext;
  readonly scope: InstrumentationScope;
  /** Label sets by point attributes (see {@linkcode attributesKey}). */
  readonly bases: Map<string, Base>;
}

/** Builds the series of one request. */
class Converter {
  readonly #o: TranslateOptions;
  readonly #cache: SeriesCache;
  readonly #all: RwSeries[] = [];
  readonly #labelNames = new Map<string, string | undefined>();
  readonly #names = new Map<string, Pair>();
  readonly #les = new Map<string, Pair>();
  readonly #quantiles = new Map<string, Pair>();
  readonly #floats = new Map<number, string>();
  readonly metadata: RwFamilyMetadata[] = [];
  dropped = 0;
  readonly errors: string[] = [];

  constructor(options: TranslateOptions, cache: SeriesCache) {
    this.#o = options;
    this.v2 = options.v2 === true;
    this.#cache = cache;
    cache.next();
  }

  /** Translating for remote write 2.0. */
  readonly v2: boolean;

  error(message: string, points: number): void {
    this.dropped += points;
    if (this.errors.length < MAX_ERRORS) this.errors.push(message);
  }

  #label(key: string): string {
    let name = this.#labelNames.get(key);
    if (name === undefined && !this.#labelNames.has(key)) {
      name = labelName(key, this.#o.naming.utf8Allowed);
      if (this.#labelNames.size > 10_000) this.#labelNames.clear();
      this.#labelNames.set(key, name);
    }
    if (name === undefined) throw new LabelError(`Cannot name a label for attribute "${key}"`);
    return name;
  }

  /** The context of the points of `scope` in the resource `r`. */
  context(r: ResourceContext, scope: InstrumentationScope): PointContext {
    const key = contextKey(r, scope, this.#o.disableScopeInfo);
    const contexts = this.#cache.contexts;
    let bases = contexts.get(key);
    if (bases === undefined) {
      bases = new Map();
      contexts.set(key, bases);
    }
    return { r, scope, bases };
  }

  /** The labels of a point in `ctx`: remembered by its attributes, built on first sight. */
  pointBase(attributes: readonly KeyValue[], ctx: PointContext): Base {
    const key = attributesKey(attributes);
    let base = ctx.bases.get(key);
    if (base === undefined) {
      base = this.baseLabels(attributes, ctx.r, ctx.scope);
      ctx.bases.set(key, base);
      this.#cache.size++;
    }
    return base;
  }

  /** The labels of a point (without `__name__`), as `createAttributes` builds them. */
  baseLabels(
    attributes: readonly KeyValue[],
    r: ResourceContext,
    scope: InstrumentationScope | undefined,
    ignore?: readonly string[],
  ): Base {
    let attrs = attributes;
    if (r.extra.length > 0) {
      const merged = new Map<string, KeyValue>();
      for (const kv of attributes) merged.set(kv.key, kv);
      for (const kv of r.extra) merged.set(kv.key, kv);
      attrs = [...merged.values()];
    }
    let sorted = attrs;
    if (attrs.length > 1 && !sortedByKey(attrs)) sorted = [...attrs].sort(byKey);
    const l = new Map<string, string>();
    for (const kv of sorted) {
      if (ignore?.includes(kv.key)) continue;
      const value = anyValueToString(kv.value);
      if (value === "") continue;
      const name = this.#label(kv.key);
      const prev = l.get(name);
      if (prev === undefined) l.set(name, value);
      else if (prev !== value) l.set(name, `${prev};${value}`);
    }
    if (r.job !== undefined) l.set("job", r.job);
    if (r.instance !== undefined) l.set("instance", r.instance);
    for (const [k, v] of this.#o.externalLabels) if (!l.has(k)) l.set(k, v);
    if (!this.#o.disableScopeInfo && scope !== undefined) {
      if (scope.name !== "") l.set(this.#label("otel_scope_name"), scope.name);
      if (scope.version !== "") l.set(this.#label("otel_scope_version"), scope.version);
      for (const kv of scope.attributes) {
        if (kv.key === "name" || kv.key === "version" || kv.key === "schema_url") continue;
        const name = labelName("otel_scope_" + kv.key, this.#o.naming.utf8Allowed);
        if (name !== undefined) l.set(name, anyValueToString(kv.value));
      }
    }
    const pairs2: Pair[] = [];
    for (const [k, v] of l) pairs2.push([k, v]);
    if (pairs2.length > 1) pairs2.sort(byName);
    let key = "";
    for (const [k, v] of pairs2) key += `${k}\u00ff${v}\u00ff`;
    const cache = this.#cache;
    let entry = cache.bases.get(key);
    if (entry === undefined) {
      entry = { series: new Map() };
      cache.bases.set(key, entry);
    }
    return { pairs: pairs2, entry };
  }

  /** The translated name and unit of a metric (remembered). */
  names(m: Metric): MetricNames {
    const type = translatedType(m);
    const key = `${m.name}\u0000${m.unit}\u0000${type}`;
    const names = this.#cache.names;
    let n = names.get(key);
    if (n === undefined) {
      const naming = this.#o.naming;
      n = {
        name: metricName(m.name, m.unit, type, naming),
        unit: promUnit(m.unit, naming.utf8Allowed),
      };
      names.set(key, n);
    }
    return n;
  }

  /** `formatFloat` of a bucket bound or quantile, remembered for the request. */
  float(v: number): string {
    let s = this.#floats.get(v);
    if (s === undefined) {
      s = formatFloat(v);
      this.#floats.set(v, s);
    }
    return s;
  }

  #pair(cache: Map<string, Pair>, name: string, value: string): Pair {
    let p = cache.get(value);
    if (p === undefined) {
      p = [name, value];
      if (cache.size > 10_000) cache.clear();
      cache.set(value, p);
    }
    return p;
  }

  /**
   * The series with the base labels plus `__name__` (and one extra pair such as `le`), made on
   * first use. The labels stay sorted by name without sorting: the two pairs are merged in. Pairs
   * are shared between series (the encoder writes each pair object once per request).
   */
  series(
    base: Base,
    name: string,
    metadata: RwMetadata,
    extraName?: "le" | "quantile",
    extraValue?: string,
  ): RwSeries {
    return this.keyed(
      base,
      extraName === undefined ? name : seriesKey(name, extraValue!),
      name,
      metadata,
      extraName,
      extraValue,
    );
  }

  /** {@linkcode series} with its key (`seriesKey`) made by the caller, once per metric. */
  keyed(
    base: Base,
    key: string,
    name: string,
    metadata: RwMetadata,
    extraName?: "le" | "quantile",
    extraValue?: string,
  ): RwSeries {
    const entry = base.entry;
    let s = entry.series.get(key);
    const gen = this.#cache.gen;
    if (s !== undefined) {
      if (s.gen !== gen) {
        s.gen = gen;
        s.samples = [];
        s.histograms = NO_HISTOGRAMS;
        s.exemplars = NO_EXEMPLARS;
        s.metadata = metadata;
        this.#all.push(s);
      }
      return s;
    }
    const namePair = this.#pair(this.#names, "__name__", name);
    const extraPair = extraName === undefined
      ? undefined
      : this.#pair(extraName === "le" ? this.#les : this.#quantiles, extraName, extraValue!);
    const labels: Pair[] = [];
    let nameDone = false;
    let extraDone = extraPair === undefined;
    for (const p of base.pairs) {
      const k = p[0];
      if (k === "__name__" || k === extraName) continue;
      if (!nameDone && "__name__" < k) {
        if (!extraDone && extraName! < "__name__") {
          labels.push(extraPair!);
          extraDone = true;
        }
        labels.push(namePair);
        nameDone = true;
      }
      if (!extraDone && extraName! < k) {
        labels.push(extraPair!);
        extraDone = true;
      }
      labels.push(p);
    }
    if (!nameDone) {
      if (!extraDone && extraName! < "__name__") {
        labels.push(extraPair!);
        extraDone = true;
      }
      labels.push(namePair);
    }
    if (!extraDone) labels.push(extraPair!);
    this.#cache.size++;
    s = {
      labels,
      samples: [],
      histograms: NO_HISTOGRAMS,
      exemplars: NO_EXEMPLARS,
      metadata,
      labelBytes: {},
      gen,
    };
    entry.series.set(key, s);
    this.#all.push(s);
    return s;
  }

  exemplars(list: readonly Exemplar[]): RwExemplar[] {
    return list.map((e) => {
      const labels: Pairs = [];
      let runes = 0;
      if (e.traceId.length > 0 && !isZero(e.traceId)) {
        const v = hex(e.traceId);
        labels.push(["trace_id", v]);
        runes += 8 + v.length;
      }
      if (e.spanId.length > 0 && !isZero(e.spanId)) {
        const v = hex(e.spanId);
        labels.push(["span_id", v]);
        runes += 7 + v.length;
      }
      const fromAttributes: Pairs = [];
      const hasTrace = labels.some((l) => l[0] === "trace_id");
      const hasSpan = labels.some((l) => l[0] === "span_id");
      for (const kv of e.filteredAttributes) {
        if (
          this.#o.v2 && ((kv.key === "trace_id" && hasTrace) || (kv.key === "span_id" && hasSpan))
        ) {
          continue;
        }
        const v = anyValueToString(kv.value);
        runes += [...kv.key].length + [...v].length;
        fromAttributes.push([kv.key, v]);
      }
      if (runes <= MAX_EXEMPLAR_RUNES) labels.push(...fromAttributes);
      if (this.#o.v2) labels.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
      return { labels, value: numberValue(e.value), timestampMs: ms(e.timeUnixNano) };
    });
  }

  all(): RwSeries[] {
    const out = this.#all;
    for (const s of out) {
      if (s.samples.length > 1) s.samples.sort((a, b) => a.timestampMs - b.timestampMs);
    }
    return out;
  }
}

/** The key of a series with an `le` or `quantile` label within its label set. */
function seriesKey(name: string, extraValue: string): string {
  return `${name}\u00ff${extraValue}`;
}

function resourceContext(resource: Resource, options: TranslateOptions): ResourceContext {
  const r: ResourceContext = { extra: [] };
  let name: string | undefined;
  let ns: string | undefined;
  for (const kv of resource.attributes) {
    if (kv.key === "service.name") name = anyValueToString(kv.value);
    else if (kv.key === "service.namespace") ns = anyValueToString(kv.value);
    else if (kv.key === "service.instance.id") {
      const v = anyValueToString(kv.value);
      if (v !== "") r.instance = v;
    }
  }
  if (name !== undefined && name !== "") r.job = ns === undefined ? name : `${ns}/${name}`;
  const pick = options.resourceLabels;
  if (pick !== undefined) r.extra = resource.attributes.filter((kv) => pick(kv.key));
  return r;
}

function numberPoints(
  c: Converter,
  points: readonly NumberDataPoint[],
  ctx: PointContext,
  name: string,
  md: RwMetadata,
  counter: boolean,
): void {
  const v2 = c.v2;
  const withExemplars = counter || v2;
  for (const p of points) {
    let base: Base;
    try {
      base = c.pointBase(p.attributes, ctx);
    } catch (e) {
      c.error((e as Error).message, 1);
      continue;
    }
    const s = c.keyed(base, name, name, md);
    const value = (p.flags & STALE_FLAG) !== 0 ? STALE_NAN : numberValue(p.value);
    s.samples.push(
      v2 && counter
        ? { value, timestampMs: ms(p.timeUnixNano), startMs: ms(p.startTimeUnixNano) }
        : { value, timestampMs: ms(p.timeUnixNano) },
    );
    if (withExemplars && p.exemplars.length > 0) addExemplars(s, c.exemplars(p.exemplars));
  }
}

/** A sample at `t` (and, for 2.0, started at `start`). */
function sampleAt(value: number, t: number, start: number | undefined): RwSample {
  return start === undefined
    ? { value, timestampMs: t }
    : { value, timestampMs: t, startMs: start };
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function histogramPoints(
  c: Converter,
  points: readonly HistogramDataPoint[],
  ctx: PointContext,
  name: string,
  md: RwMetadata,
): void {
  const sumName = `${name}_sum`;
  const countName = `${name}_count`;
  const bucketName = `${name}_bucket`;
  const infKey = seriesKey(bucketName, "+Inf");
  // The bucket labels and series keys of the bounds last seen (points usually share them).
  let bounds: readonly number[] = [];
  let les: string[] = [];
  let keys: string[] = [];
  for (const p of points) {
    let base: Base;
    try {
      base = c.pointBase(p.attributes, ctx);
    } catch (e) {
      c.error((e as Error).message, 1);
      continue;
    }
    const t = ms(p.timeUnixNano);
    const start = c.v2 ? ms(p.startTimeUnixNano) : undefined;
    const stale = (p.flags & STALE_FLAG) !== 0;
    if (p.sum !== undefined) {
      c.keyed(base, sumName, sumName, md).samples.push(
        sampleAt(stale ? STALE_NAN : p.sum, t, start),
      );
    }
    const count = Number(p.count);
    c.keyed(base, countName, countName, md).samples.push(
      sampleAt(stale ? STALE_NAN : count, t, start),
    );
    const buckets: { s: RwSeries; bound: number }[] | undefined = p.exemplars.length > 0 && !c.v2
      ? []
      : undefined;
    if (!sameBounds(bounds, p.explicitBounds)) {
      bounds = p.explicitBounds;
      les = bounds.map((b) => c.float(b));
      keys = les.map((le) => seriesKey(bucketName, le));
    }
    let cumulative = 0n;
    const n = Math.min(p.explicitBounds.length, p.bucketCounts.length);
    for (let i = 0; i < n; i++) {
      cumulative += p.bucketCounts[i]!;
      const s = c.keyed(base, keys[i]!, bucketName, md, "le", les[i]!);
      s.samples.push(sampleAt(stale ? STALE_NAN : Number(cumulative), t, start));
      buckets?.push({ s, bound: bounds[i]! });
    }
    const inf = c.keyed(base, infKey, bucketName, md, "le", "+Inf");
    inf.samples.push(sampleAt(stale ? STALE_NAN : count, t, start));
    buckets?.push({ s: inf, bound: Infinity });
    // The Collector's 2.0 translation puts no exemplars on classic histograms.
    if (buckets !== undefined) {
      buckets.sort((a, b) => a.bound - b.bound);
      for (const e of c.exemplars(p.exemplars)) {
        const target = buckets.find((b) => b.s.samples.length > 0 && e.value <= b.bound);
        if (target !== undefined) addExemplars(target.s, [e]);
      }
    }
  }
}

/** OTLP buckets → Prometheus spans and deltas (bucket `k` is Prometheus bucket `k + 1`). */
function bucketLayout(
  b: ExponentialBuckets,
  scaleDown: number,
): { spans: [number, number][]; deltas: bigint[] } {
  const counts = b.bucketCounts;
  if (counts.length === 0) return { spans: [], deltas: [] };
  const spans: [number, number][] = [];
  const deltas: bigint[] = [];
  let prev = 0n;
  const append = (count: bigint) => {
    spans[spans.length - 1]![1]++;
    deltas.push(count - prev);
    prev = count;
  };
  let idx = (b.offset >> scaleDown) + 1;
  spans.push([idx, 0]);
  let count = 0n;
  for (let i = 0; i < counts.length; i++) {
    const next = ((i + b.offset) >> scaleDown) + 1;
    if (next === idx) {
      count += counts[i]!;
      continue;
    }
    if (count === 0n) {
      count = counts[i]!;
      continue;
    }
    const gap = next - idx - 1;
    if (gap > 2) spans.push([gap, 0]);
    else for (let j = 0; j < gap; j++) append(0n);
    append(count);
    count = counts[i]!;
    idx = next;
  }
  const gap = ((counts.length + b.offset - 1) >> scaleDown) + 1 - idx;
  if (gap > 2) spans.push([gap, 0]);
  else for (let j = 0; j < gap; j++) append(0n);
  append(count);
  return { spans, deltas };
}

function nativeHistogram(p: ExponentialHistogramDataPoint, v2: boolean): RwHistogram | string {
  if (p.scale < -4) {
    return `Cannot convert an exponential histogram of scale ${p.scale} (below -4)`;
  }
  const scaleDown = p.scale > 8 ? p.scale - 8 : 0;
  const pos = bucketLayout(p.positive, scaleDown);
  const neg = bucketLayout(p.negative, scaleDown);
  const stale = (p.flags & STALE_FLAG) !== 0;
  return {
    count: stale ? STALE_NAN_BITS : p.count,
    sum: stale ? STALE_NAN : p.sum ?? 0,
    schema: Math.min(p.scale, 8),
    zeroThreshold: p.zeroThreshold !== 0 ? p.zeroThreshold : 1e-128,
    zeroCount: p.zeroCount,
    negativeSpans: neg.spans,
    negativeDeltas: neg.deltas,
    positiveSpans: pos.spans,
    positiveDeltas: pos.deltas,
    timestampMs: ms(p.timeUnixNano),
    ...(v2 ? { startMs: ms(p.startTimeUnixNano) } : {}),
  };
}

function targetInfo(
  c: Converter,
  resource: Resource,
  r: ResourceContext,
  options: TranslateOptions,
  latest: bigint,
): void {
  if (!options.targetInfo || latest === 0n) return;
  if (resource.attributes.length - countService(resource) === 0) return;
  let base: Base;
  try {
    base = c.baseLabels(resource.attributes, { ...r, extra: [] }, undefined, SERVICE_KEYS);
  } catch (e) {
    c.error((e as Error).message, 0);
    return;
  }
  if (!hasLabel(base, "job") && !hasLabel(base, "instance")) return;
  const ns = options.naming.namespace;
  const name = ns === "" ? "target_info" : `${ns}_target_info`;
  c.series(base, name, { type: "gauge", help: "Target metadata", unit: "" }).samples.push({
    value: 1,
    timestampMs: ms(latest),
  });
}

function countService(resource: Resource): number {
  let n = 0;
  for (const kv of resource.attributes) if (SERVICE_KEYS.includes(kv.key)) n++;
  return n;
}

/** Translates one request's metrics. */
export function translate(
  data: MetricsData,
  options: TranslateOptions,
  cache: SeriesCache = new SeriesCache(),
): Translation {
  const c = new Converter(options, cache);
  for (const rm of data.resourceMetrics) {
    const r = resourceContext(rm.resource, options);
    let latest = 0n;
    for (const sm of rm.scopeMetrics) {
      const ctx = c.context(r, sm.scope);
      for (const m of sm.metrics) {
        const t = latestTime(m);
        if (t > latest) latest = t;
        const d = m.data;
        const points = d?.dataPoints.length ?? 0;
        if (d === undefined) {
          c.error(`Metric "${m.name}" has no data`, 0);
          continue;
        }
        const names = c.names(m);
        const name = names.name;
        const md: RwMetadata = { type: metadataType(m), help: m.description, unit: names.unit };
        // The Collector sends metadata for every metric it can name, written or not.
        if (options.sendMetadata && name !== undefined) c.metadata.push({ family: name, ...md });
        if (!validTemporality(m)) {
          c.error(
            `Invalid temporality and type combination for metric "${m.name}" (delta ${d.type})`,
            points,
          );
          continue;
        }
        if (name === undefined) {
          c.error(`Cannot translate the metric name "${m.name}"`, points);
          continue;
        }
        if (points === 0) {
          c.error(`Empty data points: "${m.name}" is dropped`, 0);
          continue;
        }
        switch (d.type) {
          case "gauge":
            numberPoints(c, d.dataPoints, ctx, name, md, false);
            break;
          case "sum":
            numberPoints(c, d.dataPoints, ctx, name, md, d.isMonotonic);
            break;
          case "histogram":
            histogramPoints(c, d.dataPoints, ctx, name, md);
            break;
          case "exponentialHistogram":
            for (const p of d.dataPoints) {
              let base: Base;
              try {
                base = c.pointBase(p.attributes, ctx);
              } catch (e) {
                c.error((e as Error).message, 1);
                continue;
              }
              const h = nativeHistogram(p, c.v2);
              if (typeof h === "string") {
                c.error(h, 1);
                continue;
              }
              const s = c.series(base, name, md);
              if (s.histograms === NO_HISTOGRAMS) s.histograms = [];
              s.histograms.push(h);
              if (p.exemplars.length > 0) addExemplars(s, c.exemplars(p.exemplars));
            }
            break;
          case "summary":
            for (const p of d.dataPoints) {
              let base: Base;
              try {
                base = c.pointBase(p.attributes, ctx);
              } catch (e) {
                c.error((e as Error).message, 1);
                continue;
              }
              const t = ms(p.timeUnixNano);
              const st = c.v2
                ? { timestampMs: t, startMs: ms(p.startTimeUnixNano) }
                : { timestampMs: t };
              const stale = (p.flags & STALE_FLAG) !== 0;
              c.series(base, `${name}_sum`, md).samples.push({
                value: stale ? STALE_NAN : p.sum,
                ...st,
              });
              c.series(base, `${name}_count`, md).samples.push({
                value: stale ? STALE_NAN : Number(p.count),
                ...st,
              });
              for (const q of p.quantileValues) {
                c.series(base, name, md, "quantile", formatFloat(q.quantile)).samples.push({
                  value: stale ? STALE_NAN : q.value,
                  ...st,
                });
              }
            }
            break;
        }
      }
    }
    targetInfo(c, rm.resource, r, options, latest);
  }
  return { series: c.all(), metadata: c.metadata, dropped: c.dropped, errors: c.errors };
}
