/**
 * Test data for the attribute processors: one span, one log record and one gauge point per
 * resource, and a recording sink.
 */
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import {
  gaugeOf,
  newLogRecord,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
  newSpan,
} from "../../../../lib/pdata/new.ts";
import { type ClientInfo, NO_CLIENT, Payload } from "../../../../lib/pdata/payload.ts";
import type { KeyValue, Signal, SignalData } from "../../../../lib/pdata/types.ts";

/** What one test item looks like. */
export interface ItemSpec {
  attributes?: KeyValue[];
  resource?: KeyValue[];
  scope?: { name: string; version: string };
  /** Span name, log body or metric name. */
  name?: string;
  /** Span kind (traces). */
  kind?: number;
  /** Severity text and number (logs). */
  severity?: [string, number];
}

/** Data of `signal` with one resource per spec, each holding one item. */
export function dataOf<S extends Signal>(signal: S, ...specs: ItemSpec[]): SignalData[S] {
  const resources = specs.map((spec) => ({
    resource: newResource({ attributes: spec.resource ?? [] }),
    scope: newScope(spec.scope ?? { name: "lib", version: "1.0" }),
    attributes: spec.attributes ?? [],
    name: spec.name ?? "item",
    spec,
  }));
  switch (signal) {
    case "traces":
      return {
        resourceSpans: resources.map((r) => ({
          resource: r.resource,
          schemaUrl: "",
          scopeSpans: [{
            scope: r.scope,
            schemaUrl: "",
            spans: [newSpan({ name: r.name, kind: r.spec.kind ?? 1, attributes: r.attributes })],
          }],
        })),
      } as SignalData[S];
    case "logs":
      return {
        resourceLogs: resources.map((r) => ({
          resource: r.resource,
          schemaUrl: "",
          scopeLogs: [{
            scope: r.scope,
            schemaUrl: "",
            logRecords: [newLogRecord({
              body: r.name,
              severityText: r.spec.severity?.[0] ?? "",
              severityNumber: r.spec.severity?.[1] ?? 0,
              attributes: r.attributes,
            })],
          }],
        })),
      } as SignalData[S];
    default:
      return {
        resourceMetrics: resources.map((r) => ({
          resource: r.resource,
          schemaUrl: "",
          scopeMetrics: [{
            scope: r.scope,
            schemaUrl: "",
            metrics: [newMetric({
              name: r.name,
              data: gaugeOf([newNumberDataPoint({ value: 1n, attributes: r.attributes })]),
            })],
          }],
        })),
      } as SignalData[S];
  }
}

/** The attribute lists of every item (span, log record, data point), in order. */
export function itemAttributes(signal: Signal, data: SignalData[Signal]): KeyValue[][] {
  const out: KeyValue[][] = [];
  if (signal === "traces") {
    for (const rs of (data as SignalData["traces"]).resourceSpans) {
      for (const ss of rs.scopeSpans) for (const s of ss.spans) out.push(s.attributes);
    }
  } else if (signal === "logs") {
    for (const rl of (data as SignalData["logs"]).resourceLogs) {
      for (const sl of rl.scopeLogs) for (const r of sl.logRecords) out.push(r.attributes);
    }
  } else {
    for (const rm of (data as SignalData["metrics"]).resourceMetrics) {
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          for (const p of (m.data?.dataPoints ?? []) as { attributes: KeyValue[] }[]) {
            out.push(p.attributes);
          }
        }
      }
    }
  }
  return out;
}

/** The resource attribute lists, in order. */
export function resourceAttributes(signal: Signal, data: SignalData[Signal]): KeyValue[][] {
  if (signal === "traces") {
    return (data as SignalData["traces"]).resourceSpans.map((r) => r.resource.attributes);
  }
  if (signal === "logs") {
    return (data as SignalData["logs"]).resourceLogs.map((r) => r.resource.attributes);
  }
  return (data as SignalData["metrics"]).resourceMetrics.map((r) => r.resource.attributes);
}

/** Attributes as a plain record, for comparisons. */
export function record(attributes: readonly KeyValue[]): Record<string, unknown> {
  return Object.fromEntries(attributes.map((kv) => [kv.key, kv.value]));
}

/** A sink that keeps what it was given. */
export function sink<S extends Signal>(): Consumer<S> & { payloads: Payload<S>[] } {
  const payloads: Payload<S>[] = [];
  return {
    payloads,
    mutatesData: false,
    consume(p) {
      payloads.push(p);
      return Promise.resolve();
    },
  };
}

/** A client with metadata, auth and an address. */
export function clientOf(
  metadata: Record<string, string[]>,
  auth: Record<string, string> = {},
  address?: string,
): ClientInfo {
  const client: ClientInfo = {
    metadata: new Map(Object.entries(metadata)),
    auth: new Map(Object.entries(auth)),
    ...(address === undefined ? {} : { address }),
  };
  return client;
}

/** A payload over data, with a client. */
export function payloadOf<S extends Signal>(
  signal: S,
  data: SignalData[S],
  client: ClientInfo = NO_CLIENT,
): Payload<S> {
  return Payload.of(signal, data, client);
}

/** Every signal. */
export const ALL_SIGNALS: readonly Signal[] = ["traces", "logs", "metrics"];
