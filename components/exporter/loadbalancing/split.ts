/**
 * Splitting one request of the `loadbalancing` exporter by routing key: each item (span, log
 * record, metric or data point, per the key) is hashed and handed to the backend owning that hash
 * on the ring, and the request is cut into one part per backend. Resource and scope entries are
 * shared with the source, never copied; item arrays are new. Every span of a trace has the same
 * hash (its trace ID), so a trace's spans always go together.
 *
 * Keys, as the Collector's exporter has them:
 * - traces: `traceID` (the span's trace ID), `service` (the resource's `service.name`; a whole
 *   resource entry goes together);
 * - logs: `traceID` (the record's trace ID; a record without one goes to a random backend),
 *   `service`;
 * - metrics: `service`, `resource` (all resource attributes), `metric` (the metric name),
 *   `streamID` (resource, scope, metric name and the data point's attributes: each stream).
 *
 * A missing `service.name` hashes as the empty string: such data all goes to one backend.
 *
 * @module
 */
import { anyValueToString, indexOfAttribute } from "../../../lib/pdata/attributes.ts";
import type {
  InstrumentationScope,
  KeyValue,
  LogRecord,
  LogsData,
  Metric,
  MetricsData,
  Resource,
  ResourceLogs,
  ResourceMetrics,
  ResourceSpans,
  ScopeLogs,
  ScopeMetrics,
  ScopeSpans,
  Signal,
  SignalData,
  Span,
  TracesData,
} from "../../../lib/pdata/types.ts";
import { hashBytes, hashString } from "./ring.ts";

/** A routing key of the config. */
export type RoutingKey = "traceID" | "service" | "resource" | "metric" | "streamID";

/** The routing keys each signal supports; the first is the default. */
export const KEYS_BY_SIGNAL: { readonly [S in Signal]: readonly RoutingKey[] } = {
  traces: ["traceID", "service"],
  logs: ["traceID", "service"],
  metrics: ["service", "resource", "metric", "streamID"],
};

/** Which backend owns a hash. */
export type OwnerOf = (hash: number) => string;

function serviceName(resource: Resource): string {
  const i = indexOfAttribute(resource.attributes, "service.name");
  return i < 0 ? "" : anyValueToString(resource.attributes[i]!.value);
}

function attributesKey(attributes: readonly KeyValue[]): string {
  return attributes.map((kv) => `${kv.key}=${anyValueToString(kv.value)}`).sort().join("|");
}

function scopeKey(scope: InstrumentationScope): string {
  return `${scope.name}@${scope.version}`;
}

function isEmptyId(id: Uint8Array): boolean {
  for (const b of id) if (b !== 0) return false;
  return true;
}

function randomHash(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}

/** Collects items per owner, reusing the output entry of the current source resource/scope. */
class Parts<R, C, I> {
  readonly #byOwner = new Map<string, R[]>();
  #resourceOut = new Map<string, R>();
  #scopeOut = new Map<string, C>();

  constructor(
    private readonly newResource: () => R,
    private readonly newScope: (resourceOut: R) => C,
    private readonly push: (scopeOut: C, item: I) => void,
  ) {}

  /** Starts a new source resource entry. */
  nextResource(): void {
    this.#resourceOut = new Map();
    this.#scopeOut = new Map();
  }

  /** Starts a new source scope entry. */
  nextScope(): void {
    this.#scopeOut = new Map();
  }

  add(owner: string, item: I): void {
    let scope = this.#scopeOut.get(owner);
    if (scope === undefined) {
      let resource = this.#resourceOut.get(owner);
      if (resource === undefined) {
        resource = this.newResource();
        this.#resourceOut.set(owner, resource);
        let list = this.#byOwner.get(owner);
        if (list === undefined) this.#byOwner.set(owner, list = []);
        list.push(resource);
      }
      scope = this.newScope(resource);
      this.#scopeOut.set(owner, scope);
    }
    this.push(scope, item);
  }

  result(): Map<string, R[]> {
    return this.#byOwner;
  }
}

function splitTraces(data: TracesData, key: RoutingKey, ownerOf: OwnerOf): Map<string, TracesData> {
  const out = new Map<string, TracesData>();
  if (key === "service") {
    for (const rs of data.resourceSpans) {
      const owner = ownerOf(hashString(serviceName(rs.resource)));
      let part = out.get(owner);
      if (part === undefined) out.set(owner, part = { resourceSpans: [] });
      part.resourceSpans.push(rs);
    }
    return out;
  }
  let rs: ResourceSpans;
  let ss: ScopeSpans;
  const parts = new Parts<ResourceSpans, ScopeSpans, Span>(
    () => ({ resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans: [] }),
    (r) => {
      const scope = { scope: ss.scope, schemaUrl: ss.schemaUrl, spans: [] };
      r.scopeSpans.push(scope);
      return scope;
    },
    (s, span) => s.spans.push(span),
  );
  for (rs of data.resourceSpans) {
    parts.nextResource();
    for (ss of rs.scopeSpans) {
      parts.nextScope();
      for (const span of ss.spans) parts.add(ownerOf(hashBytes(span.traceId)), span);
    }
  }
  for (const [owner, resourceSpans] of parts.result()) out.set(owner, { resourceSpans });
  return out;
}

function splitLogs(data: LogsData, key: RoutingKey, ownerOf: OwnerOf): Map<string, LogsData> {
  let rl: ResourceLogs;
  let sl: ScopeLogs;
  const parts = new Parts<ResourceLogs, ScopeLogs, LogRecord>(
    () => ({ resource: rl.resource, schemaUrl: rl.schemaUrl, scopeLogs: [] }),
    (r) => {
      const scope = { scope: sl.scope, schemaUrl: sl.schemaUrl, logRecords: [] };
      r.scopeLogs.push(scope);
      return scope;
    },
    (s, record) => s.logRecords.push(record),
  );
  for (rl of data.resourceLogs) {
    parts.nextResource();
    const service = key === "service" ? ownerOf(hashString(serviceName(rl.resource))) : "";
    for (sl of rl.scopeLogs) {
      parts.nextScope();
      for (const record of sl.logRecords) {
        const owner = key === "service"
          ? service
          : ownerOf(isEmptyId(record.traceId) ? randomHash() : hashBytes(record.traceId));
        parts.add(owner, record);
      }
    }
  }
  const out = new Map<string, LogsData>();
  for (const [owner, resourceLogs] of parts.result()) out.set(owner, { resourceLogs });
  return out;
}

/** A metric holding only `points` of `metric`'s data points. */
function withPoints(metric: Metric, points: readonly unknown[]): Metric {
  return { ...metric, data: { ...metric.data!, dataPoints: points } as Metric["data"] };
}

function splitMetrics(
  data: MetricsData,
  key: RoutingKey,
  ownerOf: OwnerOf,
): Map<string, MetricsData> {
  let rm: ResourceMetrics;
  let sm: ScopeMetrics;
  const parts = new Parts<ResourceMetrics, ScopeMetrics, Metric>(
    () => ({ resource: rm.resource, schemaUrl: rm.schemaUrl, scopeMetrics: [] }),
    (r) => {
      const scope = { scope: sm.scope, schemaUrl: sm.schemaUrl, metrics: [] };
      r.scopeMetrics.push(scope);
      return scope;
    },
    (s, metric) => s.metrics.push(metric),
  );
  for (rm of data.resourceMetrics) {
    parts.nextResource();
    const resourceId = attributesKey(rm.resource.attributes);
    const resourceOwner = key === "service"
      ? ownerOf(hashString(serviceName(rm.resource)))
      : key === "resource"
      ? ownerOf(hashString(resourceId))
      : "";
    for (sm of rm.scopeMetrics) {
      parts.nextScope();
      const scope = scopeKey(sm.scope);
      for (const metric of sm.metrics) {
        if (key === "service" || key === "resource") {
          parts.add(resourceOwner, metric);
        } else if (key === "metric") {
          parts.add(ownerOf(hashString(metric.name)), metric);
        } else {
          const points = metric.data?.dataPoints ?? [];
          const stream = `${resourceId}\u0000${scope}\u0000${metric.name}\u0000`;
          if (points.length === 0) {
            parts.add(ownerOf(hashString(stream)), metric);
            continue;
          }
          const byOwner = new Map<string, unknown[]>();
          for (const point of points) {
            const owner = ownerOf(hashString(stream + attributesKey(point.attributes)));
            let list = byOwner.get(owner);
            if (list === undefined) byOwner.set(owner, list = []);
            list.push(point);
          }
          for (const [owner, list] of byOwner) parts.add(owner, withPoints(metric, list));
        }
      }
    }
  }
  const out = new Map<string, MetricsData>();
  for (const [owner, resourceMetrics] of parts.result()) out.set(owner, { resourceMetrics });
  return out;
}

/**
 * Cuts `data` into one part per owning backend.
 * @param key a key {@linkcode KEYS_BY_SIGNAL} allows for `signal`
 */
export function splitByOwner<S extends Signal>(
  signal: S,
  data: SignalData[S],
  key: RoutingKey,
  ownerOf: OwnerOf,
): Map<string, SignalData[S]> {
  switch (signal) {
    case "traces":
      return splitTraces(data as TracesData, key, ownerOf) as Map<string, SignalData[S]>;
    case "logs":
      return splitLogs(data as LogsData, key, ownerOf) as Map<string, SignalData[S]>;
    default:
      return splitMetrics(data as MetricsData, key, ownerOf) as Map<string, SignalData[S]>;
  }
}
