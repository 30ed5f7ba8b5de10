/**
 * Golden payloads from the real OpenTelemetry JS SDK serializers: what the SDK writes, our
 * decoders must read field by field, and the SDK's protobuf and JSON forms must decode alike.
 */
import assert from "node:assert/strict";
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
  // deno-lint-ignore no-import-prefix
} from "npm:@opentelemetry/otlp-transformer@0.301.1";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  // deno-lint-ignore no-import-prefix
} from "npm:@opentelemetry/sdk-trace@3.1.1";
// deno-lint-ignore no-import-prefix
import { MeterProvider, MetricReader } from "npm:@opentelemetry/sdk-metrics@3.1.1";
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  // deno-lint-ignore no-import-prefix
} from "npm:@opentelemetry/sdk-logs@3.1.1";
// deno-lint-ignore no-import-prefix
import { resourceFromAttributes } from "npm:@opentelemetry/resources@3.1.1";
// deno-lint-ignore no-import-prefix
import { SpanKind, SpanStatusCode, ValueType } from "npm:@opentelemetry/api@1.10.0";
import {
  countLogsItems,
  countMetricsItems,
  countTracesItems,
  decodeLogsJson,
  decodeLogsRequest,
  decodeMetricsJson,
  decodeMetricsRequest,
  decodeTracesJson,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
} from "../../lib/otlp/mod.ts";
import type { AnyValue, KeyValue } from "../../lib/pdata/types.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const attr = (attrs: KeyValue[], key: string): AnyValue => attrs.find((a) => a.key === key)?.value;
const T0: [number, number] = [1700000000, 123456789];
const T0_NS = 1700000000123456789n;
const RESOURCE = { "service.name": "golden", "service.version": "1.2.3", "host.cpus": 8 };

Deno.test("traces from the OpenTelemetry JS SDK decode field by field", async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes(RESOURCE),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer("golden-tracer", "0.9.0");
  const parent = tracer.startSpan("parent", { kind: SpanKind.SERVER, startTime: T0 });
  // deno-lint-ignore no-import-prefix
  const { trace, context } = await import("npm:@opentelemetry/api@1.10.0");
  const ctx = trace.setSpan(context.active(), parent);
  const child = tracer.startSpan("chïld ✓", {
    kind: SpanKind.CLIENT,
    startTime: [1700000001, 5],
    attributes: {
      "http.method": "GET",
      "http.status_code": 503,
      "ratio": 0.25,
      "ok": false,
      "tags": ["a", "b"],
      "big": 9007199254740991,
    },
    links: [{ context: parent.spanContext(), attributes: { "link.kind": "parent" } }],
  }, ctx);
  child.addEvent("retry", { attempt: 2 }, [1700000001, 500]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: "upstream failed" });
  child.end([1700000002, 0]);
  parent.end([1700000003, 1]);
  const spans = exporter.getFinishedSpans();
  assert.equal(spans.length, 2);

  const proto = ProtobufTraceSerializer.serializeRequest(spans)!;
  const data = decodeTracesRequest(proto);
  assert.equal(countTracesItems(proto), 2);
  const rs = data.resourceSpans[0]!;
  assert.equal(attr(rs.resource.attributes, "service.name"), "golden");
  assert.equal(attr(rs.resource.attributes, "host.cpus"), 8n);
  const ss = rs.scopeSpans[0]!;
  assert.equal(ss.scope.name, "golden-tracer");
  assert.equal(ss.scope.version, "0.9.0");
  const byName = new Map(ss.spans.map((s) => [s.name, s]));
  const p = byName.get("parent")!;
  const c = byName.get("chïld ✓")!;
  assert.equal(hex(p.traceId), parent.spanContext().traceId);
  assert.equal(hex(p.spanId), parent.spanContext().spanId);
  assert.equal(p.parentSpanId.length, 0);
  assert.equal(p.kind, 2); // SERVER in OTLP numbering (the API's SERVER is 1)
  assert.equal(p.startTimeUnixNano, T0_NS);
  assert.equal(p.endTimeUnixNano, 1700000003000000001n);
  assert.equal(hex(c.traceId), parent.spanContext().traceId);
  assert.equal(hex(c.parentSpanId), parent.spanContext().spanId);
  assert.equal(c.kind, 3);
  assert.equal(c.startTimeUnixNano, 1700000001000000005n);
  assert.equal(attr(c.attributes, "http.method"), "GET");
  assert.equal(attr(c.attributes, "http.status_code"), 503n);
  assert.equal(attr(c.attributes, "ratio"), 0.25);
  assert.equal(attr(c.attributes, "ok"), false);
  assert.deepStrictEqual(attr(c.attributes, "tags"), ["a", "b"]);
  assert.equal(attr(c.attributes, "big"), 9007199254740991n);
  assert.equal(c.events[0]!.name, "retry");
  assert.equal(c.events[0]!.timeUnixNano, 1700000001000000500n);
  assert.equal(attr(c.events[0]!.attributes, "attempt"), 2n);
  assert.equal(hex(c.links[0]!.spanId), parent.spanContext().spanId);
  assert.equal(attr(c.links[0]!.attributes, "link.kind"), "parent");
  assert.deepStrictEqual(c.status, { code: 2, message: "upstream failed" });
  assert.equal(c.flags & 0xff, parent.spanContext().traceFlags);

  // The SDK's JSON says the same, and our re-encoding reads back identically.
  const json = JsonTraceSerializer.serializeRequest(spans)!;
  assert.deepStrictEqual(decodeTracesJson(json), data);
  assert.deepStrictEqual(decodeTracesRequest(encodeTracesRequest(data)), data);
  await provider.shutdown();
});

class CollectingReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("metrics from the OpenTelemetry JS SDK decode field by field", async () => {
  const reader = new CollectingReader();
  const provider = new MeterProvider({
    resource: resourceFromAttributes(RESOURCE),
    readers: [reader],
  });
  const meter = provider.getMeter("golden-meter", "2.0.0");
  const counter = meter.createCounter("requests", { description: "Requests", unit: "{req}" });
  counter.add(3, { route: "/a" });
  counter.add(4, { route: "/a" });
  counter.add(1, { route: "/b" });
  const hist = meter.createHistogram("latency", { unit: "ms" });
  for (const v of [1, 7, 30, 700]) hist.record(v, { route: "/a" });
  const updown = meter.createUpDownCounter("queue", { valueType: ValueType.INT });
  updown.add(-5);
  const gauge = meter.createGauge("temperature");
  gauge.record(21.5, { room: "kitchen" });

  const { resourceMetrics, errors } = await reader.collect();
  assert.deepStrictEqual(errors, []);
  const proto = ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!;
  const data = decodeMetricsRequest(proto);
  assert.equal(countMetricsItems(proto), 2 + 1 + 1 + 1);
  const rm = data.resourceMetrics[0]!;
  assert.equal(attr(rm.resource.attributes, "service.version"), "1.2.3");
  const sm = rm.scopeMetrics[0]!;
  assert.equal(sm.scope.name, "golden-meter");
  const byName = new Map(sm.metrics.map((m) => [m.name, m]));

  const req = byName.get("requests")!;
  assert.equal(req.description, "Requests");
  assert.equal(req.unit, "{req}");
  assert.ok(req.data?.type === "sum");
  assert.equal(req.data.isMonotonic, true);
  assert.equal(req.data.aggregationTemporality, 2);
  const a = req.data.dataPoints.find((p) => attr(p.attributes, "route") === "/a")!;
  assert.equal(a.value, 7);
  assert.ok(a.timeUnixNano > 1_600_000_000_000_000_000n);
  assert.ok(a.startTimeUnixNano <= a.timeUnixNano);

  const lat = byName.get("latency")!;
  assert.ok(lat.data?.type === "histogram");
  const hp = lat.data.dataPoints[0]!;
  assert.equal(hp.count, 4n);
  assert.equal(hp.sum, 738);
  assert.equal(hp.min, 1);
  assert.equal(hp.max, 700);
  assert.equal(hp.bucketCounts.length, hp.explicitBounds.length + 1);
  assert.equal(hp.bucketCounts.reduce((x, y) => x + y, 0n), 4n);

  const q = byName.get("queue")!;
  assert.ok(q.data?.type === "sum");
  assert.equal(q.data.isMonotonic, false);
  assert.equal(q.data.dataPoints[0]!.value, -5n);

  const t = byName.get("temperature")!;
  assert.ok(t.data?.type === "gauge");
  assert.equal(t.data.dataPoints[0]!.value, 21.5);

  const json = JsonMetricsSerializer.serializeRequest(resourceMetrics)!;
  assert.deepStrictEqual(decodeMetricsJson(json), data);
  assert.deepStrictEqual(decodeMetricsRequest(encodeMetricsRequest(data)), data);
  await provider.shutdown();
});

Deno.test("logs from the OpenTelemetry JS SDK decode field by field", async () => {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(RESOURCE),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger("golden-logger", "3.0.0");
  logger.emit({
    timestamp: T0,
    observedTimestamp: [1700000000, 200000000],
    severityNumber: 17,
    severityText: "ERROR",
    body: { message: "disk full", free: 0, paths: ["/a", "/b"] },
    attributes: { "disk.device": "sda1", "retry": true },
    eventName: "disk.full",
  });
  logger.emit({ body: "plain text ünïcode", severityNumber: 9, timestamp: [1700000005, 0] });
  const records = exporter.getFinishedLogRecords();
  assert.equal(records.length, 2);

  const proto = ProtobufLogsSerializer.serializeRequest(records)!;
  const data = decodeLogsRequest(proto);
  assert.equal(countLogsItems(proto), 2);
  const sl = data.resourceLogs[0]!.scopeLogs[0]!;
  assert.equal(sl.scope.name, "golden-logger");
  assert.equal(sl.scope.version, "3.0.0");
  const [r1, r2] = sl.logRecords;
  assert.equal(r1!.timeUnixNano, T0_NS);
  assert.equal(r1!.observedTimeUnixNano, 1700000000200000000n);
  assert.equal(r1!.severityNumber, 17);
  assert.equal(r1!.severityText, "ERROR");
  assert.equal(r1!.eventName, "disk.full");
  assert.equal(attr(r1!.attributes, "disk.device"), "sda1");
  assert.equal(attr(r1!.attributes, "retry"), true);
  const body = r1!.body as { kvlist: KeyValue[] };
  assert.equal(attr(body.kvlist, "message"), "disk full");
  assert.deepStrictEqual(attr(body.kvlist, "paths"), ["/a", "/b"]);
  assert.equal(r2!.body, "plain text ünïcode");
  assert.equal(r2!.timeUnixNano, 1700000005000000000n);

  const json = JsonLogsSerializer.serializeRequest(records)!;
  assert.deepStrictEqual(decodeLogsJson(json), data);
  assert.deepStrictEqual(decodeLogsRequest(encodeLogsRequest(data)), data);
  await provider.shutdown();
});
