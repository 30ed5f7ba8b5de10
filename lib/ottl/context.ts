/**
 * The OTTL contexts: what a statement runs against (`resource`, `scope`, `span`, `spanevent`,
 * `metric`, `datapoint`, `log`), which contexts each can reach, and context inference from the
 * path prefixes a statement uses.
 *
 * @module
 */
import type {
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  Metric,
  NumberDataPoint,
  Resource,
  Signal,
  Span,
  SpanEvent,
  SummaryDataPoint,
} from "../pdata/types.ts";

/** A context name. */
export type ContextName =
  | "resource"
  | "scope"
  | "span"
  | "spanevent"
  | "metric"
  | "datapoint"
  | "log";

/** Every context, in the order of the telemetry hierarchy. */
export const CONTEXTS: readonly ContextName[] = [
  "resource",
  "scope",
  "span",
  "spanevent",
  "metric",
  "datapoint",
  "log",
];

/** Any data point. */
export type DataPoint =
  | NumberDataPoint
  | HistogramDataPoint
  | ExponentialHistogramDataPoint
  | SummaryDataPoint;

/** Something with a `schemaUrl` (a resource-level or scope-level container). */
export interface SchemaHolder {
  schemaUrl: string;
}

/**
 * What one evaluation sees: the current item and the items above it. The processor fills it in
 * while it walks the data and reuses one object; `cache` is fresh per item.
 */
export interface TransformContext {
  resource: Resource;
  resourceHolder: SchemaHolder;
  scope: InstrumentationScope;
  scopeHolder: SchemaHolder;
  span: Span | undefined;
  event: SpanEvent | undefined;
  eventIndex: number;
  metric: Metric | undefined;
  /** The metric list of the current scope (metric functions append new metrics to it). */
  metrics: Metric[] | undefined;
  datapoint: DataPoint | undefined;
  log: LogRecord | undefined;
  /** The `cache` map; `undefined` until first used. */
  cache: KeyValue[] | undefined;
  /**
   * The request metadata of the payload being processed (the receiver's `include_metadata`
   * headers or gRPC metadata, keys in lower case), read by the `metadata` path.
   */
  metadata: ReadonlyMap<string, readonly string[]>;
}

/** A context object with nothing set, for the processors to fill. */
export function newTransformContext(): TransformContext {
  return {
    resource: { attributes: [], droppedAttributesCount: 0 },
    resourceHolder: { schemaUrl: "" },
    scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
    scopeHolder: { schemaUrl: "" },
    span: undefined,
    event: undefined,
    eventIndex: 0,
    metric: undefined,
    metrics: undefined,
    datapoint: undefined,
    log: undefined,
    cache: undefined,
    metadata: NO_METADATA,
  };
}

/** Request metadata of data that came from no client. */
const NO_METADATA: ReadonlyMap<string, readonly string[]> = new Map();

/** The contexts a context can read: itself and everything above it. */
export const REACHABLE: Readonly<Record<ContextName, readonly ContextName[]>> = {
  resource: ["resource"],
  scope: ["resource", "scope"],
  span: ["resource", "scope", "span"],
  spanevent: ["resource", "scope", "span", "spanevent"],
  metric: ["resource", "scope", "metric"],
  datapoint: ["resource", "scope", "metric", "datapoint"],
  log: ["resource", "scope", "log"],
};

/** The contexts a signal's statements may use. */
export const SIGNAL_CONTEXTS: Readonly<Record<Signal, readonly ContextName[]>> = {
  traces: ["resource", "scope", "span", "spanevent"],
  metrics: ["resource", "scope", "metric", "datapoint"],
  logs: ["resource", "scope", "log"],
};

const DEPTH: Readonly<Record<ContextName, number>> = {
  resource: 0,
  scope: 1,
  span: 2,
  metric: 2,
  log: 2,
  spanevent: 3,
  datapoint: 3,
};

/** The context a path prefix names, if it names one (`instrumentation_scope` is `scope`). */
export function prefixContext(name: string): ContextName | undefined {
  if (name === "instrumentation_scope") return "scope";
  return (CONTEXTS as readonly string[]).includes(name) ? name as ContextName : undefined;
}

/**
 * The context for a group of statements from the contexts its paths name: the deepest one, which
 * can read all the others. Returns an error message when they do not fit in one hierarchy.
 */
export function inferContext(
  signal: Signal,
  named: ReadonlySet<ContextName>,
  fallback: ContextName,
): { context: ContextName } | { error: string } {
  const allowed = SIGNAL_CONTEXTS[signal];
  for (const c of named) {
    if (!allowed.includes(c)) {
      return {
        error: `context "${c}" is not available for ${signal} (use ${allowed.join(", ")})`,
      };
    }
  }
  let best: ContextName | undefined;
  for (const c of named) if (best === undefined || DEPTH[c] > DEPTH[best]) best = c;
  if (best === undefined) return { context: fallback };
  for (const c of named) {
    if (!REACHABLE[best].includes(c)) {
      return { error: `paths of contexts "${best}" and "${c}" cannot be used together` };
    }
  }
  return { context: best };
}
