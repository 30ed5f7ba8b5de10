/**
 * The requests the load generator sends: realistic pre-encoded OTLP `Export*ServiceRequest`s of a
 * chosen size, each carrying a resource attribute `bench.sent_us` (a double, microseconds since
 * the epoch) that the generator overwrites in place just before sending, so the sink can measure
 * end-to-end latency without decoding.
 *
 * @module
 */
import { encodeLogsRequest, encodeMetricsRequest, encodeTracesRequest } from "../lib/otlp/mod.ts";
import type {
  InstrumentationScope,
  KeyValue,
  LogRecord,
  Metric,
  Resource,
  Signal,
  Span,
} from "../lib/pdata/types.ts";

/** The resource attribute holding the send time, in microseconds since the epoch (a double). */
export const SENT_KEY = "bench.sent_us";

/** A value whose 8 little-endian bytes are unlikely to occur anywhere else in a request. */
const SENTINEL = 1234567.890123457;

/** One pre-encoded request and where its send time goes. */
export interface RequestTemplate {
  /** The encoded `Export*ServiceRequest`. */
  bytes: Uint8Array;
  /** The byte offset of the `bench.sent_us` double (little-endian) in `bytes`. */
  sentOffset: number;
  /** Items (spans, data points, log records) in the request. */
  items: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function randomBytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function resource(seed: number): Resource {
  return {
    attributes: [
      { key: "service.name", value: `checkout-${seed % 4}` },
      { key: "service.version", value: "1.24.0" },
      { key: "host.name", value: `ip-10-0-3-${seed % 250}.eu-west-1.compute.internal` },
      { key: "k8s.pod.name", value: `checkout-7d9f8c6b5-${seed.toString(36).padStart(5, "x")}` },
      { key: "process.pid", value: BigInt(4000 + seed) },
      { key: SENT_KEY, value: SENTINEL },
    ],
    droppedAttributesCount: 0,
  };
}

const SCOPE: InstrumentationScope = {
  name: "@opentelemetry/instrumentation-http",
  version: "0.52.1",
  attributes: [],
  droppedAttributesCount: 0,
};

const T0 = BigInt(Date.UTC(2025, 0, 1)) * 1_000_000n;

function spans(r: () => number, n: number): Span[] {
  const out: Span[] = [];
  const traceId = randomBytes(r, 16);
  for (let i = 0; i < n; i++) {
    const start = T0 + BigInt(i) * 1_000_000n;
    const attributes: KeyValue[] = [
      { key: "http.request.method", value: i % 3 === 0 ? "POST" : "GET" },
      { key: "url.path", value: `/api/v1/cart/${Math.floor(r() * 100000)}` },
      { key: "http.response.status_code", value: i % 10 === 0 ? 500n : 200n },
      { key: "server.address", value: "cart.internal" },
      { key: "server.port", value: 8080n },
      { key: "network.protocol.version", value: "1.1" },
      { key: "user_agent.original", value: "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0" },
      { key: "db.system", value: "postgresql" },
      { key: "sampled", value: true },
      { key: "ratio", value: r() },
    ];
    out.push({
      traceId: i % 10 === 0 ? randomBytes(r, 16) : traceId,
      spanId: randomBytes(r, 8),
      traceState: "",
      parentSpanId: i % 10 === 0 ? new Uint8Array(0) : randomBytes(r, 8),
      flags: 1,
      name: i % 2 ? "GET /api/v1/cart/{id}" : "SELECT orders",
      kind: 1 + (i % 3),
      startTimeUnixNano: start,
      endTimeUnixNano: start + BigInt(Math.floor(r() * 5_000_000)),
      attributes,
      droppedAttributesCount: 0,
      events: i % 10 === 0
        ? [{
          timeUnixNano: start + 1000n,
          name: "exception",
          attributes: [{ key: "exception.message", value: "connection reset by peer" }],
          droppedAttributesCount: 0,
        }]
        : [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { message: "", code: i % 10 === 0 ? 2 : 0 },
    });
  }
  return out;
}

/** `n` data points: 10 per metric, cycling through gauges, sums and histograms. */
function metrics(r: () => number, n: number): Metric[] {
  const out: Metric[] = [];
  for (let m = 0; m * 10 < n; m++) {
    const count = Math.min(10, n - m * 10);
    const attrs = (i: number): KeyValue[] => [
      { key: "http.route", value: `/api/v${m % 3}/items/${i}` },
      { key: "http.request.method", value: i % 2 ? "GET" : "POST" },
      { key: "http.response.status_code", value: BigInt(200 + (i % 5)) },
    ];
    const base = { description: "Measured by the bench", unit: "ms", metadata: [] };
    if (m % 3 === 2) {
      out.push({
        ...base,
        name: `http.server.request.duration.${m}`,
        data: {
          type: "histogram",
          aggregationTemporality: 2,
          dataPoints: Array.from({ length: count }, (_, i) => ({
            attributes: attrs(i),
            startTimeUnixNano: T0,
            timeUnixNano: T0 + 60_000_000_000n,
            count: BigInt(100 + i),
            sum: r() * 10000,
            bucketCounts: Array.from({ length: 11 }, () => BigInt(Math.floor(r() * 20))),
            explicitBounds: [5, 10, 25, 50, 75, 100, 250, 500, 1000, 2500],
            exemplars: [],
            flags: 0,
            min: 0.5,
            max: 9000,
          })),
        },
      });
      continue;
    }
    const points = Array.from({ length: count }, (_, i) => ({
      attributes: attrs(i),
      startTimeUnixNano: T0,
      timeUnixNano: T0 + 60_000_000_000n,
      value: m % 3 === 1 ? BigInt(Math.floor(r() * 1e6)) : r() * 100,
      exemplars: [],
      flags: 0,
    }));
    out.push({
      ...base,
      name: `app.metric.${m}`,
      data: m % 3 === 1
        ? { type: "sum", dataPoints: points, aggregationTemporality: 2, isMonotonic: true }
        : { type: "gauge", dataPoints: points },
    });
  }
  return out;
}

function logRecords(r: () => number, n: number): LogRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    timeUnixNano: T0 + BigInt(i),
    observedTimeUnixNano: T0 + BigInt(i) + 500n,
    severityNumber: i % 20 === 0 ? 17 : 9,
    severityText: i % 20 === 0 ? "ERROR" : "INFO",
    body: `request ${Math.floor(r() * 1e6)} completed in ${Math.floor(r() * 1000)} ms for user ${
      i % 97
    }`,
    attributes: [
      { key: "log.file.name", value: "app.log" },
      { key: "thread.id", value: BigInt(i % 16) },
      { key: "code.function", value: "handleRequest" },
      { key: "user.id", value: `u-${i % 97}` },
      { key: "duration", value: r() * 1000 },
    ],
    droppedAttributesCount: 0,
    flags: 1,
    traceId: randomBytes(r, 16),
    spanId: randomBytes(r, 8),
    eventName: "",
  }));
}

function encode(signal: Signal, seed: number, items: number): Uint8Array {
  const r = rng(seed * 7919 + 1);
  switch (signal) {
    case "traces":
      return encodeTracesRequest({
        resourceSpans: [{
          resource: resource(seed),
          scopeSpans: [{ scope: SCOPE, spans: spans(r, items), schemaUrl: "" }],
          schemaUrl: "https://opentelemetry.io/schemas/1.26.0",
        }],
      });
    case "metrics":
      return encodeMetricsRequest({
        resourceMetrics: [{
          resource: resource(seed),
          scopeMetrics: [{ scope: SCOPE, metrics: metrics(r, items), schemaUrl: "" }],
          schemaUrl: "",
        }],
      });
    case "logs":
      return encodeLogsRequest({
        resourceLogs: [{
          resource: resource(seed),
          scopeLogs: [{ scope: SCOPE, logRecords: logRecords(r, items), schemaUrl: "" }],
          schemaUrl: "",
        }],
      });
  }
}

function findSentinel(bytes: Uint8Array): number {
  const needle = new Uint8Array(8);
  new DataView(needle.buffer).setFloat64(0, SENTINEL, true);
  outer: for (let i = 0; i + 8 <= bytes.length; i++) {
    for (let j = 0; j < 8; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("Cannot find the send-time sentinel in an encoded request");
}

/** `variants` distinct requests of `items` items each for `signal`. */
export function requestTemplates(
  signal: Signal,
  items: number,
  variants = 16,
): RequestTemplate[] {
  return Array.from({ length: variants }, (_, seed) => {
    const bytes = encode(signal, seed, items);
    return { bytes, sentOffset: findSentinel(bytes), items };
  });
}

/** Microseconds since the epoch, with sub-millisecond resolution. */
export function nowMicros(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

/** A copy of the template with the current time written into its `bench.sent_us` attribute. */
export function stampRequest(template: RequestTemplate): Uint8Array {
  const bytes = template.bytes.slice();
  new DataView(bytes.buffer).setFloat64(template.sentOffset, nowMicros(), true);
  return bytes;
}
