/**
 * The parsed form of a Prometheus exposition: samples in the order they were exposed and the
 * metadata (`# TYPE`, `# HELP`, `# UNIT`) of their families. Both the text format 0.0.4 and
 * OpenMetrics 1.0 parse into it.
 *
 * @module
 */

/** A metric family type, as `# TYPE` declares it (`untyped` in the text format is `unknown`). */
export type MetricType =
  | "counter"
  | "gauge"
  | "histogram"
  | "gaugehistogram"
  | "summary"
  | "info"
  | "stateset"
  | "unknown";

/** One label: a name and its (unescaped) value. */
export interface Label {
  name: string;
  value: string;
}

/** An OpenMetrics exemplar attached to a sample. */
export interface Exemplar {
  labels: Label[];
  value: number;
  /** Milliseconds since the Unix epoch, when the exemplar carried a timestamp. */
  timestampMs: number | undefined;
}

/** One sample line. */
export interface Sample {
  /** The sample's metric name, suffix included (`http_requests_total`, `rpc_seconds_bucket`). */
  name: string;
  /** The labels in exposition order. */
  labels: Label[];
  value: number;
  /** Milliseconds since the Unix epoch, when the line carried a timestamp. */
  timestampMs: number | undefined;
  exemplar: Exemplar | undefined;
}

/** What the metadata lines said about one family. */
export interface FamilyMetadata {
  type: MetricType;
  /** `# HELP`, unescaped; empty when absent. */
  help: string;
  /** `# UNIT` (OpenMetrics only); empty when absent. */
  unit: string;
}

/** The two exposition formats. */
export type ExpositionFormat = "text" | "openmetrics";

/** A parsed exposition. */
export interface Exposition {
  samples: Sample[];
  /** Metadata by family name (the name on the `# TYPE` / `# HELP` / `# UNIT` line). */
  metadata: Map<string, FamilyMetadata>;
}

/** A malformed exposition: the message names the line and what was wrong with it. */
export class ExpositionError extends Error {
  /** The 1-based line number of the offending line. */
  readonly line: number;

  constructor(line: number, detail: string) {
    super(`Invalid exposition at line ${line}: ${detail}`);
    this.name = "ExpositionError";
    this.line = line;
  }
}
