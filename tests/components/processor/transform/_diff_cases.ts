/** The differential cases: a processor config and the signal it runs on. */
import type { Signal } from "../../../../lib/pdata/types.ts";

/** One case: `processor` is `transform` or `filter`, `config` its YAML (as JSON). */
export interface DiffCase {
  name: string;
  signal: Signal;
  processor: "transform" | "filter";
  config: Record<string, unknown>;
}

const t = (name: string, ...trace_statements: unknown[]): DiffCase => ({
  name,
  signal: "traces",
  processor: "transform",
  config: { error_mode: "ignore", trace_statements },
});
const m = (name: string, ...metric_statements: unknown[]): DiffCase => ({
  name,
  signal: "metrics",
  processor: "transform",
  config: { error_mode: "ignore", metric_statements },
});
const l = (name: string, ...log_statements: unknown[]): DiffCase => ({
  name,
  signal: "logs",
  processor: "transform",
  config: { error_mode: "ignore", log_statements },
});
const f = (name: string, signal: Signal, config: Record<string, unknown>): DiffCase => ({
  name,
  signal,
  processor: "filter",
  config: { error_mode: "ignore", ...config },
});

/** Every case. */
export const CASES: readonly DiffCase[] = [
  // editors
  t(
    "set literal and path",
    'set(span.attributes["copy"], span.attributes["http.method"])',
    'set(span.attributes["lit"], 1.5)',
  ),
  t("set nil is a no-op", 'set(span.attributes["http.method"], span.attributes["missing"])'),
  t(
    "set nested map key",
    'set(span.attributes["nested"]["b"]["e"], "f")',
    'set(span.attributes["new"]["x"], 1)',
  ),
  t("delete_key", 'delete_key(span.attributes, "http.method")'),
  t("delete_matching_keys", 'delete_matching_keys(span.attributes, "^http\\\\.")'),
  t("keep_keys", 'keep_keys(span.attributes, ["http.method", "ok"])'),
  t("keep_matching_keys", 'keep_matching_keys(resource.attributes, "^serv")'),
  t("replace_pattern", 'replace_pattern(span.attributes["http.url"], "token=[^&]*", "token=***")'),
  t(
    "replace_pattern groups",
    'replace_pattern(span.name, "^(\\\\w+) /users/(\\\\d+)$", "$1 /users/{id:$2}")',
  ),
  t(
    "replace_pattern literal",
    'replace_pattern(span.name, "/users/", "/u/")',
    'replace_pattern(span.name, "\\\\.", "!")',
    'replace_pattern(span.attributes["http.url"], "\\\\?", "#")',
  ),
  t("replace_pattern with function", {
    context: "span",
    statements: ['replace_pattern(attributes["user.id"], "^(.*)$", "$1", SHA256, "sha:%s")'],
  }),
  t("replace_all_patterns value", 'replace_all_patterns(span.attributes, "value", "[0-9]+", "N")'),
  t("replace_all_patterns key", 'replace_all_patterns(span.attributes, "key", "^http\\\\.", "h.")'),
  t("replace_match", 'replace_match(span.name, "GET /users/*", "GET /users/{id}")'),
  l(
    "replace_all_matches",
    'replace_all_matches(log.attributes, "/user/*/list/*", "/user/{userId}/list/{listId}")',
  ),
  t(
    "merge_maps",
    'merge_maps(span.attributes, {"ok": false, "extra": "x"}, "upsert")',
    'merge_maps(span.attributes, {"http.method": "PUT", "more": 1}, "insert")',
  ),
  t("merge_maps update", 'merge_maps(span.attributes, {"ok": "yes", "absent": 1}, "update")'),
  t("limit", 'limit(span.attributes, 3, ["ok"])'),
  t("truncate_all", "truncate_all(span.attributes, 5)"),
  t("flatten", 'flatten(span.attributes["nested"])', 'flatten(span.attributes, "p", 1)'),
  t(
    "append",
    'append(span.attributes["tags"], "c")',
    'append(span.attributes["http.method"], values = ["x", "y"])',
    'append(span.attributes["fresh"], 1)',
  ),
  // converters
  t(
    "Concat and case",
    'set(span.attributes["c"], Concat([span.name, span.attributes["http.status_code"], span.attributes["ratio"], span.attributes["ok"]], "|"))',
    'set(span.attributes["snake"], ConvertCase(span.attributes["user.id"], "snake"))',
    'set(span.attributes["upper"], ToUpperCase(span.name))',
    'set(span.attributes["lower"], ToLowerCase(span.name))',
  ),
  t(
    "type conversion",
    'set(span.attributes["i"], Int("42"))',
    'set(span.attributes["d"], Double(span.attributes["http.status_code"]))',
    'set(span.attributes["s"], String(span.attributes["ratio"]))',
    'set(span.attributes["b"], Bool("true"))',
    'set(span.attributes["i2"], Int(3.9))',
  ),
  t(
    "type checks",
    'set(span.attributes["is"], [IsString(span.name), IsInt(span.attributes["http.status_code"]), IsDouble(span.attributes["ratio"]), IsBool(span.attributes["ok"]), IsMap(span.attributes["nested"]), IsList(span.attributes["tags"])])',
  ),
  t(
    "strings",
    'set(span.attributes["len"], Len(span.name))',
    'set(span.attributes["split"], Split(span.name, "/"))',
    'set(span.attributes["sub"], Substring(span.name, 0, 3))',
    'set(span.attributes["trim"], Trim(span.attributes["padded"]))',
    'set(span.attributes["idx"], Split(span.name, " ")[1])',
  ),
  t(
    "hashes",
    'set(span.attributes["sha1"], SHA1(span.name))',
    'set(span.attributes["sha256"], SHA256(span.name))',
    'set(span.attributes["fnv"], FNV(span.name))',
  ),
  t(
    "Hex and IDs",
    'set(span.attributes["hex"], Hex(span.attributes["http.status_code"]))',
    'set(span.attributes["tid"], span.trace_id.string)',
    'set(span.name, "root") where span.trace_id == TraceID(0x01010101010101010101010101010101) and span.span_id == SpanID(0x0202020202020202)',
  ),
  t(
    "Format",
    'set(span.attributes["fmt"], Format("%s took %d (%v)", [span.name, span.attributes["http.status_code"], span.attributes["ok"]]))',
  ),
  t(
    "Time and Unix",
    'set(span.attributes["secs"], UnixSeconds(Time("2023-05-26 12:34:56", "%Y-%m-%d %H:%M:%S")))',
    'set(span.attributes["ms"], UnixMilli(Time("2023-05-26T12:34:56.789+0200", "%Y-%m-%dT%H:%M:%S.%f%z")))',
    'set(span.attributes["nano"], UnixNano(span.start_time))',
  ),
  t(
    "Duration math",
    'set(span.attributes["later"], UnixNano(span.start_time + Duration("1h30m")))',
    'set(span.end_time, span.start_time + Duration("2s"))',
  ),
  t("IsRootSpan", 'set(span.attributes["root"], IsRootSpan())'),
  t(
    "Keys and Values",
    'set(span.attributes["keys"], Keys(span.attributes["nested"]))',
    'set(span.attributes["values"], Values(resource.attributes))',
  ),
  l(
    "ParseJSON",
    'merge_maps(log.attributes, ParseJSON(log.body), "upsert") where IsString(log.body) and IsMatch(log.body, "^\\\\{")',
  ),
  l(
    "ParseKeyValue",
    'merge_maps(log.attributes, ParseKeyValue(log.body), "upsert") where IsMatch(log.body, "^user=")',
  ),
  l(
    "ExtractPatterns",
    'merge_maps(log.attributes, ExtractPatterns(log.body, "^(?P<date>\\\\S+) (?P<time>\\\\S+) (?P<level>[A-Z]+)"), "upsert") where IsMatch(log.body, "^20")',
  ),
  t(
    "multibyte strings",
    'set(span.attributes["u"], "héllo wörld")',
    'set(span.attributes["ulen"], Len(span.attributes["u"]))',
    "truncate_all(span.attributes, 2)",
  ),
  t(
    "flatten lists of maps",
    'set(span.attributes["lm"], [{"a": 1}, {"b": [2, {"c": 3}]}])',
    'flatten(span.attributes["lm"])',
    "flatten(span.attributes)",
  ),
  t(
    "split edge cases",
    'set(span.attributes["e"], Split("", ","))',
    'set(span.attributes["n"], Split("a,,b,", ","))',
  ),
  l(
    "ParseJSON numbers",
    'set(log.attributes["j"], ParseJSON("{\\"i\\": 1, \\"f\\": 1.5, \\"big\\": 12345678901234567890, \\"n\\": null, \\"l\\": [1, \\"x\\"]}"))',
  ),
  t(
    "String of maps and slices",
    'set(span.attributes["sm"], String(span.attributes["nested"]))',
    'set(span.attributes["sl"], String(span.attributes["tags"]))',
    'set(span.attributes["sb"], String(span.trace_id))',
  ),
  t(
    "Concat of maps",
    'set(span.attributes["cm"], Concat([span.attributes["nested"], span.attributes["tags"]], ";"))',
  ),
  t(
    "conversion edge cases",
    'set(span.attributes["s"], "1e3")',
    'set(span.attributes["a"], Int(span.attributes["s"]))',
    'set(span.attributes["b"], Double(span.attributes["padded"]))',
    'set(span.attributes["c"], Bool(1))',
    'set(span.attributes["d"], Int(true))',
    'set(span.attributes["f"], String(nil))',
  ),
  t(
    "time into an attribute fails",
    'set(span.attributes["t"], span.start_time)',
    'set(span.attributes["after"], 1)',
  ),
  l(
    "body string and severity",
    'set(log.attributes["bs"], log.body.string)',
    'set(log.attributes["sev"], log.severity_number + 1)',
  ),
  t(
    "replace_pattern edge cases",
    'replace_pattern(span.name, "x*", "-")',
    'replace_pattern(span.attributes["http.method"], "(G)(E)", "$2$1$3$")',
  ),
  f("legacy span kinds", "traces", {
    spans: {
      exclude: { match_type: "strict", span_kinds: ["SPAN_KIND_CLIENT", "SPAN_KIND_INTERNAL"] },
    },
  }),
  f("datapoint resource condition", "metrics", {
    metrics: {
      datapoint: [
        'resource.attributes["service.name"] == "checkout" and datapoint.attributes["host"] == "h1"',
      ],
    },
  }),
  // contexts, paths, enums, math, conditions
  t(
    "resource and scope",
    'set(resource.attributes["r"], "v")',
    'set(scope.name, "renamed")',
    'set(scope.version, Concat([scope.version, "x"], "-"))',
  ),
  t(
    "spanevent",
    'set(spanevent.attributes["span"], span.name)',
    'set(spanevent.name, "renamed") where spanevent.name == "debug"',
  ),
  t(
    "math",
    'set(span.attributes["dur_ms"], (span.end_time_unix_nano - span.start_time_unix_nano) / 1000000)',
    'set(span.attributes["calc"], 2 * 3 + 4 - 10 / 3)',
    'set(span.attributes["f"], 1.5 * 2.0)',
  ),
  t(
    "enums",
    "set(span.status.code, STATUS_CODE_OK) where span.kind == SPAN_KIND_CLIENT",
    'set(span.status.message, "srv") where span.kind == SPAN_KIND_SERVER',
  ),
  t(
    "cache",
    'set(span.cache["a"], span.name)',
    'set(span.attributes["from_cache"], span.cache["a"])',
  ),
  t(
    "nil and cross-type comparisons",
    'set(span.attributes["nil"], true) where span.attributes["nope"] == nil',
    'set(span.attributes["str200"], true) where span.attributes["http.status_code"] == "200"',
    'set(span.attributes["f200"], true) where span.attributes["http.status_code"] == 200.0',
    'set(span.attributes["lt"], true) where span.name < "b"',
    'set(span.attributes["ne"], true) where span.attributes["nope"] != "x"',
  ),
  t(
    "and/or/not",
    'set(span.attributes["x"], 1) where (span.kind == SPAN_KIND_SERVER or span.name == "health") and not IsMatch(span.name, "^db")',
  ),
  t("group with conditions", {
    context: "span",
    conditions: ['name == "health"', "kind == SPAN_KIND_CLIENT"],
    statements: ['set(attributes["g"], "hit")'],
  }),
  l(
    "log paths",
    'set(log.severity_text, "FAIL") where log.body == "request failed"',
    'set(log.severity_number, SEVERITY_NUMBER_ERROR) where log.severity_text == "FAIL"',
    'set(log.attributes["b"], log.body["msg"]) where IsMap(log.body)',
    'set(log.body["extra"], 1) where IsMap(log.body)',
  ),
  // metrics
  m(
    "seed: rename metrics",
    'set(metric.name, "http.server.request.duration") where metric.name == "http.server.duration"',
    'set(metric.description, "Sum") where metric.type == METRIC_DATA_TYPE_SUM',
  ),
  m(
    "convert_sum_to_gauge",
    'convert_sum_to_gauge() where metric.name == "otelcol_exporter_sent_spans"',
  ),
  m("convert_gauge_to_sum", 'convert_gauge_to_sum("delta", true) where metric.name == "requests"'),
  m(
    "extract_sum_metric",
    "extract_sum_metric(true) where metric.type == METRIC_DATA_TYPE_HISTOGRAM or metric.type == METRIC_DATA_TYPE_SUMMARY",
  ),
  m(
    "extract_count_metric",
    'extract_count_metric(false, ".count") where metric.type == METRIC_DATA_TYPE_HISTOGRAM',
  ),
  m(
    "scale_metric",
    'scale_metric(1000.0, "us") where metric.name == "http.server.duration"',
    'scale_metric(0.5) where metric.name == "requests"',
  ),
  m(
    "aggregate_on_attributes",
    'aggregate_on_attributes("sum", ["host"]) where metric.name == "requests"',
  ),
  m(
    "aggregate max",
    'aggregate_on_attributes("max", ["internal"]) where metric.name == "requests"',
  ),
  m(
    "datapoint",
    'set(datapoint.attributes["metric"], metric.name)',
    "set(datapoint.value_double, datapoint.value_double * 2.0) where metric.type == METRIC_DATA_TYPE_GAUGE",
    'set(datapoint.attributes["count"], datapoint.count) where metric.type == METRIC_DATA_TYPE_HISTOGRAM',
  ),
  m(
    "metric temporality",
    "set(metric.aggregation_temporality, AGGREGATION_TEMPORALITY_DELTA) where metric.type == METRIC_DATA_TYPE_SUM",
    'set(metric.unit, "s") where metric.is_monotonic == true',
  ),
  // error modes
  {
    name: "propagate fails the payload",
    signal: "traces",
    processor: "transform",
    config: {
      error_mode: "propagate",
      trace_statements: ['set(span.attributes["s"], Substring(span.name, 0, 100))'],
    },
  },
  t(
    "ignore goes on after a failing statement",
    'set(span.attributes["s"], Substring(span.name, 0, 100))',
    'set(span.attributes["after"], true)',
  ),
  // filter
  f("filter spans", "traces", {
    traces: {
      span: ['IsMatch(span.name, "^health")', 'resource.attributes["service.name"] == "internal"'],
    },
  }),
  f("filter span events", "traces", { traces: { spanevent: ['spanevent.name == "debug"'] } }),
  f("seed: filter internal metrics", "metrics", {
    metrics: { metric: ['IsMatch(metric.name, "^otelcol_")'] },
  }),
  f("filter datapoints", "metrics", {
    metrics: {
      datapoint: ['datapoint.attributes["internal"] == true', 'metric.name == "latency"'],
    },
  }),
  f("filter log records", "logs", {
    logs: {
      log_record: [
        "log.severity_number < SEVERITY_NUMBER_INFO",
        'IsMap(log.body) and log.body["level"] == "warn"',
      ],
    },
  }),
  f("filter everything", "logs", { logs: { log_record: ["true"] } }),
  f("legacy spans exclude", "traces", {
    spans: { exclude: { match_type: "regexp", span_names: ["^db"], services: ["checkout"] } },
  }),
  f("legacy spans include", "traces", {
    spans: {
      include: { match_type: "strict", attributes: [{ key: "http.method", value: "GET" }] },
    },
  }),
  f("legacy metrics include", "metrics", {
    metrics: { include: { match_type: "regexp", metric_names: ["^http", "^lat"] } },
  }),
  f("legacy metrics exclude", "metrics", {
    metrics: { exclude: { match_type: "strict", metric_names: ["requests"] } },
  }),
  f("legacy logs exclude", "logs", {
    logs: { exclude: { match_type: "strict", severity_texts: ["DEBUG", "WARN"] } },
  }),
  f("legacy logs include severity", "logs", {
    logs: {
      include: { match_type: "strict", severity_number: { min: "INFO", match_undefined: false } },
    },
  }),
];
