/** Seeded test data for the sampling differential tests. */
import type {
  KeyValue,
  LogRecord,
  LogsData,
  Span,
  TracesData,
} from "../../../../lib/pdata/types.ts";
import { newLogRecord, newResource, newScope, newSpan } from "../../../../lib/pdata/new.ts";

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` random bytes. */
export function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** Lower-case hex of bytes. */
export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** A traces payload of the given spans under one resource and scope. */
export function tracesOf(spans: Span[], resource: KeyValue[] = []): TracesData {
  return {
    resourceSpans: [{
      resource: newResource({ attributes: resource }),
      scopeSpans: [{ scope: newScope({ name: "test" }), spans, schemaUrl: "" }],
      schemaUrl: "",
    }],
  };
}

/** A logs payload of the given records. */
export function logsOf(records: LogRecord[]): LogsData {
  return {
    resourceLogs: [{
      resource: newResource(),
      scopeLogs: [{ scope: newScope({ name: "test" }), logRecords: records, schemaUrl: "" }],
      schemaUrl: "",
    }],
  };
}

const TRACE_STATES = [
  "",
  "",
  "",
  "vendor=abc",
  "ot=th:8",
  "ot=th:c",
  "ot=rv:9b8233f7e3a151",
  "ot=th:4;rv:e5a1b2c3d4e5f6,other=1",
  "ot=th:zz",
  "ot=p:8;x:y",
  "bad state",
];

/** Spans with random trace IDs, a mix of tracestates and some `sampling.priority`. */
export function probabilisticSpans(seed: number, n: number): Span[] {
  const rand = prng(seed);
  const spans: Span[] = [];
  for (let i = 0; i < n; i++) {
    const attributes: KeyValue[] = [{ key: "i", value: BigInt(i) }];
    const r = rand();
    if (r < 0.03) attributes.push({ key: "sampling.priority", value: 0n });
    else if (r < 0.06) attributes.push({ key: "sampling.priority", value: 2n });
    else if (r < 0.08) attributes.push({ key: "sampling.priority", value: "1.5" });
    spans.push(newSpan({
      traceId: i % 50 === 49 ? new Uint8Array(16) : randomBytes(rand, 16),
      spanId: randomBytes(rand, 8),
      name: `op${i % 7}`,
      traceState: TRACE_STATES[Math.floor(rand() * TRACE_STATES.length)]!,
      attributes,
      startTimeUnixNano: 1_700_000_000_000_000_000n,
      endTimeUnixNano: 1_700_000_000_100_000_000n,
    }));
  }
  return spans;
}

/** Log records: some with trace IDs, `tenant` attributes of several types, priorities. */
export function probabilisticRecords(seed: number, n: number): LogRecord[] {
  const rand = prng(seed);
  const records: LogRecord[] = [];
  for (let i = 0; i < n; i++) {
    const attributes: KeyValue[] = [{ key: "i", value: BigInt(i) }];
    const r = rand();
    if (r < 0.5) attributes.push({ key: "tenant", value: `t${Math.floor(rand() * 1e6)}` });
    else if (r < 0.6) attributes.push({ key: "tenant", value: BigInt(Math.floor(rand() * 1e6)) });
    else if (r < 0.7) attributes.push({ key: "tenant", value: randomBytes(rand, 6) });
    const p = rand();
    if (p < 0.05) attributes.push({ key: "priority", value: 100 });
    else if (p < 0.1) attributes.push({ key: "priority", value: 50n });
    else if (p < 0.12) attributes.push({ key: "sampling.threshold", value: "c" });
    else if (p < 0.14) attributes.push({ key: "sampling.randomness", value: "fffffffffffff0" });
    records.push(newLogRecord({
      traceId: rand() < 0.6 ? randomBytes(rand, 16) : new Uint8Array(0),
      spanId: randomBytes(rand, 8),
      body: `record ${i}`,
      attributes,
      timeUnixNano: 1_700_000_000_000_000_000n,
    }));
  }
  return records;
}

/** One generated trace: its spans and the resource they came from. */
export interface GeneratedTrace {
  spans: Span[];
  resource: KeyValue[];
}

const SERVICES = ["checkout", "cart", "payment", "search", "auth"];
const BASE = 1_700_000_000_000_000_000n;

/**
 * Traces for the tail sampling differential tests: 1–6 spans each, some errors, some slow (up to
 * 3 s), `http.status_code` (int, sometimes a double), `debug` (bool), `tenant` (string),
 * tracestates, sampled flags and events; with `uniform`, every trace has the same shape (two
 * spans, same sizes) so that budget policies keep a deterministic number of traces.
 */
export function tailTraces(seed: number, n: number, uniform = false): GeneratedTrace[] {
  const rand = prng(seed);
  const out: GeneratedTrace[] = [];
  for (let t = 0; t < n; t++) {
    const traceId = randomBytes(rand, 16);
    const count = uniform ? 2 : 1 + Math.floor(rand() * 6);
    const start = BASE + BigInt(Math.floor(rand() * 1e9));
    const spans: Span[] = [];
    const rootId = randomBytes(rand, 8);
    const slow = !uniform && rand() < 0.15;
    for (let i = 0; i < count; i++) {
      const attributes: KeyValue[] = [];
      if (uniform) {
        attributes.push({ key: "kind", value: t % 3 === 0 ? "a" : "b" });
      } else {
        const r = rand();
        if (r < 0.3) {
          attributes.push({
            key: "http.status_code",
            value: BigInt(200 + Math.floor(rand() * 4) * 100),
          });
        } else if (r < 0.35) attributes.push({ key: "http.status_code", value: 500.0 });
        if (rand() < 0.1) attributes.push({ key: "debug", value: rand() < 0.5 });
        if (rand() < 0.3) {
          attributes.push({ key: "tenant", value: `tenant-${Math.floor(rand() * 5)}` });
        }
        if (rand() < 0.05) attributes.push({ key: "tenant", value: "" });
      }
      const duration = slow && i === 0
        ? BigInt(900 + Math.floor(rand() * 2100)) * 1_000_000n
        : BigInt(Math.floor(rand() * 200)) * 1_000_000n;
      const offset = BigInt(Math.floor(rand() * 50)) * 1_000_000n;
      const error = !uniform && rand() < 0.04;
      const states = ["", "", "", "vendor=gold", "vendor=silver", "a=1,vendor=gold", "bad=="];
      spans.push(newSpan({
        traceId,
        spanId: i === 0 ? rootId : randomBytes(rand, 8),
        parentSpanId: i === 0 ? new Uint8Array(0) : rootId,
        name: uniform ? "op" : `op-${Math.floor(rand() * 4)}`,
        startTimeUnixNano: start + offset,
        endTimeUnixNano: start + offset + duration,
        attributes,
        traceState: uniform ? "" : states[Math.floor(rand() * states.length)]!,
        flags: !uniform && rand() < 0.2 ? 1 : 0,
        status: { code: error ? 2 : rand() < 0.2 ? 1 : 0, message: "" },
        events: !uniform && rand() < 0.1
          ? [{
            name: rand() < 0.5 ? "exception" : "log",
            timeUnixNano: start,
            attributes: [],
            droppedAttributesCount: 0,
          }]
          : [],
      }));
    }
    out.push({
      spans,
      resource: [{
        key: "service.name",
        value: uniform ? "svc" : SERVICES[Math.floor(rand() * SERVICES.length)]!,
      }],
    });
  }
  return out;
}

/** Requests carrying the traces' spans: the first `split` spans of each in one request per resource. */
export function tailRequests(traces: GeneratedTrace[], from: number, to: number): TracesData {
  const data: TracesData = { resourceSpans: [] };
  const byService = new Map<string, Span[]>();
  const resources = new Map<string, KeyValue[]>();
  for (const t of traces) {
    const service = String(t.resource[0]!.value);
    resources.set(service, t.resource);
    const list = byService.get(service) ?? [];
    list.push(...t.spans.slice(from, to));
    byService.set(service, list);
  }
  for (const [service, spans] of byService) {
    if (spans.length === 0) continue;
    data.resourceSpans.push(tracesOf(spans, resources.get(service)!).resourceSpans[0]!);
  }
  return data;
}
