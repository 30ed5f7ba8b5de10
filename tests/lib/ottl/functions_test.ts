import assert from "node:assert/strict";
import { attr, evaluate, holds, run, sampleContext } from "./_helpers.ts";
import { compileStatements } from "../../../lib/ottl/mod.ts";
import {
  compileBoundedRegex,
  literalOf,
  replaceLiteral,
  unsafeRegexReason,
} from "../../../lib/ottl/regex.ts";
import { global, replaceAll } from "../../../lib/ottl/funcs/_util.ts";

// ---------------------------------------------------------------------------------------------
// Editors (ottlfuncs README examples)

Deno.test("set writes fields and map keys; a nil value sets an empty map value", () => {
  const ctx = sampleContext();
  run(
    ctx,
    "span",
    'set(attributes["a"], "b")',
    'set(name, "renamed")',
    'set(attributes["n"], attributes["nope"])',
  );
  assert.equal(attr(ctx.span!.attributes, "a"), "b");
  assert.equal(ctx.span!.name, "renamed");
  assert.ok(ctx.span!.attributes.some((kv) => kv.key === "n" && kv.value === undefined));
  run(ctx, "span", "set(name, 1)");
  assert.equal(ctx.span!.name, "renamed", "a value of the wrong type is ignored");
});

Deno.test("delete_key and delete_matching_keys", () => {
  const ctx = sampleContext();
  run(ctx, "span", 'delete_key(attributes, "http.method")');
  assert.equal(attr(ctx.span!.attributes, "http.method"), undefined);
  run(ctx, "span", 'delete_matching_keys(attributes, "^http")');
  assert.deepEqual(ctx.span!.attributes.map((kv) => kv.key), ["ratio"]);
});

Deno.test("keep_keys and keep_matching_keys", () => {
  const ctx = sampleContext();
  run(ctx, "span", 'keep_keys(attributes, ["ratio", "http.method"])');
  assert.deepEqual(ctx.span!.attributes.map((kv) => kv.key), ["http.method", "ratio"]);
  run(ctx, "span", 'keep_matching_keys(attributes, "^r")');
  assert.deepEqual(ctx.span!.attributes.map((kv) => kv.key), ["ratio"]);
});

Deno.test("replace_pattern expands groups and can hash the replacement", () => {
  const ctx = sampleContext();
  run(ctx, "span", 'replace_pattern(name, "/users/(\\\\d+)", "/users/{$1}")');
  assert.equal(ctx.span!.name, "GET /users/{123}");
  run(ctx, "span", 'replace_pattern(name, "^GET", "$$")');
  assert.equal(ctx.span!.name, "$ /users/{123}");
  run(ctx, "span", 'replace_pattern(attributes["http.method"], "^(.*)$", "$1", SHA256, "h:%s")');
  assert.match(String(attr(ctx.span!.attributes, "http.method")), /^h:[0-9a-f]{64}$/);
});

Deno.test("a literal pattern replaces without a regex exactly as the regex replaces", () => {
  assert.equal(literalOf("\\{id\\}"), "{id}");
  assert.equal(literalOf("a.b"), undefined);
  assert.equal(literalOf("\\d"), undefined, "an escaped letter is a class, not a literal");
  assert.equal(literalOf("(?i)abc"), undefined);
  assert.equal(literalOf("^GET"), undefined);
  assert.equal(literalOf(""), undefined);
  const cases: [string, string][] = [
    ["\\{id\\}", "ID"],
    ["aa", "b"],
    ["é/", "-"],
    ["x\\.y", ""],
    ["ab", "abab"],
  ];
  const inputs = ["", "GET /a/{id}/{id}", "aaaaa", "é/é/ é", "x.yx.yxzy", "abab ab"];
  for (const [p, rep] of cases) {
    const literal = literalOf(p);
    assert.ok(literal !== undefined, p);
    for (const s of inputs) {
      const want = replaceAll(compileBoundedRegex(p), s, rep, undefined, undefined);
      assert.equal(replaceLiteral(s, literal, rep), want, `${p} on ${s}`);
    }
  }
  const ctx = sampleContext();
  ctx.span!.name = "GET /cart/{id}/items/{id}";
  run(ctx, "span", 'replace_pattern(name, "\\\\{id\\\\}", "ID")');
  assert.equal(ctx.span!.name, "GET /cart/ID/items/ID");
  run(ctx, "span", 'replace_pattern(name, "ID", "<$0>")');
  assert.equal(
    ctx.span!.name,
    "GET /cart/<ID>/items/<ID>",
    "a template with $ takes the regex path",
  );
});

Deno.test("the global form of a pattern is made once and its state does not carry between items", () => {
  const re = /a(b)/;
  const g = global(re);
  assert.equal(global(re), g);
  assert.equal(g.flags, "g");
  assert.equal(re.global, false);
  // An item whose last match leaves `lastIndex` mid-string does not shift the next item's matches.
  assert.equal(replaceAll(re, "xabyab", "<$1>", undefined, undefined), "x<b>y<b>");
  g.lastIndex = 3;
  assert.equal(replaceAll(re, "ab", "-", undefined, undefined), "-");
  assert.equal(replaceAll(re, "none", "-", undefined, undefined), "none");
});

Deno.test("replace_all_patterns in values and in keys", () => {
  const ctx = sampleContext();
  run(ctx, "span", 'replace_all_patterns(attributes, "value", "GET", "get")');
  assert.equal(attr(ctx.span!.attributes, "http.method"), "get");
  run(ctx, "span", 'replace_all_patterns(attributes, "key", "^http\\\\.", "")');
  assert.deepEqual(ctx.span!.attributes.map((kv) => kv.key), ["method", "status_code", "ratio"]);
});

Deno.test("replace_match and replace_all_matches use globs", () => {
  const ctx = sampleContext();
  run(ctx, "span", 'replace_match(name, "GET /users/*", "GET /users/{id}")');
  assert.equal(ctx.span!.name, "GET /users/{id}");
  ctx.log!.attributes.push({ key: "route", value: "/user/1/list/2" });
  run(ctx, "log", 'replace_all_matches(attributes, "/user/*/list/*", "/user/{u}/list/{l}")');
  assert.equal(attr(ctx.log!.attributes, "route"), "/user/{u}/list/{l}");
});

Deno.test("merge_maps insert, update and upsert", () => {
  for (
    const [strategy, method, extra] of [
      ["insert", "GET", "x"],
      ["update", "PUT", undefined],
      ["upsert", "PUT", "x"],
    ] as const
  ) {
    const ctx = sampleContext();
    run(ctx, "span", `merge_maps(attributes, {"http.method": "PUT", "extra": "x"}, "${strategy}")`);
    assert.equal(attr(ctx.span!.attributes, "http.method"), method, strategy);
    assert.equal(attr(ctx.span!.attributes, "extra"), extra, strategy);
  }
});

Deno.test("limit keeps priority keys first, then the earliest others", () => {
  const ctx = sampleContext();
  run(ctx, "span", 'limit(attributes, 2, ["ratio"])');
  assert.deepEqual(ctx.span!.attributes.map((kv) => kv.key), ["http.method", "ratio"]);
  assert.equal(
    compileStatements(["limit(span.attributes, 0, [])"], { signal: "traces" }).ok,
    false,
  );
});

Deno.test("truncate_all cuts strings by UTF-8 bytes without splitting a character", () => {
  const ctx = sampleContext();
  ctx.span!.attributes.push({ key: "u", value: "héllo" });
  run(ctx, "span", "truncate_all(attributes, 2)");
  assert.equal(attr(ctx.span!.attributes, "http.method"), "GE");
  assert.equal(attr(ctx.span!.attributes, "u"), "h");
});

Deno.test("flatten joins nested keys with dots, slices by index, to a depth", () => {
  const ctx = sampleContext();
  run(ctx, "log", "flatten(attributes)");
  assert.deepEqual(ctx.log!.attributes, [
    { key: "nested.list.0", value: "a" },
    { key: "nested.list.1", value: "b" },
  ]);
  const d = sampleContext();
  run(d, "log", 'flatten(attributes, "p", 1)');
  assert.deepEqual(d.log!.attributes.map((kv) => kv.key), ["p.nested.list"]);
});

Deno.test("append turns a value into a slice and adds to it", () => {
  const ctx = sampleContext();
  run(
    ctx,
    "span",
    'append(attributes["http.method"], "x")',
    'append(attributes["new"], values = [1, 2])',
  );
  assert.deepEqual(attr(ctx.span!.attributes, "http.method"), ["GET", "x"]);
  assert.deepEqual(attr(ctx.span!.attributes, "new"), [1n, 2n]);
});

// ---------------------------------------------------------------------------------------------
// Converters

Deno.test("Concat renders every type and nil", () => {
  const ctx = sampleContext();
  assert.equal(
    evaluate(ctx, "span", 'Concat([name, 1, 2.5, true, attributes["nope"]], "|")'),
    "GET /users/123|1|2.5|true|<nil>",
  );
});

Deno.test("ConvertCase lower, upper, snake, camel", () => {
  const ctx = sampleContext();
  assert.equal(
    evaluate(ctx, "span", 'ConvertCase("HTTPServerRequest", "snake")'),
    "http_server_request",
  );
  assert.equal(
    evaluate(ctx, "span", 'ConvertCase("http_server_request", "camel")'),
    "HttpServerRequest",
  );
  assert.equal(evaluate(ctx, "span", 'ConvertCase("aB", "upper")'), "AB");
  assert.equal(evaluate(ctx, "span", 'ConvertCase("aB", "lower")'), "ab");
});

Deno.test("Double, Int, String, Bool convert or give nil", () => {
  const ctx = sampleContext();
  assert.equal(evaluate(ctx, "span", 'Double("1.5")'), 1.5);
  assert.equal(evaluate(ctx, "span", "Double(2)"), 2);
  assert.equal(evaluate(ctx, "span", 'Int("42")'), 42n);
  assert.equal(evaluate(ctx, "span", "Int(-3.9)"), -3n);
  assert.equal(compileStatements(['set(span.name, Int("x"))'], { signal: "traces" }).ok, false);
  ctx.span!.attributes.push({ key: "s", value: "x" });
  assert.throws(() => run(ctx, "span", 'set(attributes["i"], Int(attributes["s"]))'), /ParseInt/);
  assert.equal(evaluate(ctx, "span", "String(1.5)"), "1.5");
  assert.equal(evaluate(ctx, "span", 'String({"a": 1})'), '{"a":1}');
  assert.equal(evaluate(ctx, "span", 'Bool("true")'), true);
  assert.equal(evaluate(ctx, "span", "Bool(0)"), false);
});

Deno.test("Is* checks", () => {
  const ctx = sampleContext();
  assert.deepEqual(
    evaluate(
      ctx,
      "span",
      '[IsString(name), IsInt(attributes["http.status_code"]), IsDouble(attributes["ratio"]), IsBool(true), IsMap({}), IsList([]), IsString(1)]',
    ),
    [true, true, true, true, true, true, false],
  );
  assert.equal(holds(ctx, "span", 'IsMatch(name, "^GET /users/\\\\d+$")'), true);
  assert.equal(holds(ctx, "span", 'IsMatch(attributes["nope"], ".*")'), false);
});

Deno.test("Len, Split, Substring, Trim, ToLowerCase, ToUpperCase", () => {
  const ctx = sampleContext();
  assert.equal(evaluate(ctx, "span", "Len(name)"), 14n);
  assert.equal(evaluate(ctx, "span", "Len(attributes)"), 3n);
  assert.deepEqual(evaluate(ctx, "span", 'Split("a,b,,c", ",")'), ["a", "b", "", "c"]);
  assert.equal(evaluate(ctx, "span", 'Split(name, "/")[2]'), "123");
  assert.equal(evaluate(ctx, "span", "Substring(name, 4, 5)"), "/user");
  assert.equal(evaluate(ctx, "span", 'Trim("  x  ")'), "x");
  assert.equal(evaluate(ctx, "span", 'Trim("--x--", "-")'), "x");
  assert.equal(evaluate(ctx, "span", "ToLowerCase(name)"), "get /users/123");
  assert.equal(evaluate(ctx, "span", "ToUpperCase(name)"), "GET /USERS/123");
  // A run-time failure: the substring is out of range.
  assert.throws(() => run(ctx, "span", 'set(attributes["s"], Substring(name, 10, 100))'));
});

Deno.test("SHA1, SHA256, FNV", () => {
  const ctx = sampleContext();
  assert.equal(evaluate(ctx, "span", 'SHA1("hello")'), "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
  assert.equal(
    evaluate(ctx, "span", 'SHA256("hello")'),
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
  );
  assert.equal(evaluate(ctx, "span", 'FNV("hello")'), -6615550055289275125n);
});

Deno.test("ParseJSON, ParseKeyValue, ExtractPatterns", () => {
  const ctx = sampleContext();
  assert.deepEqual(evaluate(ctx, "log", 'ParseJSON("{\\"a\\": 1, \\"b\\": [true]}")'), {
    kvlist: [{ key: "a", value: 1 }, { key: "b", value: [true] }],
  });
  assert.deepEqual(evaluate(ctx, "log", "ParseKeyValue(body)"), {
    kvlist: [{ key: "user", value: "alice" }, { key: "action", value: "login" }],
  });
  assert.deepEqual(evaluate(ctx, "log", 'ParseKeyValue("k:\\"v 1\\"|x:y", ":", "|")'), {
    kvlist: [{ key: "k", value: "v 1" }, { key: "x", value: "y" }],
  });
  assert.deepEqual(evaluate(ctx, "log", 'ExtractPatterns(body, "user=(?P<user>\\\\w+)")'), {
    kvlist: [{ key: "user", value: "alice" }],
  });
  assert.equal(
    compileStatements(['set(log.body, ExtractPatterns(log.body, "(\\\\w+)"))'], { signal: "logs" })
      .ok,
    false,
  );
});

Deno.test("Format follows Go's fmt verbs", () => {
  const ctx = sampleContext();
  assert.equal(
    evaluate(ctx, "span", 'Format("%s-%d-%.2f-%v-%05d-%x", ["a", 7, 3.14159, true, 42, 255])'),
    "a-7-3.14-true-00042-ff",
  );
});

Deno.test("Hex, TraceID, SpanID, IsRootSpan", () => {
  const ctx = sampleContext();
  assert.equal(evaluate(ctx, "span", "Hex(1)"), "0000000000000001");
  assert.equal(evaluate(ctx, "span", 'Hex("ab")'), "6162");
  assert.equal(holds(ctx, "span", "trace_id == TraceID(0x01010101010101010101010101010101)"), true);
  assert.equal(holds(ctx, "span", "span_id == SpanID(0x0202020202020202)"), true);
  assert.equal(holds(ctx, "span", "IsRootSpan()"), true);
  assert.equal(evaluate(ctx, "span", "trace_id.string"), "01".repeat(16));
  assert.equal(compileStatements(["set(log.body, IsRootSpan())"], { signal: "logs" }).ok, false);
});

Deno.test("Time, Now, UnixNano, UnixMilli, UnixSeconds, Duration", () => {
  const ctx = sampleContext();
  assert.equal(
    evaluate(ctx, "span", 'UnixSeconds(Time("2023-05-26 12:34:56", "%Y-%m-%d %H:%M:%S"))'),
    1685104496n,
  );
  assert.equal(
    evaluate(ctx, "span", 'UnixMilli(Time("26/May/2023:12:34:56 +0200", "%d/%b/%Y:%H:%M:%S %z"))'),
    1685097296000n,
  );
  assert.equal(
    evaluate(
      ctx,
      "span",
      'UnixSeconds(Time("2023-01-15 10:00:00", "%Y-%m-%d %H:%M:%S", "America/New_York"))',
    ),
    1673794800n,
  );
  assert.equal(evaluate(ctx, "span", 'UnixNano(start_time + Duration("1.5s"))'), 2_500_000_000n);
  assert.equal(evaluate(ctx, "span", "UnixMilli(end_time) - UnixMilli(start_time)"), 2500n);
  const now = evaluate(ctx, "span", "UnixSeconds(Now())") as bigint;
  assert.ok(now > 1_700_000_000n);
  assert.throws(() => run(ctx, "span", 'set(attributes["t"], UnixNano(Time("nope", "%Y")))'));
});

Deno.test("Keys and Values", () => {
  const ctx = sampleContext();
  assert.deepEqual(evaluate(ctx, "span", "Keys(attributes)"), [
    "http.method",
    "http.status_code",
    "ratio",
  ]);
  assert.deepEqual(evaluate(ctx, "span", "Values(resource.attributes)"), ["checkout"]);
});

// ---------------------------------------------------------------------------------------------
// Metric functions

Deno.test("convert_sum_to_gauge and convert_gauge_to_sum", () => {
  const ctx = sampleContext();
  run(ctx, "metric", 'convert_gauge_to_sum("cumulative", true)');
  assert.equal(ctx.metric!.data?.type, "sum");
  run(ctx, "metric", "convert_sum_to_gauge()");
  assert.equal(ctx.metric!.data?.type, "gauge");
  assert.equal(
    compileStatements(['convert_gauge_to_sum("sometimes", true)'], { signal: "metrics" }).ok,
    false,
  );
});

Deno.test("extract_sum_metric and extract_count_metric need a histogram or summary", () => {
  const ctx = sampleContext();
  assert.throws(() => run(ctx, "metric", "extract_sum_metric(true)"));
  ctx.metric!.data = {
    type: "summary",
    dataPoints: [{
      attributes: [],
      startTimeUnixNano: 0n,
      timeUnixNano: 5n,
      count: 3n,
      sum: 9,
      quantileValues: [],
      flags: 0,
    }],
  };
  run(ctx, "metric", "extract_sum_metric(false)", 'extract_count_metric(true, ".count")');
  assert.deepEqual(ctx.metrics!.map((m) => m.name), ["requests", "requests_sum", "requests.count"]);
  const count = ctx.metrics![2]!.data;
  assert.equal(count?.type === "sum" && count.dataPoints[0]!.value, 3n);
});

Deno.test("scale_metric multiplies values and sets the unit", () => {
  const ctx = sampleContext();
  run(ctx, "metric", 'scale_metric(10.0, "ms")');
  assert.equal(ctx.metric!.unit, "ms");
  assert.equal(ctx.metric!.data?.type === "gauge" && ctx.metric!.data.dataPoints[0]!.value, 25);
});

Deno.test("aggregate_on_attributes groups points on the kept attributes", () => {
  const ctx = sampleContext();
  const d = ctx.metric!.data!;
  if (d.type !== "gauge") throw new Error("gauge expected");
  d.dataPoints.push({
    ...d.dataPoints[0]!,
    value: 1.5,
    attributes: [{ key: "host", value: "h1" }, { key: "x", value: "y" }],
  });
  run(ctx, "metric", 'aggregate_on_attributes("sum", ["host"])');
  assert.equal(d.dataPoints.length, 1);
  assert.equal(d.dataPoints[0]!.value, 4);
  assert.deepEqual(d.dataPoints[0]!.attributes, [{ key: "host", value: "h1" }]);
});

// ---------------------------------------------------------------------------------------------
// Bounded regexes

Deno.test("patterns that can backtrack exponentially are refused at compile time", () => {
  for (
    const p of ["(a+)+$", "(a*)*", "(x+|y)*z", "((ab)+c?)+", "(\\w+\\s?)+$", "(a)\\1", "(?=a)"]
  ) {
    assert.ok(unsafeRegexReason(p) !== undefined, p);
  }
  for (const p of ["^(\\d+)-(\\d+)$", "(ab)+", "token=[^&]*", "(\\d+\\.)?\\d+", "a{2,5}"]) {
    assert.equal(unsafeRegexReason(p), undefined, p);
  }
  const r = compileStatements(['replace_pattern(span.name, "(a+)+$", "x")'], { signal: "traces" });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.issues[0]!.offset, 27);
});

Deno.test("a huge value is refused by a pattern at run time, not matched", () => {
  const ctx = sampleContext();
  ctx.span!.name = "a".repeat(2 * 1024 * 1024);
  assert.throws(() => run(ctx, "span", 'replace_pattern(name, "a", "b")'), /longer than/);
});
