/**
 * The prometheus exporter's state, driven directly: deltas accumulated into cumulative series by
 * the Collector's rules, stale points ignored, expiration, type conflicts, labels, target_info and
 * content negotiation. The scrape is parsed back with tfo's own exposition parser.
 */
import assert from "node:assert/strict";
import {
  createPrometheusState,
  negotiate,
} from "../../../../components/exporter/prometheus/factory.ts";
import {
  type PrometheusExporterConfig,
  prometheusExporterConfigSchema,
} from "../../../../components/exporter/prometheus/config.ts";
import { parseExposition } from "../../../../lib/prometheus/mod.ts";
import type { Sample } from "../../../../lib/prometheus/types.ts";
import {
  newHistogramDataPoint,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
} from "../../../../lib/pdata/new.ts";
import type { KeyValue, Metric, MetricsData } from "../../../../lib/pdata/types.ts";
import { AggregationTemporality } from "../../../../lib/pdata/types.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;

function config(extra: Record<string, unknown> = {}): PrometheusExporterConfig {
  return prometheusExporterConfigSchema.parse({ endpoint: "127.0.0.1:0", ...extra });
}

const RESOURCE: KeyValue[] = [
  { key: "service.name", value: "svc" },
  { key: "service.instance.id", value: "i1" },
  { key: "host.name", value: "h" },
];

function batch(metrics: Metric[], resource: KeyValue[] = RESOURCE): MetricsData {
  return {
    resourceMetrics: [{
      resource: newResource({ attributes: resource }),
      schemaUrl: "",
      scopeMetrics: [{ scope: newScope({ name: "lib", version: "1" }), schemaUrl: "", metrics }],
    }],
  };
}

function deltaSum(value: number, start: bigint, time: bigint, monotonic = true): Metric {
  return newMetric({
    name: "jobs",
    data: {
      type: "sum",
      aggregationTemporality: AggregationTemporality.DELTA,
      isMonotonic: monotonic,
      dataPoints: [newNumberDataPoint({ startTimeUnixNano: start, timeUnixNano: time, value })],
    },
  });
}

function samples(body: string): Sample[] {
  return parseExposition(body, "text").samples;
}

function valueOf(body: string, name: string, le?: string): number | undefined {
  return samples(body).find((s) =>
    s.name === name && (le === undefined || s.labels.some((l) => l.name === "le" && l.value === le))
  )?.value;
}

Deno.test("monotonic delta sums add up while each point starts where the last ended", () => {
  const state = createPrometheusState(config());
  state.consume(batch([deltaSum(5, T0, T0 + 10n * S)]));
  state.consume(batch([deltaSum(7, T0 + 10n * S, T0 + 20n * S)]));
  assert.equal(valueOf(state.scrape(null).body as string, "jobs_total"), 12);
  // A gap in start time is a reset: the series starts over from the point.
  state.consume(batch([deltaSum(3, T0 + 25n * S, T0 + 30n * S)]));
  assert.equal(valueOf(state.scrape(null).body as string, "jobs_total"), 3);
  // A point older than the stored one is ignored.
  state.consume(batch([deltaSum(100, T0, T0 + 5n * S)]));
  assert.equal(valueOf(state.scrape(null).body as string, "jobs_total"), 3);
});

Deno.test("non-monotonic delta sums are refused and counted", () => {
  const drops: string[] = [];
  const state = createPrometheusState(config(), { onDrop: (reason) => drops.push(reason) });
  state.consume(batch([deltaSum(5, T0, T0 + S, false)]));
  assert.equal(state.size, 0);
  assert.deepEqual(drops, ["non_monotonic_delta"]);
  assert.ok(!(state.scrape(null).body as string).includes("jobs"));
});

function deltaHistogram(start: bigint, time: bigint, counts: bigint[], bounds = [1, 5]): Metric {
  const count = counts.reduce((a, b) => a + b, 0n);
  return newMetric({
    name: "lat",
    unit: "s",
    data: {
      type: "histogram",
      aggregationTemporality: AggregationTemporality.DELTA,
      dataPoints: [newHistogramDataPoint({
        startTimeUnixNano: start,
        timeUnixNano: time,
        count,
        sum: Number(count),
        bucketCounts: counts,
        explicitBounds: bounds,
      })],
    },
  });
}

Deno.test("delta histograms merge bucket by bucket; misaligned points are dropped", () => {
  const drops: string[] = [];
  const state = createPrometheusState(config(), { onDrop: (reason) => drops.push(reason) });
  state.consume(batch([deltaHistogram(T0, T0 + S, [1n, 2n, 3n])]));
  state.consume(batch([deltaHistogram(T0 + S, T0 + 2n * S, [10n, 20n, 30n])]));
  let body = state.scrape(null).body as string;
  assert.equal(valueOf(body, "lat_seconds_bucket", "1"), 11);
  assert.equal(valueOf(body, "lat_seconds_bucket", "5"), 33);
  assert.equal(valueOf(body, "lat_seconds_bucket", "+Inf"), 66);
  assert.equal(valueOf(body, "lat_seconds_count"), 66);
  assert.equal(valueOf(body, "lat_seconds_sum"), 66);
  // Starting inside the stored window: misaligned.
  state.consume(batch([deltaHistogram(T0 + S, T0 + 3n * S, [1n, 1n, 1n])]));
  assert.deepEqual(drops, ["misaligned_delta"]);
  // Starting after it: a reset.
  state.consume(batch([deltaHistogram(T0 + 5n * S, T0 + 6n * S, [1n, 0n, 0n])]));
  body = state.scrape(null).body as string;
  assert.equal(valueOf(body, "lat_seconds_count"), 1);
});

Deno.test("series expire metric_expiration after their last update", () => {
  let now = 1_000_000;
  const state = createPrometheusState(config({ metric_expiration: "1m" }), { now: () => now });
  const gauge = (name: string, v: number) =>
    newMetric({
      name,
      data: { type: "gauge", dataPoints: [newNumberDataPoint({ timeUnixNano: T0, value: v })] },
    });
  state.consume(batch([gauge("a", 1), gauge("b", 2)]));
  now += 40_000;
  state.consume(batch([gauge("b", 3)]));
  now += 30_000;
  const body = state.scrape(null).body as string;
  assert.equal(valueOf(body, "a"), undefined, "a expired");
  assert.equal(valueOf(body, "b"), 3);
  now += 61_000;
  state.sweep();
  assert.equal(state.size, 0);
});

Deno.test("labels: attributes sanitized, collisions joined with ;, scope, job, const labels", () => {
  const state = createPrometheusState(config({ const_labels: { env: "dev" } }));
  state.consume(batch([newMetric({
    name: "g",
    data: {
      type: "gauge",
      dataPoints: [newNumberDataPoint({
        timeUnixNano: T0,
        value: 1,
        attributes: [{ key: "a.b", value: "x" }, { key: "a_b", value: "y" }, {
          key: "n",
          value: 2n,
        }],
      })],
    },
  })]));
  const body = state.scrape(null).body as string;
  const g = samples(body).find((s) => s.name === "g")!;
  assert.deepEqual(Object.fromEntries(g.labels.map((l) => [l.name, l.value])), {
    a_b: "x;y",
    env: "dev",
    instance: "i1",
    job: "svc",
    n: "2",
    otel_scope_name: "lib",
    otel_scope_schema_url: "",
    otel_scope_version: "1",
  });
  const target = samples(body).find((s) => s.name === "target_info")!;
  assert.deepEqual(Object.fromEntries(target.labels.map((l) => [l.name, l.value])), {
    host_name: "h",
    instance: "i1",
    job: "svc",
  });
  const plain = createPrometheusState(config({ without_scope_info: true }));
  plain.consume(batch([newMetric({
    name: "g",
    data: { type: "gauge", dataPoints: [newNumberDataPoint({ timeUnixNano: T0, value: 1 })] },
  })], []));
  const only = samples(plain.scrape(null).body as string);
  assert.deepEqual(only.map((s) => [s.name, s.labels]), [["g", []]], "no target_info without job");
});

Deno.test("a second type under a family name is left out and counted", () => {
  const conflicts: string[] = [];
  const state = createPrometheusState(config(), { onConflict: (_r, name) => conflicts.push(name) });
  state.consume(batch([
    newMetric({
      name: "x",
      data: { type: "gauge", dataPoints: [newNumberDataPoint({ timeUnixNano: T0, value: 1 })] },
    }),
    newMetric({
      name: "x",
      data: {
        type: "sum",
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        isMonotonic: false,
        dataPoints: [newNumberDataPoint({
          timeUnixNano: T0,
          value: 2,
          attributes: [{ key: "k", value: "v" }],
        })],
      },
    }),
    newMetric({
      name: "x",
      data: {
        type: "histogram",
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPoints: [newHistogramDataPoint({ timeUnixNano: T0, count: 1n, bucketCounts: [1n] })],
      },
    }),
  ]));
  const body = state.scrape(null).body as string;
  // The gauge and the non-monotonic sum are both gauges named x; the histogram is not.
  assert.equal(samples(body).filter((s) => s.name === "x").length, 2);
  assert.deepEqual(conflicts, ["x"]);
});

Deno.test("content negotiation picks OpenMetrics only when enabled and accepted", () => {
  const prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;" +
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  assert.deepEqual(negotiate(prom, false), { format: "text" });
  assert.deepEqual(negotiate(prom, true), { format: "openmetrics", version: "1.0.0" });
  assert.deepEqual(negotiate("text/plain;q=0.9,application/openmetrics-text;version=0.0.1", true), {
    format: "openmetrics",
    version: "0.0.1",
  });
  assert.deepEqual(negotiate("text/plain", true), { format: "text" });
  assert.deepEqual(negotiate(null, true), { format: "text" });
  const state = createPrometheusState(config({ enable_open_metrics: true }));
  const om = state.scrape(prom);
  assert.match(om.contentType, /^application\/openmetrics-text; version=1\.0\.0/);
  assert.ok((om.body as string).endsWith("# EOF\n"));
});

Deno.test("the config refuses unknown keys and needs an endpoint", () => {
  assert.ok(!prometheusExporterConfigSchema.safeParse({}).success);
  assert.ok(!prometheusExporterConfigSchema.safeParse({ endpoint: ":1", cors: {} }).success);
  assert.ok(
    !prometheusExporterConfigSchema.safeParse({ endpoint: ":1", metric_expiration: "0s" }).success,
  );
  assert.ok(
    !prometheusExporterConfigSchema.safeParse({ endpoint: ":1", translation_strategy: "x" })
      .success,
  );
  const c = config();
  assert.equal(c.metric_expiration, 300_000);
  assert.equal(c.add_metric_suffixes, true);
  assert.equal(c.send_timestamps, false);
});

Deno.test("resource_constant_labels copies matching resource attributes onto series", () => {
  const state = createPrometheusState(config({
    resource_constant_labels: { included: ["host.*", "service.name"], excluded: ["host.id"] },
  }));
  const resource: KeyValue[] = [
    ...RESOURCE,
    { key: "host.id", value: "secret" },
    { key: "host.arch", value: "amd64" },
  ];
  state.consume(batch([newMetric({
    name: "g",
    data: { type: "gauge", dataPoints: [newNumberDataPoint({ timeUnixNano: T0, value: 1 })] },
  })], resource));
  const g = samples(state.scrape(null).body as string).find((s) => s.name === "g")!;
  const labels = Object.fromEntries(g.labels.map((l) => [l.name, l.value]));
  assert.equal(labels.host_name, "h");
  assert.equal(labels.host_arch, "amd64");
  assert.equal(labels.service_name, "svc");
  assert.equal(labels.host_id, undefined);
  assert.equal(labels.service_instance_id, undefined);
});
