/**
 * The exposition parsers against inputs written from the published formats: the Prometheus text
 * format 0.0.4 and OpenMetrics 1.0.
 */
import assert from "node:assert/strict";
import {
  type Exposition,
  ExpositionError,
  formatOfContentType,
  parseExposition,
} from "../../../lib/prometheus/mod.ts";

function labelsOf(e: Exposition, i: number): Record<string, string> {
  return Object.fromEntries(e.samples[i]!.labels.map((l) => [l.name, l.value]));
}

Deno.test("text format: counters, escapes, timestamps and special values", () => {
  const text = [
    "# HELP api_requests_total Requests served.\\nSecond line with a \\\\ backslash.",
    "# TYPE api_requests_total counter",
    'api_requests_total{method="post",code="200"} 1027 1395066363000',
    'api_requests_total{method="post",code="400"}    3 1395066363000',
    "",
    "# A plain comment, ignored",
    'file_mtime_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
    "bare_gauge 12.47",
    'weird{problem="division by zero"} +Inf -3982045',
    "neg_inf -Inf",
    "not_a_number NaN",
    'trailing_comma{a="1",} 2',
    "   indented_sample 4",
  ].join("\n");
  const e = parseExposition(text, "text");
  assert.equal(e.samples.length, 9);
  assert.deepEqual(e.metadata.get("api_requests_total"), {
    type: "counter",
    help: "Requests served.\nSecond line with a \\ backslash.",
    unit: "",
  });
  assert.deepEqual(labelsOf(e, 0), { method: "post", code: "200" });
  assert.equal(e.samples[0]!.value, 1027);
  assert.equal(e.samples[0]!.timestampMs, 1395066363000);
  assert.equal(e.samples[1]!.value, 3);
  assert.deepEqual(labelsOf(e, 2), {
    path: "C:\\DIR\\FILE.TXT",
    error: 'Cannot find file:\n"FILE.TXT"',
  });
  assert.equal(e.samples[2]!.value, 1458255915);
  assert.equal(e.samples[3]!.timestampMs, undefined);
  assert.equal(e.samples[4]!.value, Infinity);
  assert.equal(e.samples[4]!.timestampMs, -3982045);
  assert.equal(e.samples[5]!.value, -Infinity);
  assert.ok(Number.isNaN(e.samples[6]!.value));
  assert.deepEqual(labelsOf(e, 7), { a: "1" });
  assert.equal(e.samples[8]!.name, "indented_sample");
});

Deno.test("text format: histogram, summary and untyped families", () => {
  const text = `# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# TYPE legacy untyped
legacy 1
`;
  const e = parseExposition(text, "text");
  assert.equal(e.metadata.get("http_request_duration_seconds")!.type, "histogram");
  assert.equal(e.metadata.get("rpc_duration_seconds")!.type, "summary");
  assert.equal(e.metadata.get("legacy")!.type, "unknown");
  assert.equal(e.samples.length, 10);
  assert.equal(e.samples[2]!.labels[0]!.value, "+Inf");
  assert.equal(e.samples[7]!.value, 17560473);
});

Deno.test("text format: quoted UTF-8 metric and label names", () => {
  const e = parseExposition('{"my.metric", "http.status"="200", plain="x"} 5\n', "text");
  assert.equal(e.samples[0]!.name, "my.metric");
  assert.deepEqual(labelsOf(e, 0), { "http.status": "200", plain: "x" });
});

Deno.test("OpenMetrics: counter with _created, unit, exemplar and seconds timestamps", () => {
  const text = `# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
go_goroutines 69
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
# HELP process_cpu_seconds Total user and system CPU time spent in \\"seconds\\".
process_cpu_seconds_total 4.20072246e+06 1605281325.5 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} 0.67 1605281325.25
process_cpu_seconds_created 1605281000.123
# EOF
`;
  const e = parseExposition(text, "openmetrics");
  const summary = e.metadata.get("acme_http_router_request_seconds")!;
  assert.deepEqual(summary, {
    type: "summary",
    unit: "seconds",
    help: "Latency though all of ACME's HTTP request router.",
  });
  assert.equal(
    e.metadata.get("process_cpu_seconds")!.help,
    'Total user and system CPU time spent in "seconds".',
  );
  const counter = e.samples.find((s) => s.name === "process_cpu_seconds_total")!;
  assert.equal(counter.value, 4200722.46);
  assert.equal(counter.timestampMs, 1605281325500);
  assert.deepEqual(counter.exemplar, {
    labels: [
      { name: "trace_id", value: "4bf92f3577b34da6a3ce929d0e0e4736" },
      { name: "span_id", value: "00f067aa0ba902b7" },
    ],
    value: 0.67,
    timestampMs: 1605281325250,
  });
  assert.equal(
    e.samples.find((s) => s.name === "process_cpu_seconds_created")!.value,
    1605281000.123,
  );
});

Deno.test("OpenMetrics: histogram with exemplars, info, stateset, gaugehistogram, unknown", () => {
  const text = `# TYPE foo histogram
foo_bucket{le="0.01"} 0
foo_bucket{le="0.1"} 8 # {} 0.054
foo_bucket{le="1"} 11 # {trace_id="KOO5S4vxi0o"} 0.67
foo_bucket{le="+Inf"} 17
foo_count 17
foo_sum 324789.3
foo_created 1520430000.123
# TYPE build info
build_info{version="1.2.3",revision="abc"} 1
# TYPE feature stateset
feature{feature="a"} 1
feature{feature="b"} 0
# TYPE queue gaugehistogram
queue_bucket{le="1"} 3
queue_bucket{le="+Inf"} 5
queue_gcount 5
queue_gsum 4.2
# TYPE mystery unknown
mystery 7
# EOF`;
  const e = parseExposition(text, "openmetrics");
  assert.equal(e.samples.length, 15);
  assert.deepEqual(e.samples[1]!.exemplar, { labels: [], value: 0.054, timestampMs: undefined });
  assert.equal(e.metadata.get("build")!.type, "info");
  assert.equal(e.metadata.get("feature")!.type, "stateset");
  assert.equal(e.metadata.get("queue")!.type, "gaugehistogram");
  assert.equal(e.metadata.get("mystery")!.type, "unknown");
});

Deno.test("OpenMetrics requires # EOF and forbids blank lines and content after it", () => {
  assert.throws(() => parseExposition("a 1\n", "openmetrics"), /line 2: the data does not end/);
  assert.throws(() => parseExposition("a 1\n\n# EOF\n", "openmetrics"), /line 2: empty lines/);
  assert.throws(() => parseExposition("# EOF\na 1\n", "openmetrics"), /line 2: unexpected content/);
  assert.throws(
    () => parseExposition("# random\n# EOF\n", "openmetrics"),
    /line 1: expected "# TYPE"/,
  );
});

Deno.test("malformed lines give an error naming the line, never anything else", () => {
  const cases: [string, RegExp][] = [
    ['m{a="b} 1', /line 2: unterminated quoted string/],
    ['m{a="1",a="2"} 1', /line 2: duplicate label name "a"/],
    ["m 1 2 3", /line 2: unexpected "3"/],
    ["m", /line 2: expected a blank or "\{"/],
    ["m{a=b} 1", /line 2: expected a quoted value for label "a"/],
    ["# TYPE m histogrammy", /line 2: invalid metric type "histogrammy"/],
    ["m one", /line 2: invalid value for "m" "one"/],
    ["m 1 12.5", /line 2: invalid timestamp "12.5"/],
    ['m{1a="x"} 1', /line 2: expected a label name/],
    ['m{a="x" b="y"} 1', /line 2: expected "," or "\}"/],
    ['m 1 # {a="b"} 1', /line 2: exemplars are only allowed in OpenMetrics/],
    ["{} 1", /line 2: missing metric name/],
  ];
  for (const [line, pattern] of cases) {
    assert.throws(() => parseExposition(`ok 1\n${line}\nok 2\n`, "text"), pattern);
    assert.throws(() => parseExposition(`ok 1\n${line}\n`, "text"), (e: unknown) => {
      assert.ok(e instanceof ExpositionError, String(e));
      assert.equal(e.line, 2, line);
      return true;
    });
  }
});

Deno.test("random corruption of a valid exposition never throws anything but ExpositionError", () => {
  const base = `# TYPE foo histogram
foo_bucket{le="0.1",path="/a\\"b"} 8 # {trace_id="ab"} 0.05 1520879607.789
foo_bucket{le="+Inf",path="/a\\"b"} 17
foo_count{path="/a\\"b"} 17
# HELP bar Help \\n text
bar_total 1.5e3 1520879607
# EOF
`;
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const alphabet = ' {}",=#\\\n\t.eE+-0123456789abcxyzNInf_';
  for (let round = 0; round < 3000; round++) {
    const chars = [...base];
    const edits = 1 + Math.floor(random() * 4);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(random() * chars.length);
      const op = random();
      if (op < 0.33) chars.splice(at, 1);
      else if (op < 0.66) chars[at] = alphabet[Math.floor(random() * alphabet.length)]!;
      else chars.splice(at, 0, alphabet[Math.floor(random() * alphabet.length)]!);
    }
    const text = chars.join("");
    for (const format of ["text", "openmetrics"] as const) {
      try {
        parseExposition(text, format);
      } catch (e) {
        assert.ok(e instanceof ExpositionError, `${format}: ${e} for ${JSON.stringify(text)}`);
      }
    }
  }
});

Deno.test("the format follows the Content-Type", () => {
  assert.equal(
    formatOfContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    "openmetrics",
  );
  assert.equal(formatOfContentType("text/plain; version=0.0.4; charset=utf-8"), "text");
  assert.equal(formatOfContentType(null), "text");
});
