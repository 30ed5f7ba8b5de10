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
