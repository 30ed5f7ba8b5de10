/** Translation of scraped samples into OTLP, as the OpenTelemetry Collector translates them. */
import assert from "node:assert/strict";
import {
  FLAG_NO_RECORDED_VALUE,
  type ScrapedSample,
  ScrapeTranslator,
} from "../../../../components/receiver/prometheus/_to_otlp.ts";
import { parseExposition } from "../../../../lib/prometheus/mod.ts";
import type { ExpositionFormat } from "../../../../lib/prometheus/types.ts";
import type { Metric, NumberDataPoint, ResourceMetrics } from "../../../../lib/pdata/types.ts";

const CONTEXT = { scheme: "http", job: "app", instance: "10.0.0.5:9100" };

function scrape(
  t: ScrapeTranslator,
  text: string,
  atMs: number,
  format: ExpositionFormat = "text",
  stale: ScrapedSample[] = [],
): ResourceMetrics[] {
  const e = parseExposition(text, format);
  const samples: ScrapedSample[] = e.samples.map((s) => ({
    name: s.name,
    labels: [...s.labels, { name: "instance", value: CONTEXT.instance }, {
      name: "job",
      value: CONTEXT.job,
    }].sort((a, b) => a.name.localeCompare(b.name)),
    value: s.value,
    timestampMs: s.timestampMs ?? atMs,
    exemplar: s.exemplar,
    stale: false,
  }));
  return t.translate([...samples, ...stale], { ...CONTEXT, metadata: e.metadata });
}

function metrics(rm: ResourceMetrics[]): Map<string, Metric> {
  return new Map(
    rm.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).map((m) => [m.name, m]),
  );
}

function numberPoint(m: Metric | undefined, i = 0): NumberDataPoint {
  assert.ok(m?.data?.type === "sum" || m?.data?.type === "gauge", `${m?.name} is a number metric`);
  return m.data.dataPoints[i]!;
}

const T0 = 1_700_000_000_000;
const ns = (ms: number) => BigInt(ms) * 1_000_000n;

Deno.test("resource attributes come from job and instance; job and instance leave the points", () => {
  const rm = scrape(new ScrapeTranslator("scope", "1.0"), 'g{a="1"} 5\n', T0);
  assert.equal(rm.length, 1);
  assert.deepEqual(rm[0]!.resource.attributes, [
    { key: "service.name", value: "app" },
    { key: "server.address", value: "10.0.0.5" },
    { key: "service.instance.id", value: "10.0.0.5:9100" },
    { key: "server.port", value: "9100" },
    { key: "url.scheme", value: "http" },
  ]);
  assert.equal(rm[0]!.scopeMetrics[0]!.scope.name, "scope");
  const g = metrics(rm).get("g")!;
  assert.equal(g.data?.type, "gauge");
  assert.deepEqual(g.data!.dataPoints[0]!.attributes, [{ key: "a", value: "1" }]);
});

Deno.test("counters become cumulative monotonic sums started at first sight, restarted on reset", () => {
  const t = new ScrapeTranslator("s", "v");
  const text = (v: number) => `# TYPE req_total counter\nreq_total{code="200"} ${v}\n`;
  const first = metrics(scrape(t, text(10), T0)).get("req_total")!;
  assert.equal(first.data?.type, "sum");
  assert.ok(
    first.data.type === "sum" && first.data.isMonotonic && first.data.aggregationTemporality === 2,
  );
  assert.equal(first.data.dataPoints[0]!.startTimeUnixNano, ns(T0));
  const second = metrics(scrape(t, text(15), T0 + 1000)).get("req_total")!;
  assert.equal(second.data!.dataPoints[0]!.startTimeUnixNano, ns(T0));
  assert.equal(second.data!.dataPoints[0]!.timeUnixNano, ns(T0 + 1000));
  assert.equal(numberPoint(second).value, 15);
  const reset = metrics(scrape(t, text(2), T0 + 2000)).get("req_total")!;
  assert.equal(reset.data!.dataPoints[0]!.startTimeUnixNano, ns(T0 + 2000));
  const after = metrics(scrape(t, text(3), T0 + 3000)).get("req_total")!;
  assert.equal(after.data!.dataPoints[0]!.startTimeUnixNano, ns(T0 + 2000));
});

Deno.test("an OpenMetrics counter takes its start time from _created and keeps its _total name", () => {
  const t = new ScrapeTranslator("s", "v");
  const om = `# TYPE jobs counter
# HELP jobs Jobs processed.
jobs_total{queue="a"} 7 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7",user="x"} 1 1699999999.5
jobs_created{queue="a"} 1699999000.25
# EOF
`;
  const m = metrics(scrape(t, om, T0, "openmetrics"));
  assert.equal(m.has("jobs_created"), false);
  const sum = m.get("jobs_total")!;
  assert.equal(sum.description, "Jobs processed.");
  const point = numberPoint(sum);
  assert.equal(point.startTimeUnixNano, 1699999000_250_000_000n);
  assert.equal(point.value, 7);
  const ex = point.exemplars[0]!;
  assert.equal(ex.value, 1);
  assert.equal(ex.timeUnixNano, ns(1699999999500));
  assert.deepEqual([...ex.traceId].slice(0, 2), [0x4b, 0xf9]);
  assert.equal(ex.spanId.length, 8);
  assert.deepEqual(ex.filteredAttributes, [{ key: "user", value: "x" }]);
});

Deno.test("histograms: bounds from le, per-bucket counts, sum and count", () => {
  const text = `# HELP lat Latency.
# TYPE lat histogram
lat_bucket{path="/",le="0.1"} 3
lat_bucket{path="/",le="0.5"} 5
lat_bucket{path="/",le="1"} 9
lat_bucket{path="/",le="+Inf"} 10
lat_sum{path="/"} 4.5
lat_count{path="/"} 10
`;
  const m = metrics(scrape(new ScrapeTranslator("s", "v"), text, T0));
  const h = m.get("lat")!;
  assert.equal(h.data?.type, "histogram");
  assert.ok(h.data.type === "histogram" && h.data.aggregationTemporality === 2);
  const p = h.data.dataPoints[0]!;
  assert.deepEqual(p.explicitBounds, [0.1, 0.5, 1]);
  assert.deepEqual(p.bucketCounts, [3n, 2n, 4n, 1n]);
  assert.equal(p.count, 10n);
  assert.equal(p.sum, 4.5);
  assert.deepEqual(p.attributes, [{ key: "path", value: "/" }]);
  assert.equal(p.startTimeUnixNano, ns(T0));
  assert.equal(m.size, 1);
});

Deno.test("summaries: quantiles, sum and count", () => {
  const text = `# TYPE rpc summary
rpc{quantile="0.99"} 76
rpc{quantile="0.5"} 47
rpc_sum 1.75e+07
rpc_count 2693
`;
  const s = metrics(scrape(new ScrapeTranslator("s", "v"), text, T0)).get("rpc")!;
  assert.equal(s.data?.type, "summary");
  const p = s.data.dataPoints[0]!;
  assert.deepEqual(p.quantileValues, [{ quantile: 0.5, value: 47 }, { quantile: 0.99, value: 76 }]);
  assert.equal(p.count, 2693n);
  assert.equal(p.sum, 1.75e7);
});

Deno.test("untyped becomes a gauge; info and stateset become non-monotonic sums; target_info the resource", () => {
  const om = `# TYPE build info
build_info{version="1.2"} 1
# TYPE feature stateset
feature{feature="a"} 1
feature{feature="b"} 0
# TYPE target info
target_info{env="prod"} 1
# TYPE thing unknown
thing 3
# EOF
`;
  const rm = scrape(new ScrapeTranslator("s", "v"), om, T0, "openmetrics");
  const m = metrics(rm);
  const build = m.get("build")!;
  assert.ok(build.data?.type === "sum" && !build.data.isMonotonic);
  assert.deepEqual(build.data.dataPoints[0]!.attributes, [{ key: "version", value: "1.2" }]);
  const feature = m.get("feature")!;
  assert.ok(feature.data?.type === "sum" && feature.data.dataPoints.length === 2);
  assert.equal(m.get("thing")!.data?.type, "gauge");
  assert.equal(m.has("target_info") || m.has("target"), false);
  assert.ok(rm[0]!.resource.attributes.some((a) => a.key === "env" && a.value === "prod"));
});

Deno.test("a loopback instance gets no server.address", () => {
  const t = new ScrapeTranslator("s", "v");
  const rm = t.translate([{
    name: "g",
    labels: [{ name: "instance", value: "127.0.0.1:9090" }, { name: "job", value: "p" }],
    value: 1,
    timestampMs: T0,
    exemplar: undefined,
    stale: false,
  }], { ...CONTEXT, metadata: new Map() });
  const keys = rm[0]!.resource.attributes.map((a) => a.key);
  assert.deepEqual(keys, ["service.name", "service.instance.id", "server.port", "url.scheme"]);
});

Deno.test("stale samples become points flagged NoRecordedValue, keeping the series' start time", () => {
  const t = new ScrapeTranslator("s", "v");
  const text = `# TYPE c_total counter\nc_total 5\n# TYPE h histogram
h_bucket{le="1"} 1
h_bucket{le="+Inf"} 2
h_sum 3
h_count 2
`;
  scrape(t, text, T0);
  const labels = [{ name: "instance", value: CONTEXT.instance }, { name: "job", value: "app" }];
  const staleOf = (name: string, extra: { name: string; value: string }[] = []) => ({
    name,
    labels: [...extra, ...labels],
    value: NaN,
    timestampMs: T0 + 1000,
    exemplar: undefined,
    stale: true,
  });
  const e = parseExposition(text, "text");
  const rm = t.translate([
    staleOf("c_total"),
    staleOf("h_bucket", [{ name: "le", value: "1" }]),
    staleOf("h_bucket", [{ name: "le", value: "+Inf" }]),
    staleOf("h_sum"),
    staleOf("h_count"),
  ], { ...CONTEXT, metadata: e.metadata });
  const m = metrics(rm);
  const c = numberPoint(m.get("c_total"));
  assert.equal(c.flags, FLAG_NO_RECORDED_VALUE);
  assert.equal(c.value, undefined);
  assert.equal(c.startTimeUnixNano, ns(T0));
  const h = m.get("h")!;
  assert.ok(h.data?.type === "histogram");
  const hp = h.data.dataPoints[0]!;
  assert.equal(hp.flags, FLAG_NO_RECORDED_VALUE);
  assert.deepEqual(hp.bucketCounts, [0n, 0n]);
  assert.equal(hp.sum, undefined);
});
