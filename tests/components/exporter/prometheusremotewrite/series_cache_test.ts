/**
 * The remote write translation with a series cache kept between requests (as an exporter keeps
 * one) must give exactly what a fresh translation gives, request after request, while points
 * come and go, attributes arrive in another order or with other types, scopes and resources
 * change and histogram bounds differ between points.
 */
import assert from "node:assert/strict";
import { prwConfigSchema } from "../../../../components/exporter/prometheusremotewrite/config.ts";
import { translateOptions } from "../../../../components/exporter/prometheusremotewrite/factory.ts";
import {
  SeriesCache,
  translate,
  type TranslateOptions,
  type Translation,
} from "../../../../components/exporter/prometheusremotewrite/_translate.ts";
import type { AnyValue, KeyValue, Metric, MetricsData } from "../../../../lib/pdata/types.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const T = 1700000000123456789n;

function kv(entries: [string, AnyValue][]): KeyValue[] {
  return entries.map(([key, value]) => ({ key, value }));
}

function gauge(name: string, points: [KeyValue[], number, bigint][]): Metric {
  return {
    name,
    description: "",
    unit: "ms",
    metadata: [],
    data: {
      type: "gauge",
      dataPoints: points.map(([attributes, value, time]) => ({
        attributes,
        startTimeUnixNano: T - 1_000_000_000n,
        timeUnixNano: time,
        value,
        exemplars: [],
        flags: 0,
      })),
    },
  };
}

function histogram(name: string, points: [KeyValue[], number[], bigint][]): Metric {
  return {
    name,
    description: "Latency",
    unit: "s",
    metadata: [],
    data: {
      type: "histogram",
      aggregationTemporality: 2,
      dataPoints: points.map(([attributes, bounds, time]) => ({
        attributes,
        startTimeUnixNano: T - 1_000_000_000n,
        timeUnixNano: time,
        count: BigInt(bounds.length + 1),
        sum: 1.5,
        bucketCounts: [...bounds, 0].map(() => 1n),
        explicitBounds: bounds,
        exemplars: [],
        flags: 0,
      })),
    },
  };
}

function request(
  resource: [string, AnyValue][],
  scopes: { name: string; version?: string; metrics: Metric[] }[],
): MetricsData {
  return {
    resourceMetrics: [{
      resource: { attributes: kv(resource), droppedAttributesCount: 0 },
      schemaUrl: "",
      scopeMetrics: scopes.map((s) => ({
        scope: {
          name: s.name,
          version: s.version ?? "",
          attributes: [],
          droppedAttributesCount: 0,
        },
        schemaUrl: "",
        metrics: s.metrics,
      })),
    }],
  };
}

/** The translation as comparable text: each series' labels and what it carries, sorted. */
function flat(t: Translation): string[] {
  return t.series.map((s) =>
    JSON.stringify({
      labels: s.labels,
      samples: s.samples,
      histograms: s.histograms.length,
      exemplars: s.exemplars,
      metadata: s.metadata,
    })
  ).sort();
}

const SERVICE: [string, AnyValue][] = [["service.name", "shop"], ["service.instance.id", "i-1"]];

/** A sequence of requests that exercises what the cache keys on. */
function sequence(): MetricsData[] {
  const a = kv([["http.route", "/a"], ["code", 200n]]);
  const aReordered = kv([["code", 200n], ["http.route", "/a"]]);
  const aAsString = kv([["http.route", "/a"], ["code", "200"]]);
  const b = kv([["http.route", "/b"], ["code", 500n]]);
  // Keys and values whose plain concatenation would be the same.
  const tricky1 = kv([["k", "1:x"]]);
  const tricky2 = kv([["k1:", "x"]]);
  const colliding = kv([["a.b", "1"], ["a_b", "2"]]);
  return [
    request(SERVICE, [{ name: "lib", metrics: [gauge("g", [[a, 1, T], [b, 2, T]])] }]),
    // The same series again, a new time and value; b is gone.
    request(SERVICE, [{ name: "lib", metrics: [gauge("g", [[a, 3, T + 1_000_000n]])] }]),
    // The same labels from other attribute orders and types: one series, two samples.
    request(SERVICE, [{
      name: "lib",
      metrics: [gauge("g", [[aReordered, 4, T + 2_000_000n], [aAsString, 5, T + 3_000_000n]])],
    }]),
    request(SERVICE, [{
      name: "lib",
      metrics: [gauge("g", [[tricky1, 6, T], [tricky2, 7, T], [colliding, 8, T]])],
    }]),
    // Another scope, another scope version, another resource: other labels.
    request(SERVICE, [
      { name: "lib", version: "2", metrics: [gauge("g", [[a, 9, T]])] },
      { name: "other", metrics: [gauge("g", [[a, 10, T]])] },
    ]),
    request([["service.name", "cart"], ["host.name", "h1"]], [{
      name: "lib",
      metrics: [gauge("g", [[a, 11, T]])],
    }]),
    // Histograms whose points have different bounds, then the same again.
    request(SERVICE, [{
      name: "lib",
      metrics: [histogram("lat", [[a, [0.1, 1], T], [b, [0.1, 1, 10], T], [a, [0.1, 1], T + 5n]])],
    }]),
    request(SERVICE, [{ name: "lib", metrics: [histogram("lat", [[b, [0.5], T]])] }]),
    request(SERVICE, [{ name: "lib", metrics: [gauge("g", [[a, 12, T], [b, 13, T]])] }]),
  ];
}

function check(options: TranslateOptions, cache: SeriesCache): void {
  for (const [i, data] of sequence().entries()) {
    const kept = flat(translate(data, options, cache));
    const fresh = flat(translate(structuredClone(data), options));
    assert.deepEqual(kept, fresh, `request ${i}`);
  }
}

function options(input: Record<string, unknown>): TranslateOptions {
  return translateOptions(
    prwConfigSchema.parse({ endpoint: "http://127.0.0.1:1/api/v1/write", ...input }),
  );
}

Deno.test("remote write translation with a kept series cache equals a fresh one, request after request", () => {
  check(options({}), new SeriesCache());
});

Deno.test("remote write translation with a kept series cache: resource labels, no scope info, 2.0", () => {
  check(
    options({ resource_to_telemetry_conversion: { enabled: true }, disable_scope_info: true }),
    new SeriesCache(),
  );
  check(options({ protobuf_message: "io.prometheus.write.v2.Request" }), new SeriesCache());
});

Deno.test("remote write translation starts its series cache over past its limit and stays right", () => {
  const cache = new SeriesCache(3);
  check(options({}), cache);
  assert.ok(cache.size <= 3 + 20, `the cache was emptied (size ${cache.size})`);
});

Deno.test("remote write translation tells apart points whose attributes concatenate alike", () => {
  const data = request(SERVICE, [{
    name: "lib",
    metrics: [gauge("g", [
      [kv([["k", "1:x"]]), 1, T],
      [kv([["k1:", "x"]]), 2, T],
      [kv([["k", "1"], ["x", "y"]]), 3, T],
      [kv([["k", "1x"], ["", "y"]]), 4, T],
    ])],
  }]);
  const t = translate(data, options({}), new SeriesCache());
  const got = t.series.map((s) => {
    const own = s.labels.filter(([k]) =>
      !["__name__", "instance", "job"].includes(k) && !k.startsWith("otel_scope")
    );
    return `${own.map(([k, v]) => `${k}=${v}`).join(",")} ${
      s.samples.map((x) => x.value).join(",")
    }`;
  }).sort();
  assert.deepEqual(got, ["k1_=x 2", "k=1,x=y 3", "k=1:x 1"]);
  assert.equal(t.dropped, 1, "the point with an empty attribute key is dropped");
});
