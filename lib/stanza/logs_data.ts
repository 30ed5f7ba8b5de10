/**
 * Log entries as OTLP logs data, grouped by resource: entries whose operators set equal resource
 * attributes (a `move` to `resource["host.name"]`, say) share one `ResourceLogs`, as the
 * Collector's stanza adapter groups them. Equal means the same keys and values, in any order.
 *
 * @module
 */
import { newResource, newScope } from "../pdata/new.ts";
import type { LogRecord, LogsData } from "../pdata/types.ts";
import { type Entry, type EntryMap, entryToLogRecord, toKeyValues } from "./entry.ts";

/** A key equal for equal resources, whatever the order of their attributes. */
function resourceKey(resource: EntryMap): string {
  const keys = Object.keys(resource);
  if (keys.length === 0) return "";
  keys.sort();
  return JSON.stringify(
    keys.map((k) => [k, resource[k]]),
    (_k, v) => typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v,
  );
}

/** The entries as logs data: one resource per distinct resource, records in entry order. */
export function entriesToLogsData(entries: readonly Entry[]): LogsData {
  const groups = new Map<string, { resource: EntryMap; records: LogRecord[] }>();
  for (const entry of entries) {
    const key = resourceKey(entry.resource);
    let group = groups.get(key);
    if (group === undefined) {
      group = { resource: entry.resource, records: [] };
      groups.set(key, group);
    }
    group.records.push(entryToLogRecord(entry));
  }
  return {
    resourceLogs: [...groups.values()].map((g) => ({
      resource: newResource({ attributes: toKeyValues(g.resource) }),
      scopeLogs: [{ scope: newScope(), logRecords: g.records, schemaUrl: "" }],
      schemaUrl: "",
    })),
  };
}
