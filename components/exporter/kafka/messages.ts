/**
 * From a payload to Kafka records, as the Collector's `kafka` exporter makes them:
 *
 * - by default one record per payload, its value the payload's `Export*ServiceRequest` (the bytes
 *   it arrived as when it still has them: nothing is decoded) or its OTLP/JSON, no key;
 * - `partition_traces_by_id`: one record per trace, keyed by the trace ID in hex;
 * - `partition_{metrics,logs}_by_resource_attributes`: one record per resource, keyed by a hash of
 *   its sorted attributes (FNV-1a 64 of their JSON, in hex: stable, not the Collector's bytes);
 * - `partition_logs_by_trace_id`: one record per trace ID of the log records, keyed by it (records
 *   without a trace ID share a record without key);
 * - `topic_from_attribute`: each resource's data goes to the topic its attribute names.
 *
 * A record whose value would exceed `max_message_bytes` is split in halves by items until each part
 * fits; a single item that does not fit is left out and counted, and the caller fails it
 * permanently (sending it again cannot help).
 *
 * @module
 */
import { OTLP_SIGNALS, type OtlpSignal } from "../../../lib/otlp/signals.ts";
import { attributesJson } from "../../../lib/pdata/go_json.ts";
import { hexId } from "../../../lib/pdata/format.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import { appendData, emptyData, takeItems } from "../../../lib/pdata/split.ts";
import { countItems } from "../../../lib/pdata/count.ts";
import type {
  KeyValue,
  LogsData,
  MetricsData,
  Resource,
  Signal,
  SignalData,
  TracesData,
} from "../../../lib/pdata/types.ts";
import type { KafkaExporterConfig } from "./config.ts";

/** One record to produce. */
export interface OutRecord {
  readonly topic: string;
  readonly key?: Uint8Array;
  readonly value: Uint8Array;
  /** The items in it, for counting. */
  readonly items: number;
}

/** The records of one payload, and the items left out because one alone was too large. */
export interface Records {
  readonly records: OutRecord[];
  readonly tooLarge: number;
}

/** One group of data that becomes one record (before splitting for size). */
interface Group<S extends Signal> {
  topic: string;
  key: string | undefined;
  data: SignalData[S];
}

const utf8 = new TextEncoder();

/** FNV-1a 64 of `text`'s UTF-16 code units, as 16 hex digits. */
function fnv64Hex(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

/** The partition key of a resource: a hash of its attributes, sorted. */
export function resourceKey(resource: Resource): string {
  return fnv64Hex(attributesJson(resource.attributes));
}

function attributeString(attributes: readonly KeyValue[], key: string): string | undefined {
  for (let i = attributes.length - 1; i >= 0; i--) {
    const kv = attributes[i]!;
    if (kv.key === key) return typeof kv.value === "string" ? kv.value : String(kv.value);
  }
  return undefined;
}

/** The resource-level lists of a signal's data. */
type ResourceEntry<S extends Signal> = S extends "traces" ? TracesData["resourceSpans"][number]
  : S extends "metrics" ? MetricsData["resourceMetrics"][number]
  : LogsData["resourceLogs"][number];

function resourcesOf<S extends Signal>(signal: S, data: SignalData[S]): ResourceEntry<S>[] {
  switch (signal) {
    case "traces":
      return (data as TracesData).resourceSpans as ResourceEntry<S>[];
    case "metrics":
      return (data as MetricsData).resourceMetrics as ResourceEntry<S>[];
    default:
      return (data as LogsData).resourceLogs as ResourceEntry<S>[];
  }
}

function dataOfResources<S extends Signal>(signal: S, entries: ResourceEntry<S>[]): SignalData[S] {
  switch (signal) {
    case "traces":
      return { resourceSpans: entries } as unknown as SignalData[S];
    case "metrics":
      return { resourceMetrics: entries } as unknown as SignalData[S];
    default:
      return { resourceLogs: entries } as unknown as SignalData[S];
  }
}

/** Groups of `data` by a key per item (trace ID), keeping resource and scope around the items. */
function groupTracesById(data: TracesData): Map<string, TracesData> {
  const out = new Map<string, TracesData>();
  for (const rs of data.resourceSpans) {
    const byKey = new Map<string, TracesData["resourceSpans"][number]>();
    for (const ss of rs.scopeSpans) {
      const scopes = new Map<string, (typeof ss)>();
      for (const span of ss.spans) {
        const key = hexId(span.traceId);
        let scoped = scopes.get(key);
        if (scoped === undefined) {
          scoped = { scope: ss.scope, schemaUrl: ss.schemaUrl, spans: [] };
          scopes.set(key, scoped);
          let resourced = byKey.get(key);
          if (resourced === undefined) {
            resourced = { resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans: [] };
            byKey.set(key, resourced);
            let traces = out.get(key);
            if (traces === undefined) out.set(key, traces = { resourceSpans: [] });
            traces.resourceSpans.push(resourced);
          }
          resourced.scopeSpans.push(scoped);
        }
        scoped.spans.push(span);
      }
    }
  }
  return out;
}

function groupLogsByTraceId(data: LogsData): Map<string, LogsData> {
  const out = new Map<string, LogsData>();
  for (const rl of data.resourceLogs) {
    const byKey = new Map<string, LogsData["resourceLogs"][number]>();
    for (const sl of rl.scopeLogs) {
      const scopes = new Map<string, (typeof sl)>();
      for (const record of sl.logRecords) {
        const key = record.traceId.length === 0 || record.traceId.every((b) => b === 0)
          ? ""
          : hexId(record.traceId);
        let scoped = scopes.get(key);
        if (scoped === undefined) {
          scoped = { scope: sl.scope, schemaUrl: sl.schemaUrl, logRecords: [] };
          scopes.set(key, scoped);
          let resourced = byKey.get(key);
          if (resourced === undefined) {
            resourced = { resource: rl.resource, schemaUrl: rl.schemaUrl, scopeLogs: [] };
            byKey.set(key, resourced);
            let logs = out.get(key);
            if (logs === undefined) out.set(key, logs = { resourceLogs: [] });
            logs.resourceLogs.push(resourced);
          }
          resourced.scopeLogs.push(scoped);
        }
        scoped.logRecords.push(record);
      }
    }
  }
  return out;
}

/** The topic of a signal's data that has no `topic_from_attribute` value. */
function defaultTopic(config: KafkaExporterConfig, signal: Signal): string {
  return config[signal].topic;
}

/** Whether `payload` must be decoded to be split into records. */
function needsStructure(config: KafkaExporterConfig, signal: Signal): boolean {
  if (config.topic_from_attribute !== "") return true;
  switch (signal) {
    case "traces":
      return config.partition_traces_by_id;
    case "metrics":
      return config.partition_metrics_by_resource_attributes;
    default:
      return config.partition_logs_by_resource_attributes || config.partition_logs_by_trace_id;
  }
}

function groupsOf<S extends Signal>(
  config: KafkaExporterConfig,
  signal: S,
  data: SignalData[S],
): Group<S>[] {
  const fallback = defaultTopic(config, signal);
  // First by topic (per resource), then by the partition key within each topic.
  const byTopic = new Map<string, ResourceEntry<S>[]>();
  for (const entry of resourcesOf(signal, data)) {
    const topic = config.topic_from_attribute === ""
      ? fallback
      : attributeString(entry.resource.attributes, config.topic_from_attribute) ?? fallback;
    let list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, list = []);
    list.push(entry);
  }
  const groups: Group<S>[] = [];
  for (const [topic, entries] of byTopic) {
    const part = dataOfResources(signal, entries);
    if (signal === "traces" && config.partition_traces_by_id) {
      for (const [key, traces] of groupTracesById(part as TracesData)) {
        groups.push({ topic, key, data: traces as SignalData[S] });
      }
    } else if (
      (signal === "metrics" && config.partition_metrics_by_resource_attributes) ||
      (signal === "logs" && config.partition_logs_by_resource_attributes)
    ) {
      const byKey = new Map<string, ResourceEntry<S>[]>();
      for (const entry of entries) {
        const key = resourceKey(entry.resource);
        let list = byKey.get(key);
        if (list === undefined) byKey.set(key, list = []);
        list.push(entry);
      }
      for (const [key, list] of byKey) {
        groups.push({ topic, key, data: dataOfResources(signal, list) });
      }
    } else if (signal === "logs" && config.partition_logs_by_trace_id) {
      for (const [key, logs] of groupLogsByTraceId(part as LogsData)) {
        groups.push({ topic, key: key === "" ? undefined : key, data: logs as SignalData[S] });
      }
    } else {
      groups.push({ topic, key: undefined, data: part });
    }
  }
  return groups;
}

/** Encodes `data`, splitting it in halves by items while the value is over `max` bytes. */
function encodeFitting<S extends Signal>(
  signal: S,
  data: SignalData[S],
  encode: (data: SignalData[S]) => Uint8Array,
  max: number,
  push: (value: Uint8Array, items: number) => void,
): number {
  const value = encode(data);
  const items = countItems(signal, data);
  if (value.length <= max) {
    push(value, items);
    return 0;
  }
  if (items <= 1) return items;
  // A private copy of the containers, which takeItems may then cut.
  const rest = emptyData(signal);
  appendData(signal, rest, data);
  const first = takeItems(signal, rest, Math.floor(items / 2));
  return encodeFitting(signal, first, encode, max, push) +
    encodeFitting(signal, rest, encode, max, push);
}

/** The records of `payload` under `config`. */
export function recordsOf<S extends Signal>(
  config: KafkaExporterConfig,
  payload: Payload<S>,
): Records {
  const signal = payload.signal;
  const codec = OTLP_SIGNALS[signal] as OtlpSignal<S>;
  const json = config[signal].encoding === "otlp_json";
  const encode = json
    ? (data: SignalData[S]) => utf8.encode(codec.encodeJson(data))
    : (data: SignalData[S]) => codec.encodeProto(data);
  const max = config.producer.max_message_bytes;
  const records: OutRecord[] = [];
  if (!needsStructure(config, signal) && !json) {
    const bytes = payload.encodedProto;
    if (bytes !== undefined && bytes.length <= max) {
      records.push({ topic: defaultTopic(config, signal), value: bytes, items: payload.itemCount });
      return { records, tooLarge: 0 };
    }
  }
  let tooLarge = 0;
  for (const group of groupsOf(config, signal, payload.read())) {
    const key = group.key === undefined ? undefined : utf8.encode(group.key);
    tooLarge += encodeFitting(signal, group.data, encode, max, (value, items) => {
      records.push(
        key === undefined
          ? { topic: group.topic, value, items }
          : { topic: group.topic, key, value, items },
      );
    });
  }
  return { records, tooLarge };
}
