/**
 * The `span_metrics` connector on fake time: series and values, temporality, the cardinality
 * limit's overflow series, expiration, exemplars, events, adjusted counts and the config's checks.
 */
import assert from "node:assert/strict";
import { spanmetricsConfigSchema } from "../../../../components/connector/spanmetrics/config.ts";
import { createSpanmetricsConnector } from "../../../../components/connector/spanmetrics/factory.ts";
import { mapToIndex } from "../../../../components/connector/spanmetrics/_expo_histogram.ts";
import { adjustedCount } from "../../../../components/connector/spanmetrics/_adjusted_count.ts";
import { OTLP_SIGNALS } from "../../../../lib/otlp/signals.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newSpan, newSpanEvent } from "../../../../lib/pdata/new.ts";
import type {
  AnyValue,
  HistogramDataPoint,
  KeyValue,
  Metric,
  MetricsData,
  NumberDataPoint,
  Span,
  TracesData,
} from "../../../../lib/pdata/types.ts";
import { FakeClock } from "../../../fixtures/fake_clock.ts";
import { mixedTraces } from "../_span_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const MS = 1_000_000n;

function traces(service: string | undefined, spans: Span[], extra: KeyValue[] = []): TracesData {
  const attributes: KeyValue[] = service === undefined
    ? [...extra]
    : [{ key: "service.name", value: service }, ...extra];
  return {
    resourceSpans: [{
      resource: { attributes, droppedAttributesCount: 0 },
      scopeSpans: [{
        scope: { name: "lib", version: "1", attributes: [], droppedAttributesCount: 0 },
        spans,
        schemaUrl: "",
      }],
      schemaUrl: "",
    }],
  };
}

function span(name: string, ms: number, init: Partial<Span> = {}): Span {
  return newSpan({
    name,
    kind: 2,
    traceId: new Uint8Array(16).fill(1),
    spanId: new Uint8Array(8).fill(2),
    startTimeUnixNano: 1000n * MS,
    endTimeUnixNano: 1000n * MS + BigInt(Math.round(ms * 1e6)),
    ...init,
  });
}

function setup(config: Record<string, unknown>) {
  const clock = new FakeClock();
  const out: MetricsData[] = [];
  const connector = createSpanmetricsConnector(
    spanmetricsConfigSchema.parse(config),
    {
      mutatesData: false,
      consume: (p) => {
        out.push(p.read());
        return Promise.resolve();
      },
    },
    { clock, instanceId: "test-instance", random: () => 0.5 },
  );
  const send = (d: TracesData) => connector.consumers.traces!.consume(Payload.of("traces", d));
  return { clock, out, connector, send };
}

function metric(data: MetricsData | undefined, name: string): Metric | undefined {
  return data?.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
    .find((m) => m.name === name);
}

function attr(points: { attributes: KeyValue[] }, key: string): AnyValue {
  return points.attributes.find((kv) => kv.key === key)?.value;
}

function sumPoints(m: Metric | undefined): NumberDataPoint[] {
  assert.equal(m?.data?.type, "sum");
  return m.data.dataPoints;
}

Deno.test("span_metrics counts calls and durations per dimension set, the first cumulative point 0", async () => {
  const { clock, out, connector, send } = setup({
    dimensions: [{ name: "http.method", default: "GET" }],
    metrics_flush_interval: "10s",
  });
  await connector.start({} as never);
  await send(traces("checkout", [
    span("GET /a", 3),
    span("GET /a", 30, { attributes: [{ key: "http.method", value: "POST" }] }),
    span("GET /a", 7),
    span("fail", 2000, { status: { code: 2, message: "" } }),
  ]));
  await clock.advance(10_000);
  assert.equal(out.length, 1);
  const calls = sumPoints(metric(out[0], "traces.span.metrics.calls"));
  assert.equal(calls.length, 3);
  // The Collector's cumulative sums start at 0 on their first export.
  assert.deepEqual(calls.map((p) => p.value), [0n, 0n, 0n]);
  const get = calls.find((p) => attr(p, "http.method") === "GET")!;
  assert.deepEqual(get.attributes.map((kv) => kv.key), [
    "service.name",
    "span.name",
    "span.kind",
    "status.code",
    "collector.instance.id",
    "http.method",
  ]);
  assert.equal(attr(get, "span.kind"), "SPAN_KIND_SERVER");
  assert.equal(attr(get, "status.code"), "STATUS_CODE_UNSET");
  const duration = metric(out[0], "traces.span.metrics.duration")!;
  assert.equal(duration.unit, "ms");
  assert.equal(duration.data?.type, "histogram");
  const hp = (duration.data.dataPoints as HistogramDataPoint[]).find((p) =>
    attr(p, "http.method") === "GET"
  )!;
  assert.equal(hp.count, 2n);
  assert.equal(hp.sum, 10);
  assert.equal(hp.explicitBounds.length, 16);
  // 3 ms lands in (2, 4], 7 ms in (6, 8].
  assert.deepEqual(hp.bucketCounts.slice(0, 5), [0n, 1n, 0n, 1n, 0n]);
  await send(traces("checkout", [span("GET /a", 1)]));
  await clock.advance(10_000);
  const again = sumPoints(metric(out[1], "traces.span.metrics.calls"));
  assert.equal(again.find((p) => attr(p, "http.method") === "GET")!.value, 3n);
  assert.equal(again.find((p) => attr(p, "http.method") === "POST")!.value, 1n);
  assert.equal(again[0]!.startTimeUnixNano, 1_000_000n * MS);
  await connector.shutdown();
});

Deno.test("span_metrics skips spans whose resource has no service.name", async () => {
  const { clock, out, connector, send } = setup({ metrics_flush_interval: "1s" });
  await connector.start({} as never);
  await send(traces(undefined, [span("x", 1)]));
  await clock.advance(1000);
  assert.equal(out.length, 0);
  await connector.shutdown();
});

Deno.test("span_metrics with delta temporality restarts every flush and chains start times", async () => {
  const { clock, out, connector, send } = setup({
    aggregation_temporality: "AGGREGATION_TEMPORALITY_DELTA",
    metrics_flush_interval: "5s",
    histogram: { unit: "s" },
  });
  await connector.start({} as never);
  await send(traces("a", [span("op", 1500), span("op", 1500)]));
  await clock.advance(5000);
  await send(traces("a", [span("op", 1)]));
  await clock.advance(5000);
  assert.equal(out.length, 2);
  const first = sumPoints(metric(out[0], "traces.span.metrics.calls"));
  const second = sumPoints(metric(out[1], "traces.span.metrics.calls"));
  assert.equal(first[0]!.value, 2n);
  assert.equal(second[0]!.value, 1n);
  assert.equal(second[0]!.startTimeUnixNano, first[0]!.timeUnixNano);
  const d = metric(out[0], "traces.span.metrics.duration")!;
  assert.equal(d.unit, "s");
  assert.equal((d.data!.dataPoints[0] as HistogramDataPoint).sum, 3);
  await connector.shutdown();
});

Deno.test("span_metrics keeps 100,000 distinct values at the cardinality limit plus one overflow series; expired series disappear", async () => {
  const { clock, out, connector, send } = setup({
    dimensions: [{ name: "user.id" }],
    aggregation_cardinality_limit: 1000,
    metrics_flush_interval: "10s",
    metrics_expiration: "30s",
    series_expiration: "20s",
  });
  await connector.start({} as never);
  for (let batch = 0; batch < 100; batch++) {
    const spans: Span[] = [];
    for (let i = 0; i < 1000; i++) {
      spans.push(
        span("op", 5, { attributes: [{ key: "user.id", value: `u${batch * 1000 + i}` }] }),
      );
    }
    await send(traces("svc", spans));
  }
  await clock.advance(10_000);
  for (const name of ["traces.span.metrics.calls", "traces.span.metrics.duration"]) {
    const points = metric(out[0], name)!.data!.dataPoints as { attributes: KeyValue[] }[];
    assert.equal(points.length, 1001, name);
    const overflow = points.filter((p) => attr(p, "otel.metric.overflow") === true);
    assert.equal(overflow.length, 1);
    assert.deepEqual(overflow[0]!.attributes, [{ key: "otel.metric.overflow", value: true }]);
  }
  const hist = metric(out[0], "traces.span.metrics.duration")!.data!
    .dataPoints as HistogramDataPoint[];
  const over = hist.find((p) => attr(p, "otel.metric.overflow") === true)!;
  assert.equal(over.count, 99_000n);
  // Keep one series alive; the rest see nothing for longer than series_expiration.
  await clock.advance(5_000);
  await send(traces("svc", [span("op", 5, { attributes: [{ key: "user.id", value: "u0" }] })]));
  await clock.advance(5_000);
  assert.equal(metric(out[1], "traces.span.metrics.calls")!.data!.dataPoints.length, 1001);
  await clock.advance(10_000);
  const latest = out.at(-1)!;
  const alive = metric(latest, "traces.span.metrics.calls")!.data!.dataPoints as NumberDataPoint[];
  assert.equal(alive.length, 1);
  assert.equal(attr(alive[0]!, "user.id"), "u0");
  assert.equal(alive[0]!.value, 2n);
  // Then nothing: u0 is still sent at 40 s, expires after it, and the resource goes at 50 s
  // (metrics_expiration); a resource without series sends nothing.
  const sent = out.length;
  await clock.advance(40_000);
  assert.equal(out.length, sent + 1);
  assert.equal(
    attr(sumPoints(metric(out.at(-1), "traces.span.metrics.calls"))[0]!, "user.id"),
    "u0",
  );
  await connector.shutdown();
});

Deno.test("span_metrics overflow frees room only through expiry, never past the limit", async () => {
  const { clock, out, connector, send } = setup({
    dimensions: [{ name: "k" }],
    aggregation_cardinality_limit: 2,
    metrics_flush_interval: "1s",
    histogram: { disable: true },
  });
  await connector.start({} as never);
  await send(
    traces(
      "s",
      ["a", "b", "c", "d"].map((v) => span("op", 1, { attributes: [{ key: "k", value: v }] })),
    ),
  );
  await clock.advance(1000);
  const points = sumPoints(metric(out[0], "traces.span.metrics.calls"));
  assert.equal(points.length, 3);
  assert.equal(metric(out[0], "traces.span.metrics.duration"), undefined);
  await connector.shutdown();
});

Deno.test("span_metrics exemplars, events, namespace and exclude_dimensions", async () => {
  const { clock, out, connector, send } = setup({
    namespace: "",
    exclude_dimensions: ["span.kind", "collector.instance.id"],
    exemplars: { enabled: true, max_per_data_point: 2 },
    events: { enabled: true, dimensions: [{ name: "exception.type" }] },
    metrics_flush_interval: "1s",
  });
  await connector.start({} as never);
  const ev = (t: string) =>
    newSpanEvent({ name: "exception", attributes: [{ key: "exception.type", value: t }] });
  await send(traces("s", [
    span("op", 1, { events: [ev("IOError"), ev("IOError"), ev("Timeout")] }),
    span("op", 1),
    span("op", 1),
  ]));
  await clock.advance(1000);
  const calls = sumPoints(metric(out[0], "calls"));
  assert.equal(calls.length, 1);
  assert.equal(attr(calls[0]!, "span.kind"), undefined);
  assert.equal(attr(calls[0]!, "collector.instance.id"), undefined);
  assert.equal(calls[0]!.exemplars.length, 2);
  assert.equal(calls[0]!.exemplars[0]!.timeUnixNano, calls[0]!.timeUnixNano);
  const events = sumPoints(metric(out[0], "events"));
  // First cumulative point is 0; the counts come with the next flush.
  assert.deepEqual(events.map((p) => attr(p, "exception.type")).sort(), ["IOError", "Timeout"]);
  await clock.advance(1000);
  const events2 = sumPoints(metric(out[1], "events"));
  assert.equal(events2.find((p) => attr(p, "exception.type") === "IOError")!.value, 2n);
  assert.equal(
    sumPoints(metric(out[1], "calls"))[0]!.exemplars.length,
    0,
    "exemplars are per flush",
  );
  await connector.shutdown();
});

Deno.test("span_metrics counts a sampled span by its tracestate threshold", async () => {
  assert.deepEqual(adjustedCount("ot=th:8", () => 0.9), { count: 2, adjusted: true });
  assert.deepEqual(adjustedCount("ot=th:c", () => 0.9), { count: 4, adjusted: true });
  assert.deepEqual(adjustedCount("vendor=x", () => 0.9), { count: 1, adjusted: false });
  assert.deepEqual(adjustedCount("ot=th:XYZ", () => 0.9), { count: 1, adjusted: false });
  // 2^56 / (2^56 - 0x4…) = 4/3: rounds up with probability 1/3.
  assert.equal(adjustedCount("ot=th:4", () => 0.1).count, 2);
  assert.equal(adjustedCount("ot=th:4", () => 0.5).count, 1);
  const { clock, out, connector, send } = setup({
    aggregation_temporality: "AGGREGATION_TEMPORALITY_DELTA",
    metrics_flush_interval: "1s",
  });
  await connector.start({} as never);
  await send(traces("s", [span("op", 1, { traceState: "ot=th:8" }), span("op", 1)]));
  await clock.advance(1000);
  assert.equal(sumPoints(metric(out[0], "traces.span.metrics.calls"))[0]!.value, 3n);
  await connector.shutdown();
});

Deno.test("span_metrics exponential histograms map exactly at powers of two and downscale to max_size", async () => {
  assert.equal(mapToIndex(1, 20), -1);
  assert.equal(mapToIndex(2, 0), 0);
  assert.equal(mapToIndex(3, 0), 1);
  assert.equal(mapToIndex(4, -1), 0);
  const { clock, out, connector, send } = setup({
    histogram: { exponential: { max_size: 10 } },
    aggregation_temporality: "AGGREGATION_TEMPORALITY_DELTA",
    metrics_flush_interval: "1s",
  });
  await connector.start({} as never);
  await send(traces("s", [span("op", 1), span("op", 1000), span("op", 0)]));
  await clock.advance(1000);
  const m = metric(out[0], "traces.span.metrics.duration")!;
  assert.equal(m.data?.type, "exponentialHistogram");
  const dp = m.data.dataPoints[0]!;
  assert.equal(dp.count, 3n);
  assert.equal(dp.zeroCount, 1n);
  assert.equal(dp.min, 0);
  assert.equal(dp.max, 1000);
  assert.ok(dp.positive.bucketCounts.length <= 10);
  assert.equal(dp.positive.bucketCounts.reduce((a, b) => a + b, 0n), 2n);
  // Fewer than 10 buckets from 1 to 1000: scale 0 puts them at -1 and 9, so scale -1.
  assert.equal(dp.scale, -1);
  assert.equal(dp.positive.offset, -1);
  assert.deepEqual(dp.positive.bucketCounts, [1n, 0n, 0n, 0n, 0n, 1n]);
  await connector.shutdown();
});

Deno.test("span_metrics config: the Collector's checks", () => {
  const issues = (c: unknown) => {
    const r = spanmetricsConfigSchema.safeParse(c);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  assert.deepEqual(issues({}), []);
  const d = spanmetricsConfigSchema.parse({});
  assert.equal(d.namespace, "traces.span.metrics");
  assert.equal(d.metrics_flush_interval, 60_000);
  assert.equal(d.histogram.unit, "ms");
  assert.equal(d.exemplars.max_per_data_point, 5);
  assert.match(issues({ dimensions: [{ name: "span.kind" }] })[0]!, /duplicate dimension name/);
  assert.match(issues({ dimensions: [{ name: "a", glob: "b" }] })[0]!, /only one of/);
  assert.match(issues({ dimensions: [{ glob: "http.*", default: "x" }] })[0]!, /default/);
  assert.match(issues({ dimensions: [{ name: "http.x" }, { glob: "http.*" }] })[0]!, /glob/);
  assert.match(
    issues({ histogram: { explicit: { buckets: ["1ms"] }, exponential: {} } })[0]!,
    /either/,
  );
  assert.match(issues({ events: { enabled: true } })[0]!, /no dimensions/);
  assert.match(issues({ aggregation_temporality: "delta" })[0]!, /AGGREGATION_TEMPORALITY/);
  assert.match(issues({ unknown_key: 1 })[0]!, /unknown_key|Unrecognized/);
  assert.match(issues({ aggregation_cardinality_limit: -1 })[0]!, /negative/);
});

Deno.test("span_metrics glob dimensions take sorted span attributes, then resource attributes", async () => {
  const { clock, out, connector, send } = setup({
    dimensions: [{ glob: "http.*" }],
    metrics_flush_interval: "1s",
    histogram: { disable: true },
  });
  await connector.start({} as never);
  await send(traces("s", [
    span("op", 1, {
      attributes: [
        { key: "http.route", value: "/x" },
        { key: "http.method", value: "GET" },
        { key: "http.request.header.x", value: "no" },
      ],
    }),
  ], [{ key: "http.host", value: "h" }]));
  await clock.advance(1000);
  const p = sumPoints(metric(out[0], "traces.span.metrics.calls"))[0]!;
  assert.deepEqual(p.attributes.slice(5).map((kv) => kv.key), [
    "http.method",
    "http.route",
    "http.host",
  ]);
  await connector.shutdown();
});

Deno.test("span_metrics gives the same metrics from an encoded payload (pruned read) as from decoded data", async () => {
  const configs = [
    {},
    {
      dimensions: [{ name: "http.method" }, { name: "host.name" }, {
        name: "missing",
        default: "d",
      }],
    },
    {
      calls_dimensions: [{ name: "http.status_code" }],
      histogram: { dimensions: [{ name: "db.system" }] },
    },
    { include_instrumentation_scope: ["io.opentelemetry.http"], exemplars: { enabled: true } },
    { resource_metrics_key_attributes: ["host.name"], histogram: { exponential: {} } },
  ];
  for (const config of configs) {
    const run = async (encoded: boolean) => {
      const { clock, out, connector } = setup({
        ...config,
        aggregation_temporality: "AGGREGATION_TEMPORALITY_DELTA",
        metrics_flush_interval: "1s",
      });
      await connector.start({} as never);
      const data = mixedTraces();
      const payload = encoded
        ? Payload.fromProto(
          "traces",
          OTLP_SIGNALS.traces.encodeProto(data),
          OTLP_SIGNALS.traces.proto,
        )
        : Payload.of("traces", data);
      await connector.consumers.traces!.consume(payload);
      await clock.advance(1000);
      await connector.shutdown();
      return OTLP_SIGNALS.metrics.encodeProto(out[0]!);
    };
    assert.deepEqual(await run(true), await run(false), JSON.stringify(config));
  }
});

Deno.test("span_metrics holds at most resource_metrics_cache_size resources plus as many evicted ones", async () => {
  const { clock, out, connector, send } = setup({
    resource_metrics_cache_size: 100,
    metrics_flush_interval: "1s",
    histogram: { disable: true },
  });
  await connector.start({} as never);
  for (let i = 0; i < 5000; i++) {
    await send(traces("svc", [span("op", 1)], [{ key: "pod", value: `p${i}` }]));
  }
  await clock.advance(1000);
  assert.equal(out[0]!.resourceMetrics.length, 200);
  // After the flush the evicted ones are gone: the 100 most recent remain.
  await clock.advance(1000);
  const pods = out[1]!.resourceMetrics.map((rm) =>
    rm.resource.attributes.find((kv) => kv.key === "pod")?.value
  );
  assert.equal(pods.length, 100);
  assert.ok(pods.includes("p4999") && !pods.includes("p0"));
  await connector.shutdown();
});
