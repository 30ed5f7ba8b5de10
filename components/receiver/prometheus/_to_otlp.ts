/**
 * Turns the samples of one scrape into OTLP metrics the way the OpenTelemetry Collector's
 * prometheus receiver does:
 *
 * - counters → cumulative monotonic sums; info and stateset → cumulative non-monotonic sums;
 *   gauges and untyped/unknown → gauges; histograms → explicit-bucket histograms (bounds from `le`,
 *   cumulative bucket counts made per-bucket, `_sum`, `_count`); summaries → summaries.
 * - A family's metric is named after its samples as the Collector names it (suffixes are not
 *   trimmed): a counter keeps `_total`, a histogram or summary is the family name, an info metric
 *   the family name without `_info`.
 * - Start times come from `_created` when present; otherwise from the first time the series was
 *   seen, restarted when the value (or a histogram's or summary's count or sum) goes down.
 * - Resource per (job, instance): `service.name`, `server.address` (unless loopback or
 *   unspecified), `service.instance.id`, `server.port`, `url.scheme`, and the labels of
 *   `target_info`. `job`, `instance`, `__name__`, and `le` / `quantile` are not point attributes;
 *   `otel_scope_name` / `otel_scope_version` labels select the instrumentation scope.
 * - A stale sample (a series gone since the last scrape) becomes a point with the
 *   NoRecordedValue flag and no value.
 *
 * Deviation: a gauge histogram's `_bucket`, `_gcount` and `_gsum` become gauges under their sample
 * names (the Collector folds them into one mangled gauge).
 *
 * @module
 */
import {
  newHistogramDataPoint,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
  newSummaryDataPoint,
} from "../../../lib/pdata/new.ts";
import {
  AggregationTemporality,
  type Exemplar,
  type HistogramDataPoint,
  type KeyValue,
  type Metric,
  type NumberDataPoint,
  type ResourceMetrics,
  type ScopeMetrics,
  type SummaryDataPoint,
} from "../../../lib/pdata/types.ts";
import type {
  Exemplar as PromExemplar,
  FamilyMetadata,
  Label,
} from "../../../lib/prometheus/types.ts";

/** The NoRecordedValue data point flag. */
export const FLAG_NO_RECORDED_VALUE = 1;

/** One sample ready for translation: target labels merged and relabeling done. */
export interface ScrapedSample {
  name: string;
  /** Labels sorted by name, `__name__` excluded, `job` and `instance` included. */
  labels: Label[];
  value: number;
  /** The sample's time in milliseconds (its own when honored, else the scrape's). */
  timestampMs: number;
  exemplar: PromExemplar | undefined;
  /** True for a staleness marker: the series was gone from this scrape. */
  stale: boolean;
}

/** What a translation needs besides the samples. */
export interface TranslateContext {
  /** Family metadata by name (this scrape's, with earlier ones for stale families). */
  metadata: ReadonlyMap<string, FamilyMetadata>;
  /** The target's scheme, for `url.scheme`. */
  scheme: string;
  /** The target's job and instance, used when a sample lacks them. */
  job: string;
  instance: string;
}

/** Metadata of the metrics a scrape reports about itself. */
export const INTERNAL_METADATA: ReadonlyMap<string, FamilyMetadata> = new Map([
  ["up", { type: "gauge", help: "The scraping was successful", unit: "" }],
  ["scrape_duration_seconds", { type: "gauge", help: "Duration of the scrape", unit: "seconds" }],
  ["scrape_samples_scraped", {
    type: "gauge",
    help: "The number of samples the target exposed",
    unit: "",
  }],
  ["scrape_samples_post_metric_relabeling", {
    type: "gauge",
    help: "The number of samples remaining after metric relabeling was applied",
    unit: "",
  }],
  ["scrape_series_added", {
    type: "gauge",
    help: "The approximate number of new series in this scrape",
    unit: "",
  }],
  ["scrape_timeout_seconds", {
    type: "gauge",
    help: "The configured scrape timeout for a target",
    unit: "seconds",
  }],
  ["scrape_sample_limit", {
    type: "gauge",
    help: "The configured sample limit for a target. Returns zero if there is no limit configured",
    unit: "",
  }],
  ["scrape_body_size_bytes", {
    type: "gauge",
    help: "The uncompressed size of the last scrape response, if successful",
    unit: "bytes",
  }],
]);

type Kind = "sum" | "gauge" | "histogram" | "summary";
type Role = "value" | "created" | "count" | "sum" | "bucket" | "quantile" | "info" | "skip";

interface Resolved {
  /** The family's key within its scope. */
  key: string;
  /** The OTLP metric name. */
  name: string;
  kind: Kind;
  monotonic: boolean;
  role: Role;
  meta: FamilyMetadata | undefined;
}

interface Group {
  attributes: KeyValue[];
  key: string;
  timestampMs: number;
  value: number | undefined;
  count: number | undefined;
  sum: number | undefined;
  created: number | undefined;
  stale: boolean;
  bounds: { bound: number; value: number }[];
  exemplars: Exemplar[];
}

interface Family {
  resolved: Resolved;
  groups: Map<string, Group>;
}

interface ScopeBucket {
  name: string;
  version: string;
  families: Map<string, Family>;
}

interface ResourceBucket {
  job: string;
  instance: string;
  scopes: Map<string, ScopeBucket>;
  info: KeyValue[];
}

interface StartState {
  start: bigint;
  previous: number;
  previousSum: number;
  lastSeen: number;
}

const SKIP: Resolved = {
  key: "",
  name: "",
  kind: "gauge",
  monotonic: false,
  role: "skip",
  meta: undefined,
};

const SUFFIXES = ["_total", "_created", "_bucket", "_count", "_sum", "_info", "_gcount", "_gsum"];

/** How long (in scrapes) start-time state outlives a series that stopped appearing. */
const FORGET_AFTER_SCRAPES = 5;

function resolveExact(name: string, meta: FamilyMetadata): Resolved {
  switch (meta.type) {
    case "counter":
      return { key: name, name, kind: "sum", monotonic: true, role: "value", meta };
    case "info":
    case "stateset":
      return { key: name, name, kind: "sum", monotonic: false, role: "value", meta };
    case "summary":
      return { key: name, name, kind: "summary", monotonic: true, role: "quantile", meta };
    case "histogram":
      return SKIP; // a bare sample of a histogram has no place in its point
    default:
      return { key: name, name, kind: "gauge", monotonic: false, role: "value", meta };
  }
}

function resolveSuffixed(name: string, base: string, suffix: string, meta: FamilyMetadata) {
  const roleOf = (s: string): Role | undefined =>
    s === "_count" ? "count" : s === "_sum" ? "sum" : s === "_created" ? "created" : undefined;
  switch (meta.type) {
    case "counter":
      if (suffix === "_total") {
        return { key: base, name, kind: "sum", monotonic: true, role: "value", meta } as Resolved;
      }
      if (suffix === "_created") {
        return { key: base, name, kind: "sum", monotonic: true, role: "created", meta } as Resolved;
      }
      return undefined;
    case "histogram": {
      const role = suffix === "_bucket" ? "bucket" : roleOf(suffix);
      if (role === undefined) return undefined;
      return { key: base, name: base, kind: "histogram", monotonic: true, role, meta } as Resolved;
    }
    case "summary": {
      const role = roleOf(suffix);
      if (role === undefined) return undefined;
      return { key: base, name: base, kind: "summary", monotonic: true, role, meta } as Resolved;
    }
    case "info":
      if (suffix !== "_info") return undefined;
      return {
        key: base,
        name: base,
        kind: "sum",
        monotonic: false,
        role: "value",
        meta,
      } as Resolved;
    case "gaugehistogram":
      if (suffix !== "_bucket" && suffix !== "_gcount" && suffix !== "_gsum") return undefined;
      return { key: name, name, kind: "gauge", monotonic: false, role: "value", meta } as Resolved;
    default:
      return undefined;
  }
}

/** Which family a sample belongs to, as the Collector finds it from the metadata. */
function resolve(name: string, metadata: ReadonlyMap<string, FamilyMetadata>): Resolved {
  const own = INTERNAL_METADATA.get(name) ?? metadata.get(name);
  if (own !== undefined && own.type !== "unknown") return resolveExact(name, own);
  for (const suffix of SUFFIXES) {
    if (!name.endsWith(suffix) || name.length === suffix.length) continue;
    const base = name.slice(0, name.length - suffix.length);
    const meta = metadata.get(base);
    if (meta === undefined) continue;
    const resolved = resolveSuffixed(name, base, suffix, meta);
    if (resolved !== undefined) return resolved;
  }
  return { key: name, name, kind: "gauge", monotonic: false, role: "value", meta: own };
}

function isDiscernibleHost(host: string): boolean {
  if (host === "localhost" || host === "" || host === "::" || host === "::1") return false;
  if (host.startsWith("127.") && /^[\d.]+$/.test(host)) return false;
  if (host === "0.0.0.0") return false;
  return true;
}

/** Splits `host:port` as Go's `net.SplitHostPort` does; without a port the host is the whole. */
export function splitInstance(instance: string): { host: string; port: string } {
  if (instance.startsWith("[")) {
    const close = instance.indexOf("]");
    if (close > 0 && instance[close + 1] === ":") {
      return { host: instance.slice(1, close), port: instance.slice(close + 2) };
    }
    return { host: instance, port: "" };
  }
  const colon = instance.lastIndexOf(":");
  if (colon < 0 || instance.indexOf(":") !== colon) return { host: instance, port: "" };
  return { host: instance.slice(0, colon), port: instance.slice(colon + 1) };
}

function resourceAttributes(job: string, instance: string, scheme: string): KeyValue[] {
  const { host, port } = splitInstance(instance);
  const attributes: KeyValue[] = [{ key: "service.name", value: job }];
  if (isDiscernibleHost(host)) attributes.push({ key: "server.address", value: host });
  attributes.push({ key: "service.instance.id", value: instance });
  attributes.push({ key: "server.port", value: port });
  attributes.push({ key: "url.scheme", value: scheme });
  return attributes;
}

function msToNanos(ms: number): bigint {
  return BigInt(ms) * 1_000_000n;
}

function secondsToNanos(seconds: number): bigint {
  const whole = Math.trunc(seconds);
  return BigInt(whole) * 1_000_000_000n + BigInt(Math.round((seconds - whole) * 1e9));
}

function hexBytes(hex: string, size: number): Uint8Array | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0) return undefined;
  const bytes = new Uint8Array(size);
  const n = Math.min(hex.length / 2, size);
  const offset = size - n;
  for (let i = 0; i < n; i++) {
    const byte = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    if (Number.isNaN(byte) || !/^[0-9a-fA-F]{2}$/.test(hex.slice(2 * i, 2 * i + 2))) {
      return undefined;
    }
    bytes[offset + i] = byte;
  }
  return bytes;
}

function convertExemplar(e: PromExemplar, defaultMs: number): Exemplar {
  const exemplar: Exemplar = {
    filteredAttributes: [],
    timeUnixNano: msToNanos(e.timestampMs ?? defaultMs),
    value: e.value,
    spanId: new Uint8Array(0),
    traceId: new Uint8Array(0),
  };
  for (const label of e.labels) {
    const lower = label.name.toLowerCase();
    const id = lower === "trace_id"
      ? hexBytes(label.value, 16)
      : lower === "span_id"
      ? hexBytes(label.value, 8)
      : undefined;
    if (id !== undefined && lower === "trace_id") exemplar.traceId = id;
    else if (id !== undefined) exemplar.spanId = id;
    else exemplar.filteredAttributes.push({ key: label.name, value: label.value });
  }
  return exemplar;
}

function isDroppedLabel(name: string, kind: Kind): boolean {
  switch (name) {
    case "job":
    case "instance":
    case "__scheme__":
    case "__metrics_path__":
    case "otel_scope_name":
    case "otel_scope_version":
      return true;
    case "le":
      return kind === "histogram";
    case "quantile":
      return kind === "summary";
    default:
      return false;
  }
}

/**
 * Translates scrapes of one target into OTLP, keeping the start-time state of its cumulative
 * series between scrapes.
 */
export class ScrapeTranslator {
  readonly #scopeName: string;
  readonly #scopeVersion: string;
  readonly #starts = new Map<string, StartState>();
  #epoch = 0;

  /**
   * @param scopeName the instrumentation scope of metrics without `otel_scope_name`
   * @param scopeVersion its version
   */
  constructor(scopeName: string, scopeVersion: string) {
    this.#scopeName = scopeName;
    this.#scopeVersion = scopeVersion;
  }

  /** Forgets every series (their next points start afresh). */
  reset(): void {
    this.#starts.clear();
  }

  /** Translates one scrape's samples (stale markers included) into resource metrics. */
  translate(samples: readonly ScrapedSample[], context: TranslateContext): ResourceMetrics[] {
    this.#epoch++;
    const resources = new Map<string, ResourceBucket>();
    const resolvedByName = new Map<string, Resolved>();
    for (const sample of samples) {
      let resolved = resolvedByName.get(sample.name);
      if (resolved === undefined) {
        resolved = sample.name === "target_info"
          ? { ...SKIP, role: "info" }
          : resolve(sample.name, context.metadata);
        resolvedByName.set(sample.name, resolved);
      }
      if (resolved.role === "skip") continue;
      let job = "";
      let instance = "";
      let scopeName = "";
      let scopeVersion = "";
      for (const label of sample.labels) {
        if (label.name === "job") job = label.value;
        else if (label.name === "instance") instance = label.value;
        else if (label.name === "otel_scope_name") scopeName = label.value;
        else if (label.name === "otel_scope_version") scopeVersion = label.value;
      }
      if (job === "") job = context.job;
      if (instance === "") instance = context.instance;
      const resourceKey = `${job}\u0000${instance}`;
      let resource = resources.get(resourceKey);
      if (resource === undefined) {
        resource = { job, instance, scopes: new Map(), info: [] };
        resources.set(resourceKey, resource);
      }
      if (resolved.role === "info") {
        if (sample.stale) continue;
        for (const label of sample.labels) {
          if (label.name !== "job" && label.name !== "instance") {
            resource.info.push({ key: label.name, value: label.value });
          }
        }
        continue;
      }
      const scopeKey = `${scopeName}\u0000${scopeVersion}`;
      let scope = resource.scopes.get(scopeKey);
      if (scope === undefined) {
        scope = { name: scopeName, version: scopeVersion, families: new Map() };
        resource.scopes.set(scopeKey, scope);
      }
      let family = scope.families.get(resolved.key);
      if (family === undefined) {
        family = { resolved, groups: new Map() };
        scope.families.set(resolved.key, family);
      } else if (resolved.role === "value" && family.resolved.role === "created") {
        family.resolved = resolved; // the value sample names the metric (`foo_total`)
      }
      this.#add(family, sample, resolved.role);
    }
    return this.#build(resources, context.scheme);
  }

  #add(family: Family, sample: ScrapedSample, role: Role): void {
    const kind = family.resolved.kind;
    let key = "";
    const attributes: KeyValue[] = [];
    let boundLabel = "";
    for (const label of sample.labels) {
      if (isDroppedLabel(label.name, kind)) {
        if (label.name === "le" || label.name === "quantile") boundLabel = label.value;
        continue;
      }
      if (label.value === "") continue;
      attributes.push({ key: label.name, value: label.value });
      key += `${label.name}\u0000${label.value}\u0000`;
    }
    let group = family.groups.get(key);
    if (group === undefined) {
      group = {
        attributes,
        key,
        timestampMs: sample.timestampMs,
        value: undefined,
        count: undefined,
        sum: undefined,
        created: undefined,
        stale: false,
        bounds: [],
        exemplars: [],
      };
      family.groups.set(key, group);
    }
    if (sample.stale && role !== "created") group.stale = true;
    switch (role) {
      case "value":
        group.value = sample.value;
        group.timestampMs = sample.timestampMs;
        break;
      case "created":
        if (!sample.stale) group.created = sample.value;
        break;
      case "count":
        group.count = sample.value;
        group.timestampMs = sample.timestampMs;
        break;
      case "sum":
        group.sum = sample.value;
        break;
      case "bucket":
      case "quantile": {
        const bound = Number(boundLabel === "+Inf" ? Infinity : boundLabel);
        if (boundLabel === "" || Number.isNaN(bound)) return;
        group.bounds.push({ bound, value: sample.value });
        break;
      }
      default:
        break;
    }
    if (sample.exemplar !== undefined && kind !== "summary") {
      group.exemplars.push(convertExemplar(sample.exemplar, sample.timestampMs));
    }
  }

  #build(resources: Map<string, ResourceBucket>, scheme: string): ResourceMetrics[] {
    const out: ResourceMetrics[] = [];
    for (const resource of resources.values()) {
      const rKey = `${resource.job}\u0000${resource.instance}\u0000`;
      const scopeMetrics: ScopeMetrics[] = [];
      for (const scope of resource.scopes.values()) {
        const metrics: Metric[] = [];
        for (const family of scope.families.values()) {
          const metric = this.#metric(family, `${rKey}${scope.name}\u0000${scope.version}\u0000`);
          if (metric !== undefined) metrics.push(metric);
        }
        if (metrics.length === 0) continue;
        const own = scope.name === "" && scope.version === "";
        scopeMetrics.push({
          scope: newScope({
            name: own ? this.#scopeName : scope.name,
            version: own ? this.#scopeVersion : scope.version,
          }),
          metrics,
          schemaUrl: "",
        });
      }
      if (scopeMetrics.length === 0) continue;
      const attributes = resourceAttributes(resource.job, resource.instance, scheme);
      for (const kv of resource.info) {
        const i = attributes.findIndex((a) => a.key === kv.key);
        if (i < 0) attributes.push(kv);
        else attributes[i] = kv;
      }
      out.push({ resource: newResource({ attributes }), scopeMetrics, schemaUrl: "" });
    }
    for (const [key, state] of this.#starts) {
      if (this.#epoch - state.lastSeen > FORGET_AFTER_SCRAPES) this.#starts.delete(key);
    }
    return out;
  }

  #metric(family: Family, prefix: string): Metric | undefined {
    const { resolved } = family;
    const metric = newMetric({
      name: resolved.name,
      description: resolved.meta?.help ?? "",
      unit: resolved.meta?.unit ?? "",
    });
    const statePrefix = `${prefix}${resolved.name}\u0000`;
    switch (resolved.kind) {
      case "gauge":
      case "sum": {
        const points: NumberDataPoint[] = [];
        for (const g of family.groups.values()) {
          if (g.value === undefined) continue;
          const time = msToNanos(g.timestampMs);
          const point = newNumberDataPoint({ attributes: g.attributes, timeUnixNano: time });
          if (g.stale) point.flags = FLAG_NO_RECORDED_VALUE;
          else point.value = g.value;
          if (resolved.kind === "sum") {
            point.startTimeUnixNano = this.#start(statePrefix + g.key, g, time, g.value, 0);
          }
          point.exemplars = g.exemplars;
          points.push(point);
        }
        if (points.length === 0) return undefined;
        metric.data = resolved.kind === "gauge" ? { type: "gauge", dataPoints: points } : {
          type: "sum",
          dataPoints: points,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          isMonotonic: resolved.monotonic,
        };
        return metric;
      }
      case "histogram": {
        const points: HistogramDataPoint[] = [];
        for (const g of family.groups.values()) {
          const point = this.#histogramPoint(g, statePrefix);
          if (point !== undefined) points.push(point);
        }
        if (points.length === 0) return undefined;
        metric.data = {
          type: "histogram",
          dataPoints: points,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
        };
        return metric;
      }
      case "summary": {
        const points: SummaryDataPoint[] = [];
        for (const g of family.groups.values()) {
          if (g.count === undefined) continue;
          g.bounds.sort((a, b) => a.bound - b.bound);
          const time = msToNanos(g.timestampMs);
          const point = newSummaryDataPoint({
            attributes: g.attributes,
            timeUnixNano: time,
            quantileValues: g.bounds.map((q) => ({
              quantile: q.bound,
              value: g.stale ? 0 : q.value,
            })),
          });
          if (g.stale) {
            point.flags = FLAG_NO_RECORDED_VALUE;
          } else {
            point.count = BigInt(Math.max(0, Math.trunc(g.count)));
            point.sum = g.sum ?? 0;
          }
          point.startTimeUnixNano = this.#start(statePrefix + g.key, g, time, g.count, g.sum ?? 0);
          points.push(point);
        }
        if (points.length === 0) return undefined;
        metric.data = { type: "summary", dataPoints: points };
        return metric;
      }
    }
  }

  #histogramPoint(g: Group, statePrefix: string): HistogramDataPoint | undefined {
    if (g.count === undefined || g.bounds.length === 0) return undefined;
    g.bounds.sort((a, b) => a.bound - b.bound);
    if (g.bounds[g.bounds.length - 1]!.bound !== Infinity) return undefined;
    const explicitBounds: number[] = [];
    const bucketCounts: bigint[] = [];
    let previous = 0;
    for (let i = 0; i < g.bounds.length; i++) {
      const b = g.bounds[i]!;
      if (i < g.bounds.length - 1) explicitBounds.push(b.bound);
      const count = g.stale ? 0 : Math.max(0, b.value - previous);
      previous = b.value;
      bucketCounts.push(BigInt(Math.trunc(Number.isFinite(count) ? count : 0)));
    }
    const time = msToNanos(g.timestampMs);
    const point = newHistogramDataPoint({
      attributes: g.attributes,
      timeUnixNano: time,
      explicitBounds,
      bucketCounts,
      exemplars: g.exemplars,
    });
    if (g.stale) {
      point.flags = FLAG_NO_RECORDED_VALUE;
    } else {
      point.count = BigInt(Math.max(0, Math.trunc(g.count)));
      if (g.sum !== undefined) point.sum = g.sum;
    }
    point.startTimeUnixNano = this.#start(statePrefix + g.key, g, time, g.count, g.sum ?? 0);
    return point;
  }

  /** The start time of a cumulative point: `_created`, else first sight, reset on a decrease. */
  #start(key: string, g: Group, time: bigint, value: number, sum: number): bigint {
    if (g.created !== undefined && !g.stale) {
      const created = secondsToNanos(g.created);
      if (created < time) return created;
    }
    const state = this.#starts.get(key);
    if (state === undefined) {
      if (!g.stale) {
        this.#starts.set(key, {
          start: time,
          previous: value,
          previousSum: sum,
          lastSeen: this.#epoch,
        });
      }
      return time;
    }
    if (g.stale) {
      this.#starts.delete(key);
      return state.start;
    }
    state.lastSeen = this.#epoch;
    if (value < state.previous || sum < state.previousSum) state.start = time;
    state.previous = value;
    state.previousSum = sum;
    return state.start;
  }
}
