/**
 * Writes metric families in the Prometheus text format 0.0.4 or OpenMetrics 1.0, byte for byte
 * as the Prometheus Go client library (`expfmt`) writes them: numbers as Go's shortest `%g`
 * (`1e+06`, `1.5e-05`), OpenMetrics numbers with `.0` where they would look like integers,
 * OpenMetrics counts as integers and timestamps in seconds, counters' `_total` moved from the
 * family name to the sample in OpenMetrics, `# EOF` at the end. Names are escaped to the legacy
 * character set (`escaping=underscores`), as the client library does for a scraper that did not
 * ask for UTF-8 names.
 *
 * @module
 */
import { escapeName } from "./naming.ts";

/** The family types the writer knows. */
export type WriteType = "counter" | "gauge" | "untyped" | "histogram" | "summary";

/** One cumulative bucket of a histogram. */
export interface WriteBucket {
  readonly upperBound: number;
  readonly cumulativeCount: bigint;
}

/** An exemplar (OpenMetrics only). */
export interface WriteExemplar {
  readonly labels: readonly (readonly [string, string])[];
  readonly value: number;
  /** Seconds since the epoch; absent for none. */
  readonly timestampSeconds?: number;
  /** The same in nanoseconds, for the protobuf exposition. */
  readonly timestampNs?: bigint;
}

/** A native (exponential) histogram's buckets, Prometheus-indexed. */
export interface WriteNative {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: bigint;
  /** `[index, count]`, sorted by index. */
  readonly positive: readonly (readonly [number, bigint])[];
  readonly negative: readonly (readonly [number, bigint])[];
  readonly exemplars: readonly WriteExemplar[];
}

/** One series of a family. */
export interface WriteSeries {
  /** Label pairs, sorted by name. */
  readonly labels: readonly (readonly [string, string])[];
  /** Counter, gauge or untyped value. */
  readonly value?: number;
  /** Histogram buckets sorted by upper bound, cumulative; `+Inf` is added when missing. */
  readonly buckets?: readonly WriteBucket[];
  /** Summary quantiles, sorted. */
  readonly quantiles?: readonly (readonly [number, number])[];
  readonly sum?: number;
  readonly count?: bigint;
  /** The sample timestamp in milliseconds, when sent. */
  readonly timestampMs?: number;
  /** Counter exemplar (OpenMetrics only). */
  readonly exemplar?: WriteExemplar;
  /** Exemplars per bucket index (OpenMetrics only). */
  readonly bucketExemplars?: ReadonlyMap<number, WriteExemplar>;
  /** The series' start, for the protobuf exposition's created timestamp. */
  readonly createdNs?: bigint;
  /** Native histogram buckets (protobuf exposition only; the text formats show count and sum). */
  readonly native?: WriteNative;
}

/** One metric family. */
export interface WriteFamily {
  readonly name: string;
  readonly help: string;
  readonly type: WriteType;
  readonly series: readonly WriteSeries[];
}

/** Go's `strconv.FormatFloat(f, 'g', -1, 64)`. */
export function goFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  if (f === 0) return Object.is(f, -0) ? "-0" : "0";
  const text = f.toExponential();
  const e = text.indexOf("e");
  const exp = Number(text.slice(e + 1));
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${text.slice(0, e)}e${exp < 0 ? "-" : "+"}${abs < 10 ? "0" : ""}${abs}`;
  }
  return String(f);
}

/** The text format's number: `expfmt.writeFloat`. */
function textFloat(f: number): string {
  if (f === 1) return "1";
  if (f === 0) return "0";
  if (f === -1) return "-1";
  return goFloat(f);
}

/** OpenMetrics' number: `expfmt.writeOpenMetricsFloat`. */
function omFloat(f: number): string {
  if (f === 1) return "1.0";
  if (f === 0) return "0.0";
  if (f === -1) return "-1.0";
  const s = goFloat(f);
  if (Number.isFinite(f) && !s.includes("e") && !s.includes(".")) return s + ".0";
  return s;
}

function escapeHelp(s: string): string {
  if (!/[\\\n]/.test(s)) return s;
  return s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeQuoted(s: string): string {
  if (!/[\\\n"]/.test(s)) return s;
  return s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

type Float = (f: number) => string;

function labelsText(
  labels: readonly (readonly [string, string])[],
  extraName: string,
  extraValue: number,
  float: Float,
): string {
  if (labels.length === 0 && extraName === "") return "";
  let out = "{";
  let first = true;
  for (const [name, value] of labels) {
    out += (first ? "" : ",") + escapeName(name, true) + '="' + escapeQuoted(value) + '"';
    first = false;
  }
  if (extraName !== "") out += (first ? "" : ",") + extraName + '="' + float(extraValue) + '"';
  return out + "}";
}

function exemplarText(e: WriteExemplar): string {
  let out = " # " + (labelsText(e.labels, "", 0, omFloat) || "{}") + " " + omFloat(e.value);
  if (e.timestampSeconds !== undefined) out += " " + omFloat(e.timestampSeconds);
  return out;
}

/** Writes families in the text format 0.0.4. */
export function writeText(families: readonly WriteFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (f.series.length === 0) continue;
    const name = escapeName(f.name, false);
    out.push(`# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} ${f.type}\n`);
    for (const s of f.series) {
      const ts = s.timestampMs === undefined ? "" : " " + Math.floor(s.timestampMs).toString();
      const sample = (suffix: string, extra: string, extraValue: number, v: number) =>
        out.push(
          name + suffix + labelsText(s.labels, extra, extraValue, textFloat) + " " + textFloat(v) +
            ts + "\n",
        );
      switch (f.type) {
        case "histogram": {
          let infSeen = false;
          for (const b of s.buckets ?? []) {
            sample("_bucket", "le", b.upperBound, Number(b.cumulativeCount));
            if (b.upperBound === Infinity) infSeen = true;
          }
          if (!infSeen) sample("_bucket", "le", Infinity, Number(s.count ?? 0n));
          sample("_sum", "", 0, s.sum ?? 0);
          sample("_count", "", 0, Number(s.count ?? 0n));
          break;
        }
        case "summary":
          for (const [q, v] of s.quantiles ?? []) sample("", "quantile", q, v);
          sample("_sum", "", 0, s.sum ?? 0);
          sample("_count", "", 0, Number(s.count ?? 0n));
          break;
        default:
          sample("", "", 0, s.value ?? 0);
      }
    }
  }
  return out.join("");
}

/** Writes families in OpenMetrics 1.0, ending with `# EOF`. */
export function writeOpenMetrics(families: readonly WriteFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (f.series.length === 0) continue;
    const full = escapeName(f.name, false);
    const isCounter = f.type === "counter";
    const totalCounter = isCounter && full.endsWith("_total");
    const family = totalCounter ? full.slice(0, -6) : full;
    const type = isCounter
      ? (totalCounter ? "counter" : "unknown")
      : f.type === "untyped"
      ? "unknown"
      : f.type;
    out.push(`# HELP ${family} ${escapeQuoted(f.help)}\n# TYPE ${family} ${type}\n`);
    const sampleName = totalCounter ? family + "_total" : family;
    for (const s of f.series) {
      const ts = s.timestampMs === undefined ? "" : " " + omFloat(s.timestampMs / 1000);
      const line = (
        suffix: string,
        extra: string,
        extraValue: number,
        v: string,
        e?: WriteExemplar,
      ) =>
        out.push(
          sampleName + suffix + labelsText(s.labels, extra, extraValue, omFloat) + " " + v + ts +
            (e !== undefined && e.labels.length > 0 ? exemplarText(e) : "") + "\n",
        );
      switch (f.type) {
        case "histogram": {
          let infSeen = false;
          (s.buckets ?? []).forEach((b, i) => {
            line(
              "_bucket",
              "le",
              b.upperBound,
              b.cumulativeCount.toString(),
              s.bucketExemplars?.get(i),
            );
            if (b.upperBound === Infinity) infSeen = true;
          });
          if (!infSeen) line("_bucket", "le", Infinity, (s.count ?? 0n).toString());
          line("_sum", "", 0, omFloat(s.sum ?? 0));
          line("_count", "", 0, (s.count ?? 0n).toString());
          break;
        }
        case "summary":
          for (const [q, v] of s.quantiles ?? []) line("", "quantile", q, omFloat(v));
          line("_sum", "", 0, omFloat(s.sum ?? 0));
          line("_count", "", 0, (s.count ?? 0n).toString());
          break;
        case "counter":
          line("", "", 0, omFloat(s.value ?? 0), s.exemplar);
          break;
        default:
          line("", "", 0, omFloat(s.value ?? 0));
      }
    }
  }
  out.push("# EOF\n");
  return out.join("");
}
