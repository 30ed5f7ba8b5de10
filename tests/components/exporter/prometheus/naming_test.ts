/**
 * Name translation and number formatting of the prometheus exporter, case by case as the
 * OpenTelemetry–Prometheus compatibility specification and the Collector's translator
 * (`prometheus/otlptranslator`) define them.
 */
import assert from "node:assert/strict";
import {
  escapeName,
  labelName,
  metricName,
  type NamingOptions,
  type TranslatedType,
} from "../../../../lib/prometheus/naming.ts";
import { goFloat, writeOpenMetrics, writeText } from "../../../../lib/prometheus/write.ts";

const SUFFIXES: NamingOptions = { namespace: "", withSuffixes: true, utf8Allowed: false };
const PLAIN: NamingOptions = { namespace: "", withSuffixes: false, utf8Allowed: false };
const UTF8: NamingOptions = { namespace: "", withSuffixes: true, utf8Allowed: true };

const CASES: [string, string, TranslatedType, NamingOptions, string | undefined][] = [
  // name, unit, type, options, expected
  ["http.server.duration", "ms", "histogram", SUFFIXES, "http_server_duration_milliseconds"],
  ["system.memory.usage", "By", "nonMonotonicCounter", SUFFIXES, "system_memory_usage_bytes"],
  ["requests", "{requests}", "monotonicCounter", SUFFIXES, "requests_total"],
  ["requests.total", "", "monotonicCounter", SUFFIXES, "requests_total"],
  ["total.requests", "", "monotonicCounter", SUFFIXES, "requests_total"],
  ["cpu.utilization", "1", "gauge", SUFFIXES, "cpu_utilization_ratio"],
  ["cpu.ratio.used", "1", "gauge", SUFFIXES, "cpu_used_ratio"],
  ["hits", "1", "monotonicCounter", SUFFIXES, "hits_total"],
  ["speed", "m/s", "gauge", SUFFIXES, "speed_meters_per_second"],
  ["rate", "{packets}/s", "gauge", SUFFIXES, "rate_per_second"],
  ["rate", "By/{x}", "gauge", SUFFIXES, "rate_bytes"],
  ["throughput", "KiBy/mo", "gauge", SUFFIXES, "throughput_kibibytes_per_month"],
  ["temp", "Cel", "gauge", SUFFIXES, "temp_celsius"],
  ["usage", "%", "gauge", SUFFIXES, "usage_percent"],
  ["odd", "foo-bar", "gauge", SUFFIXES, "odd_foo_bar"],
  ["latency.seconds", "s", "histogram", SUFFIXES, "latency_seconds"],
  ["latency_seconds_total", "s", "monotonicCounter", SUFFIXES, "latency_seconds_total"],
  ["2xx.responses", "", "monotonicCounter", SUFFIXES, "_2xx_responses_total"],
  ["a..b--c", "", "gauge", SUFFIXES, "a_b_c"],
  ["a:b", "", "gauge", SUFFIXES, "a:b"],
  ["___", "", "gauge", SUFFIXES, undefined],
  ["", "", "gauge", SUFFIXES, undefined],
  ["ünïcode.näme", "", "gauge", SUFFIXES, "n_code_n_me"],
  ["up", "", "gauge", { ...SUFFIXES, namespace: "app" }, "app_up"],
  ["2up", "", "gauge", { ...SUFFIXES, namespace: "app" }, "app_2up"],
  ["http.server.duration", "ms", "histogram", PLAIN, "http_server_duration"],
  ["requests", "", "monotonicCounter", PLAIN, "requests"],
  ["a..b", "", "gauge", PLAIN, "a_b"],
  ["a__b", "", "gauge", PLAIN, "a__b"],
  ["9lives", "", "gauge", PLAIN, "_9lives"],
  ["x", "", "gauge", { ...PLAIN, namespace: "my-ns" }, "my_ns_x"],
  ["http.server.duration", "ms", "histogram", UTF8, "http.server.duration_milliseconds"],
  ["requests.total", "", "monotonicCounter", UTF8, "requests_total"],
  ["cpu.ratio", "1", "gauge", UTF8, "cpu_ratio"],
  ["speed", "m/s", "gauge", UTF8, "speed_meters_per_second"],
  ["size_bytes", "By", "gauge", UTF8, "size_bytes"],
  ["héllo.wörld", "", "gauge", { ...UTF8, withSuffixes: false }, "héllo.wörld"],
];

Deno.test("metric names are translated as the Collector's translator translates them", () => {
  for (const [name, unit, type, options, expected] of CASES) {
    assert.equal(
      metricName(name, unit, type, options),
      expected,
      `${JSON.stringify(name)} unit ${JSON.stringify(unit)} ${type} ${JSON.stringify(options)}`,
    );
  }
});

Deno.test("label names are sanitized: invalid runs to _, leading digit or _ gets key_", () => {
  const cases: [string, string | undefined][] = [
    ["http.method", "http_method"],
    ["http..method", "http_method"],
    ["a_b", "a_b"],
    ["a__b", "a_b"],
    ["1st", "key_1st"],
    ["_under", "key_under"],
    ["__reserved__", "__reserved__"],
    ["__a.b__", "__a_b__"],
    ["__x", "key_x"],
    ["ünï", "key_n_"],
    ["", undefined],
    ["___", "key_"],
  ];
  for (const [key, expected] of cases) assert.equal(labelName(key, false), expected, key);
  assert.equal(labelName("http.method", true), "http.method");
  assert.equal(labelName("__", true), undefined);
});

Deno.test("names the scraper cannot take are escaped to underscores on output", () => {
  assert.equal(escapeName("ok_name:x", false), "ok_name:x");
  assert.equal(escapeName("http.server.duration", false), "http_server_duration");
  assert.equal(escapeName("9x", false), "_x");
  assert.equal(escapeName("a:b", true), "a_b");
});

Deno.test("numbers are written as Go's shortest %g", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [1, "1"],
    [-1, "-1"],
    [1.5, "1.5"],
    [100000, "100000"],
    [123456, "123456"],
    [1000000, "1e+06"],
    [1234567, "1.234567e+06"],
    [12345678.9, "1.23456789e+07"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1e21, "1e+21"],
    [1e100, "1e+100"],
    [-2.5e-7, "-2.5e-07"],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
    [0.1 + 0.2, "0.30000000000000004"],
  ];
  for (const [f, s] of cases) assert.equal(goFloat(f), s, String(f));
});

Deno.test("text and OpenMetrics differ as expfmt's writers do", () => {
  const families = [
    {
      name: "reqs_total",
      help: 'say "hi"\\\n',
      type: "counter" as const,
      series: [{ labels: [["a", 'q"\n\\'] as const], value: 1000000, timestampMs: 1700000000123 }],
    },
    {
      name: "lat",
      help: "",
      type: "histogram" as const,
      series: [{
        labels: [],
        buckets: [{ upperBound: 1, cumulativeCount: 2n }],
        sum: 3,
        count: 4n,
      }],
    },
  ];
  assert.equal(
    writeText(families),
    '# HELP reqs_total say "hi"\\\\\\n\n# TYPE reqs_total counter\n' +
      'reqs_total{a="q\\"\\n\\\\"} 1e+06 1700000000123\n' +
      "# HELP lat \n# TYPE lat histogram\n" +
      'lat_bucket{le="1"} 2\nlat_bucket{le="+Inf"} 4\nlat_sum 3\nlat_count 4\n',
  );
  assert.equal(
    writeOpenMetrics(families),
    '# HELP reqs say \\"hi\\"\\\\\\n\n# TYPE reqs counter\n' +
      'reqs_total{a="q\\"\\n\\\\"} 1e+06 1.700000000123e+09\n' +
      "# HELP lat \n# TYPE lat histogram\n" +
      'lat_bucket{le="1.0"} 2\nlat_bucket{le="+Inf"} 4\nlat_sum 3.0\nlat_count 4\n# EOF\n',
  );
});
