/**
 * OTLP protobuf codec benchmark: tfo's hand-written codec against protobufjs (the reference
 * codec, loaded with the same OTLP schema the tests use) on realistic payloads.
 *
 * Run directly (`deno run -A bench/codec_bench.ts`) or call {@linkcode runCodecBench}.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix
import protobuf from "npm:protobufjs@8.8.1";
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
} from "../lib/otlp/mod.ts";
import {
  validateLogsRequest,
  validateMetricsRequest,
  validateTracesRequest,
} from "../lib/otlp/validate.ts";
import type {
  KeyValue,
  LogsData,
  Metric,
  MetricsData,
  NumberDataPoint,
  TracesData,
} from "../lib/pdata/types.ts";

const T0 = 1700000000123456789n;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function resource(): { attributes: KeyValue[]; droppedAttributesCount: number } {
  return {
    attributes: [
      { key: "service.name", value: "checkout" },
      { key: "service.version", value: "1.24.0" },
      { key: "host.name", value: "ip-10-0-3-17.eu-west-1.compute.internal" },
      { key: "k8s.pod.name", value: "checkout-7d9f8c6b5-x2x9z" },
      { key: "process.pid", value: 4242n },
    ],
    droppedAttributesCount: 0,
  };
}

const SCOPE = {
  name: "@opentelemetry/instrumentation-http",
  version: "0.52.1",
  attributes: [],
  droppedAttributesCount: 0,
};

/** 1000 spans with 10 attributes each, a few with events. */
export function benchTraces(): TracesData {
  const r = rng(1);
  const spans = [];
  for (let i = 0; i < 1000; i++) {
    const start = T0 + BigInt(i) * 1000000n;
    spans.push({
      traceId: bytes(r, 16),
      spanId: bytes(r, 8),
      traceState: "",
      parentSpanId: i % 5 === 0 ? new Uint8Array(0) : bytes(r, 8),
      flags: 1,
      name: i % 2 ? "GET /api/v1/cart/{id}" : "SELECT orders",
      kind: 1 + (i % 3),
      startTimeUnixNano: start,
      endTimeUnixNano: start + 2345678n,
      attributes: [
        { key: "http.request.method", value: "GET" },
        { key: "url.path", value: `/api/v1/cart/${i}` },
        { key: "http.response.status_code", value: 200n },
        { key: "server.address", value: "cart.internal" },
        { key: "server.port", value: 8080n },
        { key: "network.protocol.version", value: "1.1" },
        { key: "user_agent.original", value: "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0" },
        { key: "db.system", value: "postgresql" },
        { key: "sampled", value: true },
        { key: "ratio", value: r() },
      ],
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
  return {
    resourceSpans: [{
      resource: resource(),
      scopeSpans: [{ scope: SCOPE, spans, schemaUrl: "" }],
      schemaUrl: "https://opentelemetry.io/schemas/1.26.0",
    }],
  };
}

/** 5000 data points: 100 metrics (sums, gauges, histograms) of 50 points each. */
export function benchMetrics(): MetricsData {
  const r = rng(2);
  const metrics: Metric[] = [];
  for (let m = 0; m < 100; m++) {
    const points: NumberDataPoint[] = [];
    const attrs = (i: number): KeyValue[] => [
      { key: "http.route", value: `/api/v${m % 3}/items/${i}` },
      { key: "http.request.method", value: i % 2 ? "GET" : "POST" },
      { key: "http.response.status_code", value: BigInt(200 + (i % 5)) },
    ];
    if (m % 4 === 3) {
      metrics.push({
        name: `http.server.duration.${m}`,
        description: "Duration of HTTP server requests",
        unit: "ms",
        metadata: [],
        data: {
          type: "histogram",
          aggregationTemporality: 2,
          dataPoints: Array.from({ length: 50 }, (_, i) => ({
            attributes: attrs(i),
            startTimeUnixNano: T0,
            timeUnixNano: T0 + 60000000000n,
            count: BigInt(100 + i),
            sum: r() * 10000,
            bucketCounts: Array.from({ length: 16 }, () => BigInt(Math.floor(r() * 20))),
            explicitBounds: [
              0,
              5,
              10,
              25,
              50,
              75,
              100,
              250,
              500,
              750,
              1000,
              2500,
              5000,
              7500,
              10000,
            ],
            exemplars: [],
            flags: 0,
            min: 0.5,
            max: 9000,
          })),
        },
      });
      continue;
    }
    for (let i = 0; i < 50; i++) {
      points.push({
        attributes: attrs(i),
        startTimeUnixNano: T0,
        timeUnixNano: T0 + 60000000000n,
        value: m % 2 ? BigInt(Math.floor(r() * 1e6)) : r() * 100,
        exemplars: [],
        flags: 0,
      });
    }
    metrics.push({
      name: `app.metric.${m}`,
      description: "A metric",
      unit: "1",
      metadata: [],
      data: m % 2
        ? { type: "sum", dataPoints: points, aggregationTemporality: 2, isMonotonic: true }
        : { type: "gauge", dataPoints: points },
    });
  }
  return {
    resourceMetrics: [{
      resource: resource(),
      scopeMetrics: [{ scope: SCOPE, metrics, schemaUrl: "" }],
      schemaUrl: "",
    }],
  };
}

/** 2000 log records with a text body and 5 attributes. */
export function benchLogs(): LogsData {
  const r = rng(3);
  const logRecords = [];
  for (let i = 0; i < 2000; i++) {
    logRecords.push({
      timeUnixNano: T0 + BigInt(i),
      observedTimeUnixNano: T0 + BigInt(i) + 500n,
      severityNumber: 9,
      severityText: "INFO",
      body: `request ${i} completed in ${Math.floor(r() * 1000)} ms for user ${i % 97} — ok`,
      attributes: [
        { key: "log.file.name", value: "app.log" },
        { key: "thread.id", value: BigInt(i % 16) },
        { key: "code.function", value: "handleRequest" },
        { key: "user.id", value: `u-${i % 97}` },
        { key: "duration", value: r() * 1000 },
      ],
      droppedAttributesCount: 0,
      flags: 1,
      traceId: bytes(r, 16),
      spanId: bytes(r, 8),
      eventName: "",
    });
  }
  return {
    resourceLogs: [{
      resource: resource(),
      scopeLogs: [{ scope: SCOPE, logRecords, schemaUrl: "" }],
      schemaUrl: "",
    }],
  };
}

/**
 * Runs `f` for about `ms` milliseconds in 5 rounds (after a warm-up) and returns the best round's
 * milliseconds per run: the machine is shared, and the best round is the least disturbed one.
 */
function time(f: () => unknown, ms: number): number {
  const warm = performance.now();
  while (performance.now() - warm < ms / 5) f();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ms / 5) {
      f();
      n++;
      now = performance.now();
    }
    best = Math.min(best, (now - start) / n);
  }
  return best;
}

async function loadSchema(): Promise<protobuf.Root> {
  const text = await Deno.readTextFile(
    new URL("../tests/fixtures/otlp/otlp.proto", import.meta.url),
  );
  return protobuf.parse(text, { keepCase: false }).root;
}

interface Row {
  signal: string;
  size: number;
  ours: { decode: number; encode: number; validate: number };
  pbjs: { decode: number; encode: number };
}

/**
 * Measures decode and encode throughput of tfo's OTLP protobuf codec and protobufjs on traces
 * (1000 spans × 10 attributes), metrics (5000 data points) and logs (2000 records), and returns a
 * markdown table (MB/s, best of 5 rounds, higher is better).
 */
export async function runCodecBench(options: { msPerCase?: number } = {}): Promise<string> {
  const ms = options.msPerCase ?? 2000;
  const root = await loadSchema();
  const cases = [
    {
      signal: "traces (1000 spans × 10 attrs)",
      bytes: encodeTracesRequest(benchTraces()),
      decode: decodeTracesRequest,
      validate: validateTracesRequest,
      encode: encodeTracesRequest as (d: unknown) => Uint8Array,
      type: root.lookupType("otlp.ExportTraceServiceRequest"),
    },
    {
      signal: "metrics (5000 data points)",
      bytes: encodeMetricsRequest(benchMetrics()),
      decode: decodeMetricsRequest,
      validate: validateMetricsRequest,
      encode: encodeMetricsRequest as (d: unknown) => Uint8Array,
      type: root.lookupType("otlp.ExportMetricsServiceRequest"),
    },
    {
      signal: "logs (2000 records)",
      bytes: encodeLogsRequest(benchLogs()),
      decode: decodeLogsRequest,
      validate: validateLogsRequest,
      encode: encodeLogsRequest as (d: unknown) => Uint8Array,
      type: root.lookupType("otlp.ExportLogsServiceRequest"),
    },
  ];
  const rows: Row[] = [];
  for (const c of cases) {
    const model = c.decode(c.bytes);
    const message = c.type.decode(c.bytes);
    const mb = c.bytes.length / 1e6;
    rows.push({
      signal: c.signal,
      size: c.bytes.length,
      ours: {
        decode: mb / (time(() => c.decode(c.bytes), ms) / 1000),
        encode: mb / (time(() => c.encode(model), ms) / 1000),
        validate: mb / (time(() => c.validate(c.bytes), ms) / 1000),
      },
      pbjs: {
        decode: mb / (time(() => c.type.decode(c.bytes), ms) / 1000),
        encode: mb / (time(() => c.type.encode(message).finish(), ms) / 1000),
      },
    });
  }
  const f = (x: number) => x.toFixed(0);
  const lines = [
    "| payload | size | tfo validate MB/s | tfo decode MB/s | protobufjs decode MB/s | × | tfo encode MB/s | protobufjs encode MB/s | × |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.signal} | ${(r.size / 1024).toFixed(0)} KiB | ${f(r.ours.validate)} | ${
        f(r.ours.decode)
      } | ${f(r.pbjs.decode)} | ${(r.ours.decode / r.pbjs.decode).toFixed(1)} | ${
        f(r.ours.encode)
      } | ${f(r.pbjs.encode)} | ${(r.ours.encode / r.pbjs.encode).toFixed(1)} |`
    ),
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  console.log(await runCodecBench());
}
