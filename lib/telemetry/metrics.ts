/**
 * tfo's own metrics: a small registry of counters and gauges rendered in the Prometheus text
 * format. Recording is a property increment on a pre-resolved series, so hot paths stay cheap.
 *
 * @module
 */

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

/** Creates instruments; a scoped meter adds its labels to every series it creates. */
export interface Meter {
  /** A counter. Its exposed name gets the `_total` suffix, as the Prometheus exporter does. */
  counter(name: string, help: string, labels?: Labels): Counter;
  /** A gauge set by the caller. */
  gauge(name: string, help: string, labels?: Labels): Gauge;
  /** A gauge read at scrape time. */
  observe(name: string, help: string, labels: Labels, read: () => number): void;
  /**
   * A counter read at scrape time, for totals kept elsewhere (process uptime, CPU seconds). The
   * value read must never decrease. Its exposed name gets the `_total` suffix, as with `counter`.
   */
  observeCounter(name: string, help: string, labels: Labels, read: () => number): void;
  /** A meter whose series carry these labels too. */
  with(labels: Labels): Meter;
}

interface Series {
  labels: Labels;
  value: number;
  read: (() => number) | undefined;
}

interface Family {
  type: "counter" | "gauge";
  help: string;
  series: Map<string, Series>;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** Holds every series and renders them. */
export class MetricRegistry {
  #families = new Map<string, Family>();
  #constLabels: Labels;

  /** @param constLabels labels on every series (service name, version, instance ID) */
  constructor(constLabels: Labels = {}) {
    this.#constLabels = constLabels;
  }

  #series(name: string, type: Family["type"], help: string, labels: Labels): Series {
    let family = this.#families.get(name);
    if (family === undefined) {
      family = { type, help, series: new Map() };
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
    const counter = (name: string, help: string, labels: Labels = {}): Counter => {
      const s = this.#series(name + "_total", "counter", help, { ...base, ...labels });
      return {
        add: (n) => {
          if (n > 0) s.value += n;
        },
      };
    };
    const gauge = (name: string, help: string, labels: Labels = {}): Gauge => {
      const s = this.#series(name, "gauge", help, { ...base, ...labels });
      return {
        set: (n) => {
          s.value = n;
        },
        add: (n) => {
          s.value += n;
        },
      };
    };
    const observe = (name: string, help: string, labels: Labels, read: () => number) => {
      this.#series(name, "gauge", help, { ...base, ...labels }).read = read;
    };
    const observeCounter = (name: string, help: string, labels: Labels, read: () => number) => {
      this.#series(name + "_total", "counter", help, { ...base, ...labels }).read = read;
    };
    return {
      counter,
      gauge,
      observe,
      observeCounter,
      with: (labels) => this.meter({ ...base, ...labels }),
    };
  }

  /** The current value of a series, for tests and for tfo's own health decisions. */
  value(name: string, labels: Labels = {}): number | undefined {
    const s = this.#families.get(name)?.series.get(labelKey(labels));
    return s === undefined ? undefined : (s.read?.() ?? s.value);
  }

  /** Everything in the Prometheus text exposition format (version 0.0.4). */
  render(): string {
    const lines: string[] = [];
    const constPart = Object.entries(this.#constLabels);
    for (const [name, family] of [...this.#families].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`# HELP ${name} ${family.help.replaceAll("\n", " ")}`);
      lines.push(`# TYPE ${name} ${family.type}`);
      for (const s of family.series.values()) {
        let value: number;
        try {
          value = s.read?.() ?? s.value;
        } catch {
          continue;
        }
        const pairs = [...Object.entries(s.labels), ...constPart]
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`);
        const labels = pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
        lines.push(`${name}${labels} ${formatNumber(value)}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}
