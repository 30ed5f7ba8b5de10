import assert from "node:assert/strict";
import type { CreateSettings, Exporter } from "../../../../components/component.ts";
import { debugFactory, loggingFactory } from "../../../../components/exporter/debug/factory.ts";
import {
  type DebugConfig,
  debugConfigSchema,
  loggingConfigSchema,
} from "../../../../components/exporter/debug/config.ts";
import { createSampler } from "../../../../components/exporter/debug/_sampler.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { encodeLogsRequest, LOGS_PROTO } from "../../../../lib/otlp/logs_proto.ts";
import { encodeMetricsRequest, METRICS_PROTO } from "../../../../lib/otlp/metrics_proto.ts";
import { encodeTracesRequest, TRACES_PROTO } from "../../../../lib/otlp/traces_proto.ts";
import {
  newLogRecord,
  newResource,
  newScope,
  newSpan,
  newSpanEvent,
  newSpanLink,
} from "../../../../lib/pdata/new.ts";
import {
  AggregationTemporality,
  type LogsData,
  type MetricsData,
  SpanKind,
  StatusCode,
  type TracesData,
} from "../../../../lib/pdata/types.ts";
import { createLogger } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const T0 = 1700000000123456789n;
const TRACE_ID = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const SPAN_ID = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]);
const PARENT_ID = Uint8Array.from([0xca, 0xfe, 0xba, 0xbe, 4, 5, 6, 7]);

function traces(spanCount: number): TracesData {
  const resource = newResource({ attributes: [{ key: "service.name", value: "checkout" }] });
  const spans = Array.from({ length: spanCount }, (_, i) =>
    newSpan({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      parentSpanId: i === 0 ? new Uint8Array() : PARENT_ID,
      name: `span-${i}`,
      kind: SpanKind.SERVER,
      startTimeUnixNano: T0,
      endTimeUnixNano: T0 + 1_000_000n,
      attributes: [
        { key: "http.route", value: "/pay" },
        { key: "http.status_code", value: 200n },
        { key: "retry", value: false },
      ],
      status: { code: StatusCode.ERROR, message: "declined" },
    }));
  spans[0]!.events.push(newSpanEvent({
    name: "exception",
    timeUnixNano: T0 + 5n,
    attributes: [{ key: "exception.message", value: "no funds" }],
  }));
  spans[0]!.links.push(newSpanLink({ traceId: TRACE_ID, spanId: PARENT_ID, traceState: "k=v" }));
  return {
    resourceSpans: [{
      resource,
      schemaUrl: "https://opentelemetry.io/schemas/1.21.0",
      scopeSpans: [{ scope: newScope({ name: "shop", version: "1.2.0" }), spans, schemaUrl: "" }],
    }],
  };
}

function metrics(): MetricsData {
  return {
    resourceMetrics: [{
      resource: newResource({ attributes: [{ key: "host.name", value: "box" }] }),
      schemaUrl: "",
      scopeMetrics: [{
        scope: newScope({ name: "meter" }),
        schemaUrl: "",
        metrics: [
          {
            name: "requests",
            description: "Requests served",
            unit: "1",
            metadata: [],
            data: {
              type: "sum",
              isMonotonic: true,
              aggregationTemporality: AggregationTemporality.CUMULATIVE,
              dataPoints: [
                {
                  attributes: [{ key: "code", value: 200n }],
                  startTimeUnixNano: T0,
                  timeUnixNano: T0 + 10n,
                  value: 42n,
                  exemplars: [],
                  flags: 0,
                },
                {
                  attributes: [{ key: "code", value: 500n }],
                  startTimeUnixNano: T0,
                  timeUnixNano: T0 + 10n,
                  value: 3n,
                  exemplars: [],
                  flags: 0,
                },
              ],
            },
          },
          {
            name: "latency",
            description: "",
            unit: "ms",
            metadata: [],
            data: {
              type: "histogram",
              aggregationTemporality: AggregationTemporality.DELTA,
              dataPoints: [{
                attributes: [],
                startTimeUnixNano: T0,
                timeUnixNano: T0 + 10n,
                count: 3n,
                sum: 7.5,
                bucketCounts: [1n, 2n, 0n],
                explicitBounds: [1, 5],
                exemplars: [],
                flags: 0,
                min: 0.5,
                max: 4,
              }],
            },
          },
        ],
      }],
    }],
  };
}

function logs(): LogsData {
  return {
    resourceLogs: [{
      resource: newResource({ attributes: [{ key: "service.name", value: "auth" }] }),
      schemaUrl: "",
      scopeLogs: [{
        scope: newScope({ name: "auth.logger" }),
        schemaUrl: "",
        logRecords: [
          newLogRecord({
            timeUnixNano: T0,
            observedTimeUnixNano: T0 + 1n,
            severityNumber: 17,
            severityText: "ERROR",
            body: "login failed",
            attributes: [
              { key: "user", value: "ann" },
              { key: "attempts", value: 3n },
              { key: "ratio", value: 1.5 },
              { key: "raw", value: Uint8Array.from([1, 2, 3]) },
              { key: "tags", value: ["a", 1n] },
              { key: "ctx", value: { kvlist: [{ key: "ip", value: "10.0.0.1" }] } },
              { key: "nothing", value: undefined },
            ],
            traceId: TRACE_ID,
            spanId: SPAN_ID,
          }),
          newLogRecord({ body: "second", severityNumber: 10 }),
        ],
      }],
    }],
  };
}

/** A debug exporter whose log lines (JSON) the test reads. */
function capture(config: unknown, factory: typeof debugFactory = debugFactory) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ write: (line) => lines.push(JSON.parse(line)) });
  const settings: CreateSettings<DebugConfig> = {
    id: factory.type,
    config: factory.configSchema.parse(config),
    logger,
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  };
  const exporter: Exporter = factory.create(settings, ["traces", "metrics", "logs"]);
  return { exporter, lines };
}

Deno.test("debug exporter at basic verbosity logs one line of counts per batch", async () => {
  const { exporter, lines } = capture({});
  await exporter.start({ getExtension: () => undefined, status: () => "running" });
  await exporter.consumers.traces!.consume(Payload.of("traces", traces(5)));
  await exporter.consumers.metrics!.consume(Payload.of("metrics", metrics()));
  await exporter.consumers.logs!.consume(Payload.of("logs", logs()));
  await exporter.shutdown();
  const strip = (l: Record<string, unknown>) => {
    const { ts: _ts, ...rest } = l;
    return rest;
  };
  assert.deepEqual(lines.map(strip), [
    { level: "info", msg: "Traces", "resource spans": 1, spans: 5 },
    { level: "info", msg: "Metrics", "resource metrics": 1, metrics: 2, "data points": 3 },
    { level: "info", msg: "Logs", "resource logs": 1, "log records": 2 },
  ]);
});

Deno.test("debug exporter at basic verbosity counts encoded requests, and a later full read still gets every field", async () => {
  const { exporter, lines } = capture({});
  await exporter.start({ getExtension: () => undefined, status: () => "running" });
  const encoded = {
    traces: Payload.fromProto("traces", encodeTracesRequest(traces(5)), TRACES_PROTO),
    metrics: Payload.fromProto("metrics", encodeMetricsRequest(metrics()), METRICS_PROTO),
    logs: Payload.fromProto("logs", encodeLogsRequest(logs()), LOGS_PROTO),
  };
  await exporter.consumers.traces!.consume(encoded.traces);
  await exporter.consumers.metrics!.consume(encoded.metrics);
  await exporter.consumers.logs!.consume(encoded.logs);
  await exporter.shutdown();
  assert.deepEqual(lines.map(({ ts: _ts, ...rest }) => rest), [
    { level: "info", msg: "Traces", "resource spans": 1, spans: 5 },
    { level: "info", msg: "Metrics", "resource metrics": 1, metrics: 2, "data points": 3 },
    { level: "info", msg: "Logs", "resource logs": 1, "log records": 2 },
  ]);
  // Counting (a structure-only decode) kept the bytes they came as and fills in on a full read.
  assert.deepEqual(encoded.traces.encodedProto, encodeTracesRequest(traces(5)));
  assert.deepEqual(
    encoded.traces.read().resourceSpans[0]!.scopeSpans[0]!.spans,
    traces(5).resourceSpans[0]!.scopeSpans[0]!.spans,
  );
});

Deno.test("debug exporter never changes data and declares so", () => {
  const { exporter } = capture({});
  for (const consumer of Object.values(exporter.consumers)) {
    assert.equal(consumer.mutatesData, false);
  }
});

Deno.test("debug exporter at normal verbosity logs a line per span, data point and record", async () => {
  const { exporter, lines } = capture({ verbosity: "normal" });
  await exporter.consumers.traces!.consume(Payload.of("traces", traces(2)));
  await exporter.consumers.metrics!.consume(Payload.of("metrics", metrics()));
  await exporter.consumers.logs!.consume(Payload.of("logs", logs()));
  assert.equal(lines.length, 6);
  assert.equal(lines[0]!.msg, "Traces");
  assert.equal(
    lines[1]!.msg,
    [
      "ResourceSpans #0 service.name=checkout",
      "ScopeSpans #0 shop@1.2.0",
      "span-0 0102030405060708090a0b0c0d0e0f10 deadbeef00010203 http.route=/pay " +
      "http.status_code=200 retry=false",
      "span-1 0102030405060708090a0b0c0d0e0f10 deadbeef00010203 http.route=/pay " +
      "http.status_code=200 retry=false",
    ].join("\n"),
  );
  assert.equal(
    lines[3]!.msg,
    [
      "ResourceMetrics #0 host.name=box",
      "ScopeMetrics #0 meter",
      "requests{code=200} 42",
      "requests{code=500} 3",
      "latency count=3 sum=7.5 min=0.5 max=4 le1=1 le5=2 le+Inf=0",
    ].join("\n"),
  );
  assert.equal(
    lines[5]!.msg,
    [
      "ResourceLog #0 service.name=auth",
      "ScopeLog #0 auth.logger",
      'login failed user=ann attempts=3 ratio=1.5 raw=AQID tags=["a",1] ctx={"ip":"10.0.0.1"} ' +
      "nothing=",
      "second",
    ].join("\n"),
  );
});

Deno.test("debug exporter at detailed verbosity logs every field of spans", async () => {
  const { exporter, lines } = capture({ verbosity: "detailed" });
  await exporter.consumers.traces!.consume(Payload.of("traces", traces(1)));
  assert.equal(lines.length, 2);
  assert.equal(
    lines[1]!.msg,
    [
      "ResourceSpans #0",
      "Resource SchemaURL: https://opentelemetry.io/schemas/1.21.0",
      "Resource attributes:",
      "     -> service.name: Str(checkout)",
      "ScopeSpans #0",
      "ScopeSpans SchemaURL: ",
      "InstrumentationScope shop 1.2.0",
      "Span #0",
      "    Trace ID       : 0102030405060708090a0b0c0d0e0f10",
      "    Parent ID      : ",
      "    ID             : deadbeef00010203",
      "    Name           : span-0",
      "    Kind           : Server",
      "    Start time     : 2023-11-14T22:13:20.123456789Z (1700000000123456789)",
      "    End time       : 2023-11-14T22:13:20.124456789Z (1700000000124456789)",
      "    Status code    : Error",
      "    Status message : declined",
      "Attributes:",
      "     -> http.route: Str(/pay)",
      "     -> http.status_code: Int(200)",
      "     -> retry: Bool(false)",
      "Events:",
      "SpanEvent #0",
      "     -> Name: exception",
      "     -> Timestamp: 2023-11-14T22:13:20.123456794Z (1700000000123456794)",
      "     -> DroppedAttributesCount: 0",
      "     -> Attributes:",
      "          -> exception.message: Str(no funds)",
      "Links:",
      "SpanLink #0",
      "     -> Trace ID: 0102030405060708090a0b0c0d0e0f10",
      "     -> ID: cafebabe04050607",
      "     -> TraceState: k=v",
      "     -> DroppedAttributesCount: 0",
    ].join("\n"),
  );
});

Deno.test("debug exporter at detailed verbosity shows every attribute value kind in logs", async () => {
  const { exporter, lines } = capture({ verbosity: "detailed" });
  await exporter.consumers.logs!.consume(Payload.of("logs", logs()));
  const text = lines[1]!.msg as string;
  assert.ok(text.startsWith("ResourceLog #0\nResource SchemaURL: \nResource attributes:\n"));
  for (
    const expected of [
      "InstrumentationScope auth.logger",
      "LogRecord #0",
      "ObservedTimestamp: 2023-11-14T22:13:20.123456790Z (1700000000123456790)",
      "Timestamp: 2023-11-14T22:13:20.123456789Z (1700000000123456789)",
      "SeverityText: ERROR",
      "SeverityNumber: Error(17)",
      "Body: Str(login failed)",
      "     -> user: Str(ann)",
      "     -> attempts: Int(3)",
      "     -> ratio: Double(1.5)",
      "     -> raw: Bytes(AQID)",
      '     -> tags: Slice(["a",1])',
      '     -> ctx: Map({"ip":"10.0.0.1"})',
      "     -> nothing: Empty()",
      "Trace ID: 0102030405060708090a0b0c0d0e0f10",
      "Span ID: deadbeef00010203",
      "LogRecord #1",
      "Timestamp: 1970-01-01T00:00:00.000000000Z (0)",
      "SeverityNumber: Info2(10)",
    ]
  ) {
    assert.ok(text.split("\n").includes(expected), `missing line ${expected} in:\n${text}`);
  }
});

Deno.test("debug exporter at detailed verbosity shows metric descriptors and points", async () => {
  const { exporter, lines } = capture({ verbosity: "detailed" });
  await exporter.consumers.metrics!.consume(Payload.of("metrics", metrics()));
  const text = (lines[1]!.msg as string).split("\n");
  for (
    const expected of [
      "Metric #0",
      "     -> Name: requests",
      "     -> DataType: Sum",
      "     -> IsMonotonic: true",
      "     -> AggregationTemporality: Cumulative",
      "NumberDataPoints #1",
      "     -> code: Int(500)",
      "Value: 3",
      "     -> DataType: Histogram",
      "     -> AggregationTemporality: Delta",
      "HistogramDataPoints #0",
      "Count: 3",
      "Sum: 7.5",
      "Min: 0.5",
      "Max: 4",
      "ExplicitBounds #1: 5",
      "Buckets #2, Count: 0",
    ]
  ) {
    assert.ok(text.includes(expected), `missing line ${expected} in:\n${text.join("\n")}`);
  }
});

Deno.test("debug exporter samples: the first batches of a second, then every n-th", async () => {
  const { exporter, lines } = capture({ sampling_initial: 2, sampling_thereafter: 3 });
  for (let i = 0; i < 8; i++) {
    await exporter.consumers.traces!.consume(Payload.of("traces", traces(i + 1)));
  }
  // Batch sizes 1..8: batches 1 and 2 pass, then the 3rd after them (5) and the 6th (8).
  assert.deepEqual(lines.map((l) => l.spans), [1, 2, 5, 8]);
});

Deno.test("debug sampler starts over each second and keeps signals apart", () => {
  let now = 0;
  const sample = createSampler(1, 0, () => now);
  assert.deepEqual([sample("traces"), sample("traces"), sample("logs")], [true, false, true]);
  now = 999;
  assert.equal(sample("traces"), false);
  now = 1000;
  assert.equal(sample("traces"), true);
});

Deno.test("debug exporter config has the Collector's defaults and rejects unknown keys", () => {
  assert.deepEqual(debugConfigSchema.parse({}), {
    verbosity: "basic",
    sampling_initial: 2,
    sampling_thereafter: 1,
    use_internal_logger: true,
  });
  assert.equal(debugConfigSchema.safeParse({ verbosity: "loud" }).success, false);
  assert.equal(debugConfigSchema.safeParse({ loglevel: "info" }).success, false);
});

Deno.test("logging exporter maps loglevel to verbosity and refuses both at once", async () => {
  assert.equal(loggingConfigSchema.parse({}).verbosity, "normal");
  assert.equal(loggingConfigSchema.parse({}).sampling_thereafter, 500);
  assert.equal(loggingConfigSchema.parse({ loglevel: "debug" }).verbosity, "detailed");
  assert.equal(loggingConfigSchema.parse({ loglevel: "warn" }).verbosity, "basic");
  assert.equal(loggingConfigSchema.parse({ verbosity: "basic" }).verbosity, "basic");
  const both = loggingConfigSchema.safeParse({ loglevel: "info", verbosity: "basic" });
  assert.equal(both.success, false);
  assert.match(both.error!.issues[0]!.message, /incompatible/);

  const { exporter, lines } = capture({ loglevel: "info" }, loggingFactory);
  assert.equal(lines[0]!.level, "warn");
  assert.match(lines[0]!.msg as string, /deprecated/);
  await exporter.consumers.traces!.consume(Payload.of("traces", traces(1)));
  assert.equal(lines[1]!.msg, "Traces");
  assert.match(lines[2]!.msg as string, /^ResourceSpans #0 service.name=checkout\n/);
});
