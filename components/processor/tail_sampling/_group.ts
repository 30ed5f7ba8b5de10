/**
 * Splitting arriving spans by trace: each resource entry of a request becomes one resource entry
 * per trace ID in it, spans kept under their scopes (as the Collector regroups them), and an
 * estimate of the memory each group holds.
 *
 * @module
 */
import type {
  AnyValue,
  KeyValue,
  ResourceSpans,
  ScopeSpans,
  Span,
  TracesData,
} from "../../../lib/pdata/types.ts";

/** The spans of one trace from one resource entry. */
export interface TraceGroup {
  /** The trace ID as a 16-character string (one char per byte), for map keys. */
  readonly key: string;
  readonly id: Uint8Array;
  readonly rs: ResourceSpans;
  spanCount: number;
  /** True when a span without a parent (a root) is among them. */
  hasRoot: boolean;
}

/** A trace ID as a map key. */
export function traceKey(id: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 16; i++) s += String.fromCharCode(id[i] ?? 0);
  return s;
}

/** The right half of a trace ID (the decision caches' key, as the Collector's). */
export function cacheKey(key: string): string {
  return key.slice(8);
}

/** A map key back to the trace ID bytes. */
export function keyToId(key: string): Uint8Array {
  const id = new Uint8Array(16);
  for (let i = 0; i < 16; i++) id[i] = key.charCodeAt(i);
  return id;
}

/** Hex of a trace key (for storage keys and logs). */
export function keyHex(key: string): string {
  let s = "";
  for (let i = 0; i < key.length; i++) s += key.charCodeAt(i).toString(16).padStart(2, "0");
  return s;
}

/** Hex back to a trace key. */
export function hexKey(hex: string): string {
  let s = "";
  for (let i = 0; i + 1 < hex.length; i += 2) {
    s += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  }
  return s;
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isZero(id: Uint8Array): boolean {
  for (let i = 0; i < id.length; i++) if (id[i] !== 0) return false;
  return true;
}

/** The spans of a request, grouped by resource entry and trace, in arrival order. */
export function groupByTrace(data: TracesData): TraceGroup[] {
  const out: TraceGroup[] = [];
  for (const rs of data.resourceSpans) {
    const byTrace = new Map<string, { group: TraceGroup; scopes: Map<ScopeSpans, ScopeSpans> }>();
    // Spans of one trace usually come one after another: reuse the last key while the ID repeats.
    let lastId: Uint8Array | undefined;
    let lastKey = "";
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        const id = span.traceId;
        const key = lastId !== undefined && sameId(id, lastId) ? lastKey : traceKey(id);
        lastId = id;
        lastKey = key;
        let entry = byTrace.get(key);
        if (entry === undefined) {
          const group: TraceGroup = {
            key,
            id: span.traceId,
            rs: { resource: rs.resource, scopeSpans: [], schemaUrl: rs.schemaUrl },
            spanCount: 0,
            hasRoot: false,
          };
          entry = { group, scopes: new Map() };
          byTrace.set(key, entry);
          out.push(group);
        }
        let scope = entry.scopes.get(ss);
        if (scope === undefined) {
          scope = { scope: ss.scope, spans: [], schemaUrl: ss.schemaUrl };
          entry.scopes.set(ss, scope);
          entry.group.rs.scopeSpans.push(scope);
        }
        scope.spans.push(span);
        entry.group.spanCount++;
        if (!entry.group.hasRoot && isZero(span.parentSpanId)) entry.group.hasRoot = true;
      }
    }
  }
  return out;
}

function valueBytes(v: AnyValue, depth = 0): number {
  if (v === undefined || typeof v === "boolean") return 16;
  if (typeof v === "string") return 24 + v.length * 2;
  if (typeof v === "number" || typeof v === "bigint") return 24;
  if (v instanceof Uint8Array) return 96 + v.length;
  if (depth > 8) return 64;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + valueBytes(x, depth + 1), 32);
  return attributesBytes(v.kvlist, depth + 1) + 32;
}

function attributesBytes(attrs: readonly KeyValue[], depth = 0): number {
  let n = 32;
  for (const kv of attrs) n += 48 + kv.key.length * 2 + valueBytes(kv.value, depth);
  return n;
}

function spanBytes(s: Span): number {
  let n = 420 + s.name.length * 2 + s.traceState.length * 2 + s.status.message.length * 2;
  n += attributesBytes(s.attributes);
  for (const e of s.events) n += 96 + e.name.length * 2 + attributesBytes(e.attributes);
  for (const l of s.links) n += 200 + attributesBytes(l.attributes);
  return n;
}

/**
 * An estimate of the heap a group keeps alive: its spans as V8 holds them (objects, strings in
 * UTF-16, typed arrays), not counting the resource and scope, which arriving spans share.
 */
export function estimateBytes(group: TraceGroup): number {
  let n = 160;
  for (const ss of group.rs.scopeSpans) {
    n += 96;
    for (const s of ss.spans) n += spanBytes(s);
  }
  return n;
}
