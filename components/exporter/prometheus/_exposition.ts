/**
 * Turns the accumulated series into Prometheus metric families, as the Collector's `collector`
 * does at scrape time: names translated (`lib/prometheus/naming.ts`), labels from point
 * attributes, `otel_scope_*` (unless `without_scope_info`), `job` / `instance` and
 * `const_labels`; non-monotonic sums as gauges; histograms with cumulative buckets; exponential
 * histograms as native histograms (written only by the protobuf exposition; the text formats
 * show their count and sum with one `+Inf` bucket, as the Collector's client library does); one
 * `target_info` per resource that has both `job` and `instance`, with the resource's other
 * attributes as labels (values of keys that sanitize to the same label joined with `;`).
 *
 * The first type and description seen for a family name win while the name is exposed; a later
 * metric of another type under the same name is left out and counted, as the Collector does.
 *
 * @module
 */
import type {
  WriteExemplar,
  WriteFamily,
  WriteNative,
  WriteSeries,
  WriteType,
} from "../../../lib/prometheus/write.ts";
import {
  labelName,
  metricName,
  type NamingOptions,
  type TranslatedType,
} from "../../../lib/prometheus/naming.ts";
import type { KeyValue } from "../../../lib/pdata/types.ts";
import { anyValueToString } from "../../../lib/pdata/attributes.ts";
import type { Series } from "./_accumulator.ts";

/** What the exposition needs of the config. */
export interface ExpositionOptions {
  readonly naming: NamingOptions;
  readonly constLabels: Readonly<Record<string, string>>;
  readonly withoutScopeInfo: boolean;
  readonly sendTimestamps: boolean;
  readonly expirationMs: number;
  /** Counts series left out (type conflicts, untranslatable names). */
  readonly onConflict?: (
    reason: "type_conflict" | "invalid_name" | "duplicate_series" | "invalid_histogram",
    name: string,
  ) => void;
}

interface FamilyInfo {
  type: WriteType;
  help: string;
  lastSeen: number;
}

const RESERVED_SCOPE_KEYS = new Set(["name", "version", "schema_url"]);
const SERVICE_KEYS = new Set(["service.name", "service.namespace", "service.instance.id"]);

function translatedType(s: Series): TranslatedType {
  switch (s.kind) {
    case "sum":
      return s.monotonic ? "monotonicCounter" : "nonMonotonicCounter";
    default:
      return s.kind;
  }
}

function writeType(s: Series): WriteType {
  switch (s.kind) {
    case "gauge":
      return s.untyped ? "untyped" : "gauge";
    case "sum":
      return s.monotonic ? "counter" : "gauge";
    case "exponentialHistogram":
      return "histogram";
    default:
      return s.kind;
  }
}

/** Adds `name=value`, joining with `;` when the sanitized name is already taken. */
function put(labels: Map<string, string>, name: string, value: string): void {
  const prev = labels.get(name);
  labels.set(name, prev === undefined ? value : `${prev};${value}`);
}

function sortedPairs(labels: Map<string, string>): (readonly [string, string])[] {
  return [...labels].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

function compareSeries(a: WriteSeries, b: WriteSeries): number {
  if (a.labels.length !== b.labels.length) return a.labels.length - b.labels.length;
  for (let i = 0; i < a.labels.length; i++) {
    const x = a.labels[i]![1];
    const y = b.labels[i]![1];
    if (x !== y) return x < y ? -1 : 1;
  }
  return (a.timestampMs ?? -Infinity) - (b.timestampMs ?? -Infinity);
}

function sameLabels(a: WriteSeries, b: WriteSeries): boolean {
  return a.labels.length === b.labels.length &&
    a.labels.every((l, i) => l[0] === b.labels[i]![0] && l[1] === b.labels[i]![1]);
}

/** Builds families from series; keeps the family registry between scrapes. */
export class Exposition {
  readonly #options: ExpositionOptions;
  readonly #families = new Map<string, FamilyInfo>();
  readonly #names = new Map<string, string | undefined>();
  readonly #now: () => number;

  constructor(options: ExpositionOptions, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
  }

  #name(s: Series): string | undefined {
    const type = translatedType(s);
    const key = `${s.name}\u0000${s.unit}\u0000${type}`;
    if (this.#names.has(key)) return this.#names.get(key);
    const name = metricName(s.name, s.unit, type, this.#options.naming);
    if (this.#names.size > 100_000) this.#names.clear();
    this.#names.set(key, name);
    return name;
  }

  #labels(s: Series): readonly (readonly [string, string])[] {
    if (s.labels !== undefined) return s.labels;
    const utf8 = this.#options.naming.utf8Allowed;
    const labels = new Map<string, string>();
    const keys = [...s.attributes.keys()].sort();
    for (const key of keys) {
      const name = labelName(key, utf8);
      if (name !== undefined) put(labels, name, s.attributes.get(key)!);
    }
    if (!this.#options.withoutScopeInfo) {
      for (const kv of s.scope.attributes) {
        if (RESERVED_SCOPE_KEYS.has(kv.key)) continue;
        const name = labelName("otel_scope_" + kv.key, utf8);
        if (name !== undefined) labels.set(name, anyValueToString(kv.value));
      }
      labels.set("otel_scope_name", s.scope.name);
      labels.set("otel_scope_version", s.scope.version);
      labels.set("otel_scope_schema_url", s.scope.schemaUrl);
    }
    if (s.job !== undefined) labels.set("job", s.job);
    if (s.instance !== undefined) labels.set("instance", s.instance);
    for (const [k, v] of Object.entries(this.#options.constLabels)) labels.set(k, v);
    s.labels = sortedPairs(labels);
    return s.labels;
  }

  #exemplars(s: Series): WriteExemplar[] {
    return s.exemplars.map((e) => {
      const labels: [string, string][] = [];
      if (e.spanId !== "") labels.push(["span_id", e.spanId]);
      if (e.traceId !== "") labels.push(["trace_id", e.traceId]);
      labels.sort((a, b) => a[0] < b[0] ? -1 : 1);
      return { labels, value: e.value, timestampSeconds: e.timeSeconds, timestampNs: e.timeNs };
    });
  }

  #series(s: Series, type: WriteType): WriteSeries | undefined {
    const labels = this.#labels(s);
    const timestampMs = this.#options.sendTimestamps ? Number(s.timeNs / 1_000_000n) : undefined;
    const base: { labels: typeof labels; timestampMs?: number; createdNs?: bigint } =
      timestampMs === undefined ? { labels } : { labels, timestampMs };
    // The client library's created timestamp: the start time, when it is past 1970-01-01T00:00:01.
    if (
      s.startNs >= 1_000_000_000n && (s.kind !== "sum" || type === "counter") && s.kind !== "gauge"
    ) {
      base.createdNs = s.startNs;
    }
    switch (s.kind) {
      case "gauge":
        return {
          labels: base.labels,
          ...(timestampMs === undefined ? {} : { timestampMs }),
          value: s.value,
        };
      case "sum": {
        if (type !== "counter" || s.exemplars.length === 0) return { ...base, value: s.value };
        return { ...base, value: s.value, exemplar: this.#exemplars(s).at(-1)! };
      }
      case "summary": {
        const byQuantile = new Map<number, number>();
        for (const [q, v] of s.quantiles) byQuantile.set(q, v);
        const quantiles = [...byQuantile].sort((a, b) => a[0] - b[0]);
        return { ...base, quantiles, sum: s.sum, count: s.count };
      }
      case "exponentialHistogram": {
        const native = this.#native(s);
        if (native === undefined) return undefined;
        return { ...base, buckets: [], sum: s.hasSum ? s.sum : 0, count: s.count, native };
      }
      case "histogram": {
        const firstIndex = new Map<number, number>();
        s.bounds.forEach((b, i) => {
          if (!firstIndex.has(b)) firstIndex.set(b, i);
        });
        const bounds = [...firstIndex.keys()].sort((a, b) => a - b);
        let cumulative = 0n;
        const buckets: { upperBound: number; cumulativeCount: bigint }[] = bounds.map((b) => {
          const i = firstIndex.get(b)!;
          cumulative += i < s.bucketCounts.length ? s.bucketCounts[i]! : 0n;
          return { upperBound: b, cumulativeCount: cumulative };
        });
        const sum = s.sum;
        if (s.exemplars.length === 0) return { ...base, buckets, sum, count: s.count };
        const bucketExemplars = new Map<number, WriteExemplar>();
        for (const e of this.#exemplars(s)) {
          let i = buckets.findIndex((b) => b.upperBound >= e.value);
          if (i < 0) {
            buckets.push({ upperBound: Infinity, cumulativeCount: s.count });
            i = buckets.length - 1;
          }
          bucketExemplars.set(i, e);
        }
        return { ...base, buckets, sum, count: s.count, bucketExemplars };
      }
    }
  }

  /**
   * The native histogram of an exponential one, as the Collector converts it: scales above 8
   * merged down to 8, scales below -4 not convertible (the series is left out), OTLP bucket `k`
   * (lower bound exclusive) is Prometheus bucket `k + 1`, a zero threshold of 0 becomes 1e-128.
   */
  #native(s: Series): WriteNative | undefined {
    const e = s.exp!;
    if (e.scale < -4) {
      this.#options.onConflict?.("invalid_histogram", s.name);
      return undefined;
    }
    const down = e.scale > 8 ? e.scale - 8 : 0;
    const side = (offset: number, counts: readonly bigint[]) => {
      const out = new Map<number, bigint>();
      counts.forEach((c, i) => {
        const idx = ((i + offset) >> down) + 1;
        out.set(idx, (out.get(idx) ?? 0n) + c);
      });
      return [...out].sort((a, b) => a[0] - b[0]);
    };
    return {
      schema: Math.min(e.scale, 8),
      zeroThreshold: e.zeroThreshold === 0 ? 1e-128 : e.zeroThreshold,
      zeroCount: e.zeroCount,
      positive: side(e.posOffset, e.pos),
      negative: side(e.negOffset, e.neg),
      exemplars: this.#exemplars(s),
    };
  }

  /** Every family to expose now, sorted by name, series sorted by labels. */
  families(series: readonly Series[]): WriteFamily[] {
    const now = this.#now();
    const byName = new Map<string, { type: WriteType; help: string; series: WriteSeries[] }>();
    const resources = new Map<string, readonly KeyValue[]>();
    for (const s of series) {
      if (s.job !== undefined && s.instance !== undefined && s.job !== "" && s.instance !== "") {
        resources.set(`${s.job}\u0000${s.instance}`, s.resource);
      }
      const name = this.#name(s);
      if (name === undefined) {
        this.#options.onConflict?.("invalid_name", s.name);
        continue;
      }
      const type = writeType(s);
      let info = this.#families.get(name);
      if (info === undefined) {
        info = { type, help: s.description, lastSeen: now };
        this.#families.set(name, info);
      } else if (info.type !== type) {
        this.#options.onConflict?.("type_conflict", name);
        continue;
      }
      info.lastSeen = now;
      let family = byName.get(name);
      if (family === undefined) {
        family = { type, help: info.help, series: [] };
        byName.set(name, family);
      }
      const out = this.#series(s, type);
      if (out !== undefined) family.series.push(out);
    }
    const targetInfo = this.#targetInfo(resources);
    if (targetInfo !== undefined && !byName.has(targetInfo.name)) {
      byName.set(targetInfo.name, targetInfo);
    }
    this.#expireFamilies(now);
    const out: WriteFamily[] = [];
    for (const name of [...byName.keys()].sort()) {
      const f = byName.get(name)!;
      // The client library's order: fewer labels first, then label values pairwise.
      const series = [...f.series].sort(compareSeries);
      // Two series with the same labels (say, from two scopes with `without_scope_info`) cannot
      // both be exposed: the first is kept, as the Collector's registry keeps one.
      const unique = series.filter((s, i) => i === 0 || !sameLabels(series[i - 1]!, s));
      if (unique.length < series.length) this.#options.onConflict?.("duplicate_series", name);
      out.push({ name, help: f.help, type: f.type, series: unique });
    }
    return out;
  }

  #targetInfo(resources: Map<string, readonly KeyValue[]>) {
    if (resources.size === 0) return undefined;
    const utf8 = this.#options.naming.utf8Allowed;
    const series: WriteSeries[] = [];
    for (const attrs of resources.values()) {
      const labels = new Map<string, string>();
      for (const kv of attrs) {
        if (SERVICE_KEYS.has(kv.key)) continue;
        const name = labelName(kv.key, utf8);
        if (name !== undefined) put(labels, name, anyValueToString(kv.value));
      }
      // The Collector's job/instance are derived the same way as for the series.
      let name: string | undefined;
      let ns: string | undefined;
      let instance: string | undefined;
      for (const kv of attrs) {
        if (kv.key === "service.name") name = anyValueToString(kv.value);
        else if (kv.key === "service.namespace") ns = anyValueToString(kv.value);
        else if (kv.key === "service.instance.id") instance = anyValueToString(kv.value);
      }
      if (name !== undefined) labels.set("job", ns === undefined ? name : `${ns}/${name}`);
      if (instance !== undefined) labels.set("instance", instance);
      series.push({ labels: sortedPairs(labels), value: 1 });
    }
    const namespace = this.#options.naming.namespace === ""
      ? ""
      : labelName(this.#options.naming.namespace, utf8) ?? "";
    return {
      name: namespace === "" ? "target_info" : `${namespace}_target_info`,
      type: "gauge" as const,
      help: "Target metadata",
      series,
    };
  }

  #expireFamilies(now: number): void {
    const ttl = this.#options.expirationMs;
    if (ttl <= 0) return;
    for (const [name, info] of this.#families) {
      if (info.lastSeen < now - ttl) this.#families.delete(name);
    }
  }
}
