/**
 * tfo's own metrics: a small registry of counters, gauges and histograms rendered in the Prometheus text
 * format. Recording is a property increment on a pre-resolved series, so hot paths stay cheap.
 *
 * Instruments are created under their OpenTelemetry name (`otelcol_receiver_accepted_spans`,
 * `otelcol_process_uptime`); how a name is exposed is decided at render time, as the Collector's
 * Prometheus reader decides it: by default (`without_type_suffix`, `without_units` and
 * `without_scope_info` all true, the Collector's defaults) the name is exposed as is; otherwise a
 * unit suffix (`_seconds`, `_bytes`) and, for counters, `_total` are appended, and the
 * `otel_scope_*` labels added. The service's own attributes are one `target_info` series, not labels
 * on every series. Names and units of the Collector's metrics come from `catalog.ts`.
 *
 * @module
 */
import { catalogEntry, TFO_SCOPE } from "./catalog.ts";

/** Label names and values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** A monotonically increasing value. */
export interface Counter {
  add(n: number): void;
}

/** A value that goes up and down. */
export interface Gauge {
  set(n: number): void;
  add(n: number): void;
}

/** A distribution of recorded values over fixed bucket bounds. */
export interface Histogram {
  record(value: number): void;
}

/** Options of one instrument. */
export interface InstrumentOptions {
  /**
   * The OpenTelemetry unit (`s`, `By`, `{spans}`); the catalog's unit wins for the Collector's
   * metrics.
   * @default none
   */
  readonly unit?: string;
}

/** Creates instruments; a scoped meter adds its labels to every series it creates. */
export interface Meter {
  /** A counter; exposed with `_total` only when the reader keeps type suffixes. */
  counter(name: string, help: string, labels?: Labels, options?: InstrumentOptions): Counter;
  /** A gauge set by the caller. */
  gauge(name: string, help: string, labels?: Labels, options?: InstrumentOptions): Gauge;
  /** A histogram over explicit bucket upper bounds (ascending; `+Inf` is implied). */
  histogram(
    name: string,
    help: string,
    bounds: readonly number[],
    labels?: Labels,
    options?: InstrumentOptions,
  ): Histogram;
  /** A gauge read at scrape time. */
  observe(
    name: string,
    help: string,
    labels: Labels,
    read: () => number,
    options?: InstrumentOptions,
  ): void;
  /**
   * A counter read at scrape time, for totals kept elsewhere (process uptime, CPU seconds). The
   * value read must never decrease.
   */
  observeCounter(
    name: string,
    help: string,
    labels: Labels,
    read: () => number,
    options?: InstrumentOptions,
  ): void;
  /** A meter whose series carry these labels too. */
  with(labels: Labels): Meter;
}

/** How a Prometheus reader exposes the registry, as the Collector's reader config says. */
export interface RenderOptions {
  /**
   * Leave `_total` off counter names.
   * @default true
   */
  readonly withoutTypeSuffix?: boolean;
  /**
   * Leave the unit suffix (`_seconds`, `_bytes`) off names.
   * @default true
   */
  readonly withoutUnits?: boolean;
  /**
   * Leave the `otel_scope_name`, `otel_scope_version` and `otel_scope_schema_url` labels off.
   * @default true
   */
  readonly withoutScopeInfo?: boolean;
}

/** Options of {@linkcode MetricRegistry}. */
export interface RegistryOptions {
  /**
   * The service's own attributes (`service.name`, `service.version`, `service.instance.id`…),
   * exposed as the labels of one `target_info` series.
   * @default none: no `target_info`
   */
  readonly targetInfo?: Readonly<Record<string, string>>;
}

interface Series {
  labels: Labels;
  /** The value; for a histogram, the count. */
  value: number;
  read: (() => number) | undefined;
  /** A histogram's bounds, counts per bucket (not cumulative) and sum. */
  histogram?: { bounds: readonly number[]; counts: number[]; sum: number };
}

interface Family {
  type: "counter" | "gauge" | "histogram";
  help: string;
  unit: string;
  scope: string;
  series: Map<string, Series>;
}

/** One series of a {@linkcode MetricSnapshot}. */
export interface SnapshotSeries {
  readonly labels: Labels;
  /** The value; for a histogram, the count. */
  readonly value: number;
  readonly histogram?: {
    readonly bounds: readonly number[];
    readonly counts: readonly number[];
    readonly sum: number;
  };
}

/** One family of a {@linkcode MetricSnapshot}. */
export interface SnapshotFamily {
  readonly name: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly help: string;
  readonly unit: string;
  readonly scope: string;
  readonly series: readonly SnapshotSeries[];
}

/**
 * A registry's values at one moment, as plain data (structured-cloneable): what a worker sends
 * the primary, which adds it to its own series of the same names and labels.
 */
export interface MetricSnapshot {
  readonly families: readonly SnapshotFamily[];
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

/** A Prometheus label or metric name from an OpenTelemetry one (`service.name` → `service_name`). */
export function sanitizeName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** The Prometheus words of the common UCUM units, as the OpenTelemetry translation has them. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  bit: "bits",
  Hz: "hertz",
  Cel: "celsius",
  "%": "percent",
};

/**
 * The name suffix of an OpenTelemetry unit: `s` → `seconds`, `By/s` → `bytes_per_second`;
 * annotations in braces (`{spans}`) and the dimensionless `1` have none.
 */
export function unitSuffix(unit: string): string {
  const plain = unit.replace(/\{[^}]*\}/g, "").trim();
  if (plain === "" || plain === "1") return "";
  const [num = "", per] = plain.split("/", 2);
  const word = (u: string) => UNIT_WORDS[u] ?? sanitizeName(u);
  const numWord = num === "" || num === "1" ? "" : word(num);
  if (per === undefined || per === "") return numWord;
  const perWord = ({ s: "second", m: "minute", h: "hour", d: "day" } as Record<string, string>)[
    per
  ] ?? word(per);
  return numWord === "" ? `per_${perWord}` : `${numWord}_per_${perWord}`;
}

/** The name a family is exposed under with these options. */
export function exposedName(
  name: string,
  type: "counter" | "gauge" | "histogram",
  unit: string,
  options: RenderOptions = {},
): string {
  let out = name;
  if (!(options.withoutUnits ?? true)) {
    const suffix = unitSuffix(unit);
    if (suffix !== "" && !out.endsWith(`_${suffix}`)) out += `_${suffix}`;
  }
  if (type === "counter" && !(options.withoutTypeSuffix ?? true) && !out.endsWith("_total")) {
    out += "_total";
  }
  return out;
}

/** Holds every series and renders them. */
export class MetricRegistry {
  #families = new Map<string, Family>();
  #targetInfo: Labels | undefined;
  /** The latest snapshot of each other worker, by worker key. */
  #remotes = new Map<string, MetricSnapshot>();
  /** Counters and histograms of workers that are gone, so the sums never go down. */
  #retired: MetricSnapshot[] = [];
  #refresher: (() => Promise<void>) | undefined;

  constructor(options: RegistryOptions = {}) {
    if (options.targetInfo !== undefined) {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(options.targetInfo)) labels[sanitizeName(k)] = v;
      this.#targetInfo = labels;
    }
  }

  #series(
    name: string,
    type: Family["type"],
    help: string,
    labels: Labels,
    options: InstrumentOptions | undefined,
  ): Series {
    let family = this.#families.get(name);
    if (family === undefined) {
      const known = catalogEntry(name);
      family = {
        type,
        help: known?.help ?? help,
        unit: known?.unit ?? options?.unit ?? "",
        scope: known?.scope ?? TFO_SCOPE,
        series: new Map(),
      };
      this.#families.set(name, family);
    } else if (family.type !== type) {
      throw new Error(`Metric "${name}" is already registered as a ${family.type}`);
    }
    const key = labelKey(labels);
    let series = family.series.get(key);
    if (series === undefined) {
      series = { labels, value: 0, read: undefined };
      family.series.set(key, series);
    }
    return series;
  }

  /** A meter over this registry. */
  meter(base: Labels = {}): Meter {
    const counter: Meter["counter"] = (name, help, labels = {}, options) => {
      const s = this.#series(name, "counter", help, { ...base, ...labels }, options);
      return {
        add: (n) => {
          if (n > 0) s.value += n;
        },
      };
    };
    const gauge: Meter["gauge"] = (name, help, labels = {}, options) => {
      const s = this.#series(name, "gauge", help, { ...base, ...labels }, options);
      return {
        set: (n) => {
          s.value = n;
        },
        add: (n) => {
          s.value += n;
        },
      };
    };
    const histogram: Meter["histogram"] = (name, help, bounds, labels = {}, options) => {
      const s = this.#series(name, "histogram", help, { ...base, ...labels }, options);
      const h = s.histogram ??= { bounds, counts: new Array(bounds.length + 1).fill(0), sum: 0 };
      return {
        record: (v) => {
          let i = 0;
          while (i < h.bounds.length && v > h.bounds[i]!) i++;
          h.counts[i]!++;
          h.sum += v;
          s.value++;
        },
      };
    };
    const observe: Meter["observe"] = (name, help, labels, read, options) => {
      this.#series(name, "gauge", help, { ...base, ...labels }, options).read = read;
    };
    const observeCounter: Meter["observeCounter"] = (name, help, labels, read, options) => {
      this.#series(name, "counter", help, { ...base, ...labels }, options).read = read;
    };
    return {
      counter,
      gauge,
      histogram,
      observe,
      observeCounter,
      with: (labels) => this.meter({ ...base, ...labels }),
    };
  }

  /**
   * Every series' current value as plain data; `keep` picks families and series (all by default).
   * Only this registry's own series: snapshots added with {@linkcode MetricRegistry.setRemote} are
   * not in it.
   */
  snapshot(keep: (name: string, labels: Labels) => boolean = () => true): MetricSnapshot {
    const families: SnapshotFamily[] = [];
    for (const [name, family] of this.#families) {
      const series: SnapshotSeries[] = [];
      for (const s of family.series.values()) {
        if (!keep(name, s.labels)) continue;
        let value: number;
        try {
          value = s.read?.() ?? s.value;
        } catch {
          continue;
        }
        const h = s.histogram;
        series.push(
          h === undefined
            ? { labels: s.labels, value }
            : { labels: s.labels, value, histogram: { ...h, counts: [...h.counts] } },
        );
      }
      if (series.length > 0) {
        const { type, help, unit, scope } = family;
        families.push({ name, type, help, unit, scope, series });
      }
    }
    return { families };
  }

  /**
   * Adds another worker's series (its latest snapshot, replacing the one before under the same
   * key) to this registry's: rendered and read as sums with the series of the same name and
   * labels.
   */
  setRemote(key: string, snapshot: MetricSnapshot): void {
    this.#remotes.set(key, snapshot);
  }

  /**
   * Sets what brings the remote snapshots up to date before a scrape (asks the other workers for
   * theirs); `undefined` removes it.
   */
  setRefresher(refresh: (() => Promise<void>) | undefined): void {
    this.#refresher = refresh;
  }

  /** Brings the remote snapshots up to date, when a refresher is set; else undefined. */
  refresh(): Promise<void> | undefined {
    return this.#refresher?.();
  }

  /**
   * Drops a worker's snapshot (the worker is gone) but keeps its counters and histograms in the
   * sums, so a restarted worker's counters, starting at 0, never make a sum go down.
   */
  retireRemote(key: string): void {
    const last = this.#remotes.get(key);
    if (last === undefined) return;
    this.#remotes.delete(key);
    const kept = last.families.filter((f) => f.type !== "gauge");
    if (kept.length > 0) this.#retired.push({ families: kept });
  }

  /** The families to read: this registry's own, plus remote ones summed in when there are any. */
  #view(): Map<string, Family> {
    if (this.#remotes.size === 0 && this.#retired.length === 0) return this.#families;
    const out = new Map<string, Family>();
    for (const [name, family] of this.#families) {
      const series = new Map<string, Series>();
      for (const [key, s] of family.series) {
        let value: number;
        try {
          value = s.read?.() ?? s.value;
        } catch {
          continue;
        }
        const h = s.histogram;
        series.set(key, {
          labels: s.labels,
          value,
          read: undefined,
          ...(h === undefined ? {} : { histogram: { ...h, counts: [...h.counts] } }),
        });
      }
      out.set(name, { ...family, series });
    }
    for (const snapshot of [...this.#retired, ...this.#remotes.values()]) {
      for (const f of snapshot.families) {
        let family = out.get(f.name);
        if (family === undefined) {
          family = { type: f.type, help: f.help, unit: f.unit, scope: f.scope, series: new Map() };
          out.set(f.name, family);
        } else if (family.type !== f.type) continue;
        for (const s of f.series) {
          const key = labelKey(s.labels);
          const mine = family.series.get(key);
          if (mine === undefined) {
            const h = s.histogram;
            family.series.set(key, {
              labels: s.labels,
              value: s.value,
              read: undefined,
              ...(h === undefined ? {} : { histogram: { ...h, counts: [...h.counts] } }),
            });
            continue;
          }
          mine.value += s.value;
          const h = mine.histogram;
          const r = s.histogram;
          if (h !== undefined && r !== undefined && h.counts.length === r.counts.length) {
            for (let i = 0; i < r.counts.length; i++) h.counts[i]! += r.counts[i]!;
            h.sum += r.sum;
          }
        }
      }
    }
    return out;
  }

  /**
   * The current value of a series, for tests and for tfo's own health decisions. `name` is the
   * instrument's name; a name exposed with type or unit suffixes is found too. Without a series of
   * exactly these labels, the sum of the series that carry all of them (as a PromQL `sum` would
   * give), or undefined when none does.
   */
  value(name: string, labels: Labels = {}): number | undefined {
    const families = this.#view();
    const family = families.get(name) ?? this.#byExposedName(families, name);
    if (family === undefined) return undefined;
    const read = (s: Series) => s.read?.() ?? s.value;
    const exact = family.series.get(labelKey(labels));
    if (exact !== undefined) return read(exact);
    let sum: number | undefined;
    for (const s of family.series.values()) {
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum = (sum ?? 0) + read(s);
    }
    return sum;
  }

  #byExposedName(families: Map<string, Family>, name: string): Family | undefined {
    for (const [base, family] of families) {
      const full = exposedName(base, family.type, family.unit, {
        withoutTypeSuffix: false,
        withoutUnits: false,
      });
      if (full === name || full === `${name}_total` || name === `${base}_total`) return family;
    }
    return undefined;
  }

  /** Everything in the Prometheus text exposition format (version 0.0.4). */
  render(options: RenderOptions = {}): string {
    const lines: string[] = [];
    const withScope = !(options.withoutScopeInfo ?? true);
    const families = [...this.#view()].map(([name, family]) =>
      [exposedName(name, family.type, family.unit, options), family] as const
    );
    if (this.#targetInfo !== undefined) {
      const target: Family = {
        type: "gauge",
        help: "Target metadata",
        unit: "",
        scope: "",
        series: new Map([["", { labels: this.#targetInfo, value: 1, read: undefined }]]),
      };
      families.push(["target_info", target]);
    }
    families.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    for (const [name, family] of families) {
      lines.push(`# HELP ${name} ${family.help.replaceAll("\n", " ")}`);
      lines.push(`# TYPE ${name} ${family.type}`);
      const scope = withScope && name !== "target_info"
        ? { otel_scope_name: family.scope, otel_scope_schema_url: "", otel_scope_version: "" }
        : {};
      for (const s of family.series.values()) {
        let value: number;
        try {
          value = s.read?.() ?? s.value;
        } catch {
          continue;
        }
        const format = (extra: Labels = {}) => {
          const pairs = Object.entries({ ...s.labels, ...scope, ...extra })
            .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
            .map(([k, v]) => `${k}="${escapeLabel(v)}"`);
          return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
        };
        const h = s.histogram;
        if (h === undefined) {
          lines.push(`${name}${format()} ${formatNumber(value)}`);
          continue;
        }
        let cumulative = 0;
        for (let i = 0; i < h.bounds.length; i++) {
          cumulative += h.counts[i]!;
          lines.push(`${name}_bucket${format({ le: formatNumber(h.bounds[i]!) })} ${cumulative}`);
        }
        lines.push(`${name}_bucket${format({ le: "+Inf" })} ${s.value}`);
        lines.push(`${name}_sum${format()} ${formatNumber(h.sum)}`);
        lines.push(`${name}_count${format()} ${s.value}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}

/**
 * A meter that adds labels to some instruments only, chosen by name: the Collector labels an
 * exporter's sent / send-failed counters with `server_address`, `server_port` and `url_path`, but
 * not its queue gauges. `extra` returns the labels for an instrument name, or undefined for none.
 */
export function withInstrumentLabels(
  meter: Meter,
  extra: (name: string) => Labels | undefined,
): Meter {
  const merged = (name: string, labels: Labels | undefined): Labels => {
    const more = extra(name);
    return more === undefined ? (labels ?? {}) : { ...labels, ...more };
  };
  return {
    counter: (name, help, labels, options) =>
      meter.counter(name, help, merged(name, labels), options),
    gauge: (name, help, labels, options) => meter.gauge(name, help, merged(name, labels), options),
    histogram: (name, help, bounds, labels, options) =>
      meter.histogram(name, help, bounds, merged(name, labels), options),
    observe: (name, help, labels, read, options) =>
      meter.observe(name, help, merged(name, labels), read, options),
    observeCounter: (name, help, labels, read, options) =>
      meter.observeCounter(name, help, merged(name, labels), read, options),
    with: (labels) => withInstrumentLabels(meter.with(labels), extra),
  };
}
