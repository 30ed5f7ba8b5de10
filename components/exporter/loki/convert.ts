/**
 * OTLP logs → Loki push requests, one per tenant, with the Collector's label rules:
 *
 * - Default labels (each can be turned off with `default_labels_enabled`): `exporter="OTLP"`;
 *   `job` = `service.namespace/service.name`, or `service.name` alone (none without a name);
 *   `instance` = `service.instance.id`; `level` from the severity number (`INFO`, `WARN2`, …)
 *   unless the record has a `level` attribute, which is then promoted instead.
 * - Hints: `loki.resource.labels` (on the resource or the record) promotes resource attributes,
 *   `loki.attribute.labels` record attributes; each is a comma-separated string or an array, and
 *   a name may reach into a map attribute with dots. `loki.tenant` names the attribute (resource
 *   first, then record) whose value is the tenant (`X-Scope-OrgID`); it is also a label.
 *   `loki.format` (resource first) picks the line format: `json`, `logfmt` or `raw`.
 * - Promoted attributes and the hints themselves leave the line; label names are normalized as
 *   Prometheus label names (`service.name` → `service_name`, a leading digit gets `key_`).
 * - Records with the same labels form one stream; entries in a stream are sorted by time
 *   (record time, else observed time, else now). A record that cannot be converted (an unknown
 *   format, no label at all, a value JSON cannot hold) is dropped and counted.
 *
 * @module
 */
import { anyValueToString, indexOfAttribute } from "../../../lib/pdata/attributes.ts";
import type { AnyValue, KeyValue, LogRecord, LogsData } from "../../../lib/pdata/types.ts";
import type { DefaultLabel } from "./config.ts";
import { jsonLine, type LineInput, logfmtLine, rawLine } from "./lines.ts";

const HINT_ATTRIBUTES = "loki.attribute.labels";
const HINT_RESOURCES = "loki.resource.labels";
const HINT_TENANT = "loki.tenant";
const HINT_FORMAT = "loki.format";
const HINTS = new Set([HINT_ATTRIBUTES, HINT_RESOURCES, HINT_TENANT, HINT_FORMAT]);

const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/** The level label of a severity number (1–24), as the Collector names it. */
export function severityLevel(n: number): string {
  if (n < 1 || n > 24) return "UNSPECIFIED";
  const base = LEVELS[Math.floor((n - 1) / 4)]!;
  const step = (n - 1) % 4;
  return step === 0 ? base : `${base}${step + 1}`;
}

/** A label name normalized as a Prometheus label name. */
export function normalizeLabel(name: string): string {
  if (name === "") return name;
  const sanitized = name.replace(/[^a-zA-Z0-9_]/g, "_");
  if (/^[0-9]/.test(sanitized)) return `key_${sanitized}`;
  if (sanitized.startsWith("_") && !sanitized.startsWith("__")) return `key${sanitized}`;
  return sanitized;
}

/** One entry of a stream. */
export interface LokiEntry {
  /** Nanoseconds since the epoch. */
  readonly timeUnixNano: bigint;
  readonly line: string;
}

/** One stream: its labels (sorted by name) and entries (sorted by time). */
export interface LokiStream {
  /** `{a="b", c="d"}`, the form Loki parses. */
  readonly labels: string;
  readonly labelPairs: readonly (readonly [string, string])[];
  readonly entries: LokiEntry[];
}

/** The streams of one tenant. */
export interface LokiRequest {
  /** "" for no tenant (no `X-Scope-OrgID`). */
  readonly tenant: string;
  readonly streams: LokiStream[];
  /** How many log records it holds. */
  readonly records: number;
}

/** The requests of a payload and what could not be converted. */
export interface Conversion {
  readonly requests: LokiRequest[];
  /** Records dropped, with the first reason. */
  readonly dropped: number;
  readonly firstError: string | undefined;
}

function hintNames(value: AnyValue): string[] {
  if (Array.isArray(value)) return value.map((v) => anyValueToString(v).trim());
  return anyValueToString(value).split(",").map((s) => s.trim());
}

function lookup(attributes: readonly KeyValue[], name: string): AnyValue | undefined {
  const i = indexOfAttribute(attributes, name);
  if (i >= 0) return attributes[i]!.value;
  // Perhaps a nested attribute: "a.b" reaches into map "a".
  let current: readonly KeyValue[] = attributes;
  let rest = name;
  while (true) {
    const dot = rest.indexOf(".");
    const left = dot < 0 ? rest : rest.slice(0, dot);
    const j = indexOfAttribute(current, left);
    if (j < 0) return undefined;
    const value = current[j]!.value;
    if (dot < 0) return value;
    rest = rest.slice(dot + 1);
    if (typeof value !== "object" || value === null || !("kvlist" in value)) return undefined;
    current = value.kvlist;
  }
}

function promote(
  labels: Map<string, string>,
  attributes: readonly KeyValue[],
  hint: AnyValue,
): void {
  for (const name of hintNames(hint)) {
    const value = lookup(attributes, name);
    if (value !== undefined) labels.set(name, anyValueToString(value));
  }
}

function hintOf(attributes: readonly KeyValue[], key: string): AnyValue | undefined {
  const i = indexOfAttribute(attributes, key);
  return i < 0 ? undefined : attributes[i]!.value ?? "";
}

function stringAttribute(attributes: readonly KeyValue[], key: string): string | undefined {
  const i = indexOfAttribute(attributes, key);
  if (i < 0) return undefined;
  const v = attributes[i]!.value;
  return typeof v === "string" ? v : anyValueToString(v);
}

/** The tenant of a record: the value of the attribute `loki.tenant` names ("" for none). */
export function tenantOf(record: readonly KeyValue[], resource: readonly KeyValue[]): string {
  const hint = hintOf(resource, HINT_TENANT) ?? hintOf(record, HINT_TENANT);
  if (hint === undefined) return "";
  const name = anyValueToString(hint);
  return stringAttribute(resource, name) ?? stringAttribute(record, name) ?? "";
}

function labelString(pairs: readonly (readonly [string, string])[]): string {
  return `{${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}}`;
}

function without(attributes: readonly KeyValue[], names: ReadonlySet<string>): KeyValue[] {
  return attributes.filter((kv) => !HINTS.has(kv.key) && !names.has(kv.key));
}

function entryTime(record: LogRecord, now: () => bigint): bigint {
  if (record.timeUnixNano !== 0n) return record.timeUnixNano;
  if (record.observedTimeUnixNano !== 0n) return record.observedTimeUnixNano;
  return now();
}

/** Options of {@linkcode logsToLoki}. */
export interface ConvertOptions {
  /** Whether a default label is on. */
  readonly labelEnabled: (label: DefaultLabel) => boolean;
  /** Now, in nanoseconds since the epoch, for records without any time. */
  readonly now?: () => bigint;
}

interface Converted {
  readonly pairs: (readonly [string, string])[];
  readonly line: string;
}

function convertRecord(
  record: LogRecord,
  resource: readonly KeyValue[],
  input: Omit<LineInput, "record" | "attributes" | "resource">,
  options: ConvertOptions,
): Converted {
  let attributes: readonly KeyValue[] = record.attributes;
  if (options.labelEnabled("level") && record.severityNumber !== 0) {
    // The level hint: promote `level`, made from the severity unless the record has one.
    const copy = attributes.slice();
    const hint = hintOf(copy, HINT_ATTRIBUTES);
    const levelHint: AnyValue = hint === undefined
      ? "level"
      : Array.isArray(hint)
      ? [...hint, "level"]
      : `${anyValueToString(hint)},level`;
    const h = indexOfAttribute(copy, HINT_ATTRIBUTES);
    if (h >= 0) copy[h] = { key: HINT_ATTRIBUTES, value: levelHint };
    else copy.push({ key: HINT_ATTRIBUTES, value: levelHint });
    if (indexOfAttribute(copy, "level") < 0) {
      copy.push({ key: "level", value: severityLevel(record.severityNumber) });
    }
    attributes = copy;
  }
  const format = anyValueToString(
    hintOf(resource, HINT_FORMAT) ?? hintOf(attributes, HINT_FORMAT) ?? "json",
  );

  const labels = new Map<string, string>();
  if (options.labelEnabled("exporter")) labels.set("exporter", "OTLP");
  if (options.labelEnabled("job")) {
    const name = stringAttribute(resource, "service.name");
    const namespace = stringAttribute(resource, "service.namespace");
    if (name !== undefined) {
      labels.set("job", namespace !== undefined ? `${namespace}/${name}` : name);
    }
  }
  if (options.labelEnabled("instance")) {
    const instance = stringAttribute(resource, "service.instance.id");
    if (instance !== undefined) labels.set("instance", instance);
  }
  const resourceHint = hintOf(resource, HINT_RESOURCES);
  if (resourceHint !== undefined) promote(labels, resource, resourceHint);
  const recordResourceHint = hintOf(attributes, HINT_RESOURCES);
  if (recordResourceHint !== undefined) promote(labels, resource, recordResourceHint);
  const attributeHint = hintOf(attributes, HINT_ATTRIBUTES);
  if (attributeHint !== undefined) promote(labels, attributes, attributeHint);
  const resourceTenant = hintOf(resource, HINT_TENANT);
  if (resourceTenant !== undefined) promote(labels, resource, resourceTenant);
  else {
    const recordTenant = hintOf(attributes, HINT_TENANT);
    if (recordTenant !== undefined) promote(labels, attributes, recordTenant);
  }

  const names = new Set(labels.keys());
  const lineInput: LineInput = {
    ...input,
    record,
    attributes: without(attributes, names),
    resource: without(resource, names),
  };
  let line: string;
  switch (format) {
    case "json":
      line = jsonLine(lineInput);
      break;
    case "logfmt":
      line = logfmtLine(lineInput);
      break;
    case "raw":
      line = rawLine(lineInput);
      break;
    default:
      throw new Error(`invalid format ${format}. Expected one of: json, logfmt, raw`);
  }
  if (labels.size === 0) throw new Error("the record has no label (all default labels are off)");
  const normalized = new Map<string, string>();
  for (const [k, v] of labels) normalized.set(normalizeLabel(k), v);
  const pairs = [...normalized].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { pairs, line };
}

/** Converts logs into per-tenant push requests. */
export function logsToLoki(data: LogsData, options: ConvertOptions): Conversion {
  const now = options.now ?? (() => BigInt(Date.now()) * 1_000_000n);
  const tenants = new Map<string, { streams: Map<string, LokiStream>; records: number }>();
  let dropped = 0;
  let firstError: string | undefined;
  for (const rl of data.resourceLogs) {
    const resource = rl.resource.attributes;
    for (const sl of rl.scopeLogs) {
      for (const record of sl.logRecords) {
        const tenant = tenantOf(record.attributes, resource);
        let converted: Converted;
        try {
          converted = convertRecord(record, resource, { scope: sl.scope }, options);
        } catch (error) {
          dropped++;
          firstError ??= error instanceof Error ? error.message : String(error);
          continue;
        }
        let group = tenants.get(tenant);
        if (group === undefined) {
          group = { streams: new Map(), records: 0 };
          tenants.set(tenant, group);
        }
        group.records++;
        const key = labelString(converted.pairs);
        let stream = group.streams.get(key);
        if (stream === undefined) {
          stream = { labels: key, labelPairs: converted.pairs, entries: [] };
          group.streams.set(key, stream);
        }
        stream.entries.push({ timeUnixNano: entryTime(record, now), line: converted.line });
      }
    }
  }
  const requests: LokiRequest[] = [];
  for (const [tenant, group] of tenants) {
    const streams = [...group.streams.values()];
    for (const stream of streams) {
      // Stable: entries of the same time keep their order.
      stream.entries.sort((a, b) =>
        a.timeUnixNano < b.timeUnixNano ? -1 : a.timeUnixNano > b.timeUnixNano ? 1 : 0
      );
    }
    requests.push({ tenant, streams, records: group.records });
  }
  return { requests, dropped, firstError };
}
