/**
 * A core/v1 Event as the Collector's `k8s_events` receiver logs it: one resource per event with
 * the involved object (`k8s.node.name` from `source.host`, `k8s.object.kind` / `name` / `uid` /
 * `fieldpath` / `api_version` / `resource_version`), one log record whose body is the message,
 * timestamped with `lastTimestamp`, else `firstTimestamp`, else `eventTime`; severity `Normal` →
 * INFO (9), `Warning` → WARN (13), another type only as severity text; attributes
 * `k8s.event.reason`, `action`, `start_time` (the creation time in Go's `time.Time` format),
 * `name`, `uid`, `k8s.namespace.name` and `k8s.event.count` when not 0.
 *
 * @module
 */
import { newLogRecord, newResource, newScope } from "../../../lib/pdata/new.ts";
import type { KeyValue, ResourceLogs } from "../../../lib/pdata/types.ts";
import type { K8sObject } from "../../../lib/k8s/informer.ts";

/** The instrumentation scope (the Collector's scope name). */
export const EVENTS_SCOPE =
  "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8seventsreceiver";

/** The fields of a core/v1 Event the receiver reads. */
export interface K8sEvent extends K8sObject {
  readonly involvedObject?: {
    readonly kind?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly uid?: string;
    readonly apiVersion?: string;
    readonly resourceVersion?: string;
    readonly fieldPath?: string;
  };
  readonly reason?: string;
  readonly message?: string;
  readonly source?: { readonly component?: string; readonly host?: string };
  readonly firstTimestamp?: string | null;
  readonly lastTimestamp?: string | null;
  readonly eventTime?: string | null;
  readonly count?: number;
  readonly type?: string;
  readonly action?: string;
}

const SEVERITY: Record<string, number> = { normal: 9, warning: 13 };

function millis(time: string | null | undefined): number | undefined {
  if (time === undefined || time === null || time === "") return undefined;
  const ms = Date.parse(time);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** The event's time in milliseconds: last, first or event time (0 when it has none). */
export function eventTimeMs(event: K8sEvent): number {
  return millis(event.lastTimestamp) ?? millis(event.firstTimestamp) ??
    millis(event.eventTime) ?? 0;
}

/** A time as Go's `time.Time.String()` prints a UTC time: `2006-01-02 15:04:05 +0000 UTC`. */
export function goTimeString(time: string | undefined): string {
  const ms = millis(time);
  if (ms === undefined) return "0001-01-01 00:00:00 +0000 UTC";
  const iso = new Date(ms).toISOString(); // 2006-01-02T15:04:05.000Z
  const fraction = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction === "" ? "" : `.${fraction}`} ` +
    "+0000 UTC";
}

/** The event as one resource with one log record. */
export function eventToLogs(event: K8sEvent, version: string, observedNano: bigint): ResourceLogs {
  const o = event.involvedObject ?? {};
  const s = (value: string | undefined) => value ?? "";
  const resource: KeyValue[] = [
    { key: "k8s.node.name", value: s(event.source?.host) },
    { key: "k8s.object.kind", value: s(o.kind) },
    { key: "k8s.object.name", value: s(o.name) },
    { key: "k8s.object.uid", value: s(o.uid) },
    { key: "k8s.object.fieldpath", value: s(o.fieldPath) },
    { key: "k8s.object.api_version", value: s(o.apiVersion) },
    { key: "k8s.object.resource_version", value: s(o.resourceVersion) },
  ];
  const attributes: KeyValue[] = [
    { key: "k8s.event.reason", value: s(event.reason) },
    { key: "k8s.event.action", value: s(event.action) },
    { key: "k8s.event.start_time", value: goTimeString(event.metadata.creationTimestamp) },
    { key: "k8s.event.name", value: event.metadata.name },
    { key: "k8s.event.uid", value: event.metadata.uid },
    { key: "k8s.namespace.name", value: s(o.namespace) },
  ];
  if (typeof event.count === "number" && event.count !== 0) {
    attributes.push({ key: "k8s.event.count", value: BigInt(Math.trunc(event.count)) });
  }
  const type = event.type ?? "";
  return {
    resource: newResource({ attributes: resource }),
    schemaUrl: "",
    scopeLogs: [{
      scope: newScope({ name: EVENTS_SCOPE, version }),
      schemaUrl: "",
      logRecords: [newLogRecord({
        timeUnixNano: BigInt(eventTimeMs(event)) * 1_000_000n,
        observedTimeUnixNano: observedNano,
        severityNumber: SEVERITY[type.toLowerCase()] ?? 0,
        severityText: type,
        body: s(event.message),
        attributes,
      })],
    }],
  };
}
