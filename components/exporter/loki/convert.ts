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
import { attributesJson } from "../../../lib/pdata/go_json.ts";
import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  LogsData,
} from "../../../lib/pdata/types.ts";
import type { DefaultLabel } from "./config.ts";
import { jsonLine, type LineInput, logfmtLine, rawLine, scopeJson } from "./lines.ts";

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

function without(
  attributes: readonly KeyValue[],
  names: ReadonlySet<string>,
): readonly KeyValue[] {
  let keep = true;
  for (const kv of attributes) {
    if (HINTS.has(kv.key) || names.has(kv.key)) {
      keep = false;
      break;
    }
  }
  // Most records carry neither a hint nor a label's name: their attributes are used as they are.
  return keep ? attributes : attributes.filter((kv) => !HINTS.has(kv.key) && !names.has(kv.key));
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
  /** The stream key: `{a="b", …}`. */
  readonly key: string;
  readonly pairs: readonly (readonly [string, string])[];
  readonly line: string;
}

/**
 * What is the same for every record of one resource: its labels, its hints, and its JSON
 * without the attributes promoted to labels (per set of label names, usually one).
 */
interface ResourceState {
  readonly attributes: readonly KeyValue[];
  /** `exporter`, `job`, `instance` and the resource's own `loki.resource.labels`. */
  readonly labels: ReadonlyMap<string, string>;
  /** The labels of the resource's `loki.tenant` hint (merged last), if it has one. */
  readonly tenantLabels: ReadonlyMap<string, string> | undefined;
  readonly format: AnyValue | undefined;
  /** Whether the resource has a `loki.tenant` hint. */
  readonly tenantHint: boolean;
  /** The resource's remaining attributes and their JSON, per label-name set. */
  readonly remaining: Map<string, { attributes: readonly KeyValue[]; json: string }>;
  /** Labels of records without hints of their own, per level value ("" for no level). */
  readonly plain: Map<string, PlainLabels>;
}

/** The labels of a record without hints, and what they take out of its line. */
interface PlainLabels {
  readonly key: string;
  readonly pairs: readonly (readonly [string, string])[];
  readonly names: ReadonlySet<string>;
  readonly remaining: { attributes: readonly KeyValue[]; json: string };
}

function hasHints(attributes: readonly KeyValue[]): boolean {
  for (const kv of attributes) if (HINTS.has(kv.key)) return true;
  return false;
}

function resourceState(resource: readonly KeyValue[], options: ConvertOptions): ResourceState {
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
  const tenantHint = hintOf(resource, HINT_TENANT);
  let tenantLabels: Map<string, string> | undefined;
  if (tenantHint !== undefined) {
    tenantLabels = new Map();
    promote(tenantLabels, resource, tenantHint);
  }
  return {
    attributes: resource,
    labels,
    tenantLabels,
    format: hintOf(resource, HINT_FORMAT),
    tenantHint: tenantHint !== undefined,
    remaining: new Map(),
    plain: new Map(),
  };
}

/** The record's attributes with the level hint (and a `level` from the severity) added. */
function withLevel(record: LogRecord): readonly KeyValue[] {
  const copy = record.attributes.slice();
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
  return copy;
}

function normalizedPairs(
  labels: ReadonlyMap<string, string>,
  normalized: Map<string, string>,
): (readonly [string, string])[] {
  const byName = new Map<string, string>();
  for (const [k, v] of labels) {
    let n = normalized.get(k);
    if (n === undefined) {
      n = normalizeLabel(k);
      normalized.set(k, n);
    }
    byName.set(n, v);
  }
  return [...byName].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function remainingOf(res: ResourceState, names: ReadonlySet<string>) {
  const namesKey = [...names].join("\u0000");
  let remaining = res.remaining.get(namesKey);
  if (remaining === undefined) {
    const rest = without(res.attributes, names);
    remaining = { attributes: rest, json: rest.length === 0 ? "" : attributesJson(rest) };
    res.remaining.set(namesKey, remaining);
  }
  return remaining;
}

/** The labels of a record, given its attributes with the level hint applied. */
function recordLabels(
  attributes: readonly KeyValue[],
  res: ResourceState,
  normalized: Map<string, string>,
): PlainLabels {
  const labels = new Map(res.labels);
  const recordResourceHint = hintOf(attributes, HINT_RESOURCES);
  if (recordResourceHint !== undefined) promote(labels, res.attributes, recordResourceHint);
  const attributeHint = hintOf(attributes, HINT_ATTRIBUTES);
  if (attributeHint !== undefined) promote(labels, attributes, attributeHint);
  if (res.tenantLabels !== undefined) {
    for (const [k, v] of res.tenantLabels) labels.set(k, v);
  } else {
    const recordTenant = hintOf(attributes, HINT_TENANT);
    if (recordTenant !== undefined) promote(labels, attributes, recordTenant);
  }
  if (labels.size === 0) throw new Error("the record has no label (all default labels are off)");
  const names = new Set(labels.keys());
  const pairs = normalizedPairs(labels, normalized);
  return { key: labelString(pairs), pairs, names, remaining: remainingOf(res, names) };
}

function convertRecord(
  record: LogRecord,
  res: ResourceState,
  scope: InstrumentationScope,
  scopeLine: string,
  options: ConvertOptions,
  normalized: Map<string, string>,
): Converted {
  const leveled = options.labelEnabled("level") && record.severityNumber !== 0;
  let labels: PlainLabels;
  let attributes: readonly KeyValue[];
  if (!hasHints(record.attributes)) {
    // The common case: the labels depend on the resource and the level only.
    attributes = record.attributes;
    let level = "";
    if (leveled) {
      const own = indexOfAttribute(attributes, "level");
      level = own >= 0
        ? anyValueToString(attributes[own]!.value)
        : severityLevel(record.severityNumber);
    }
    const cacheKey = leveled ? `+${level}` : "";
    let cached = res.plain.get(cacheKey);
    if (cached === undefined) {
      cached = recordLabels(leveled ? withLevel(record) : attributes, res, normalized);
      res.plain.set(cacheKey, cached);
    }
    labels = cached;
  } else {
    attributes = leveled ? withLevel(record) : record.attributes;
    labels = recordLabels(attributes, res, normalized);
  }
  const format = anyValueToString(res.format ?? hintOf(attributes, HINT_FORMAT) ?? "json");
  const lineInput: LineInput = {
    scope,
    scopeJson: scopeLine,
    record,
    attributes: without(attributes, labels.names),
    resource: labels.remaining.attributes,
    resourceJson: labels.remaining.json,
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
  return { key: labels.key, pairs: labels.pairs, line };
}

/** Converts logs into per-tenant push requests. */
export function logsToLoki(data: LogsData, options: ConvertOptions): Conversion {
  const now = options.now ?? (() => BigInt(Date.now()) * 1_000_000n);
  const tenants = new Map<string, { streams: Map<string, LokiStream>; records: number }>();
  let dropped = 0;
  let firstError: string | undefined;
  const normalized = new Map<string, string>();
  for (const rl of data.resourceLogs) {
    const resource = rl.resource.attributes;
    const state = resourceState(resource, options);
    for (const sl of rl.scopeLogs) {
      const scopeLine = scopeJson(sl.scope);
      for (const record of sl.logRecords) {
        // Without a hint on the resource or the record there is no tenant.
        const tenant = state.tenantHint || hasHints(record.attributes)
          ? tenantOf(record.attributes, resource)
          : "";
        let converted: Converted;
        try {
          converted = convertRecord(record, state, sl.scope, scopeLine, options, normalized);
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
        const key = converted.key;
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
