import assert from "node:assert/strict";
import { operatorConfigSchema } from "../../../lib/stanza/config.ts";
import { newEntry } from "../../../lib/stanza/entry.ts";
import { compileCondition } from "../../../lib/stanza/expr.ts";
import { getField, parseField, setField } from "../../../lib/stanza/field.ts";
import { buildPipeline } from "../../../lib/stanza/pipeline.ts";
import { compileSeverity } from "../../../lib/stanza/severity.ts";
import { compileTimestamp } from "../../../lib/stanza/timestamp.ts";
import type { Entry } from "../../../lib/stanza/entry.ts";
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function run(ops: unknown[], body: unknown, attributes: Record<string, unknown> = {}): Entry[] {
  const p = buildPipeline(ops.map((o) => operatorConfigSchema.parse(o)));
  const e = newEntry(body, 1n);
  Object.assign(e.attributes, attributes);
  const out: Entry[] = [];
  p.process(e, (x) => out.push(x));
  return out;
}

Deno.test("fields: body, attributes with brackets, resource", () => {
  const e = newEntry({ a: { b: 1 } }, 0n);
  assert.equal(getField(e, parseField("body.a.b")), 1);
  setField(e, parseField('attributes["k.8s"]'), "x");
  assert.deepEqual(e.attributes, { "k.8s": "x" });
  setField(e, parseField("resource.r"), 2);
  assert.deepEqual(e.resource, { r: 2 });
  assert.throws(() => parseField("foo.bar"));
});

Deno.test("strptime layouts of the Collector's docs", () => {
  const utc = (layout: string) => compileTimestamp({ layout, location: "UTC" });
  assert.equal(utc("%Y-%m-%d")("2020-06-05"), 1591315200000000000n);
  assert.equal(
    compileTimestamp({ layout: "%Y-%m-%d %H:%M:%S.%f %z" })("2022-01-02 07:24:56,123 -0700"),
    1641133496123000000n,
  );
  assert.equal(
    utc("%Y-%m-%dT%H:%M:%S.%LZ")("2022-01-02T14:24:56.123123123Z"),
    1641133496123123123n,
  );
  assert.equal(
    utc("%a %b %e %H:%M:%S %Z %Y")("Fri Jun  5 13:50:27 EST 2020"),
    1591383027000000000n,
  );
  assert.equal(utc("%d/%b/%Y:%H:%M:%S %z")("10/Oct/2000:13:55:36 -0700"), 971211336000000000n);
  assert.equal(utc("%I:%M %p %F")("01:05 PM 2020-01-01"), 1577883900000000000n);
  assert.equal(
    compileTimestamp({ layout: "%Y-%m-%d %H:%M:%S", location: "America/New_York" })(
      "2020-06-05 13:50:27",
    ),
    1591379427000000000n,
  );
  assert.throws(() => utc("%Y-%m-%d")("2020/06/05"));
});

Deno.test("gotime and epoch layouts", () => {
  const go = compileTimestamp({
    layout_type: "gotime",
    layout: "2006-01-02T15:04:05.999999999Z07:00",
  });
  assert.equal(go("2023-06-22T10:27:25.813799277Z"), 1687429645813799277n);
  assert.equal(go("2024-04-13T07:59:37.505201169-05:00"), 1713013177505201169n);
  assert.equal(go("2024-04-13T07:59:37Z"), 1712995177000000000n);
  const jan = compileTimestamp({ layout_type: "gotime", layout: "Jan 2 15:04:05 MST 2006" });
  assert.equal(jan("Jun 5 13:50:27 EST 2020"), 1591383027000000000n);
  const s = compileTimestamp({ layout_type: "epoch", layout: "s" });
  assert.equal(s(1136214245), 1136214245000000000n);
  assert.equal(s("1136214245"), 1136214245000000000n);
  const sms = compileTimestamp({ layout_type: "epoch", layout: "s.ms" });
  assert.equal(sms("1136214245.123"), 1136214245123000000n);
  const ms = compileTimestamp({ layout_type: "epoch", layout: "ms" });
  assert.equal(ms(1136214245123), 1136214245123000000n);
});

Deno.test("severity mapping: preset, values, lists, ranges, HTTP classes", () => {
  const p = compileSeverity({
    mapping: {
      error: ["nooo!", "nooooooo"],
      info: "HEY",
      debug: 1234,
      fatal: [{ min: 6, max: 10 }],
      warn: "5xx",
    },
  });
  assert.deepEqual(p("ERROR"), { number: 17, text: "ERROR" });
  assert.equal(p("nooo!").number, 17);
  assert.equal(p("hey").number, 9);
  assert.equal(p(1234).number, 5);
  assert.equal(p(9).number, 21);
  assert.equal(p(503).number, 13);
  assert.equal(p("unknown").number, 0);
  const none = compileSeverity({ preset: "none", mapping: { error: "nooo!" } });
  assert.equal(none("ERROR").number, 0);
  assert.equal(compileSeverity({ overwrite_text: true })("info3").text, "INFO3");
});

Deno.test("expr subset: matches, ==, and/or/not, brackets, in", () => {
  const e = newEntry({ stream: "stderr", log: "x" }, 0n);
  e.attributes["log.file.name"] = "a.log";
  const t = (s: string) => compileCondition(s)(e);
  assert.ok(t('body.stream == "stderr"'));
  assert.ok(t('attributes["log.file.name"] matches "\\.log$"'));
  assert.ok(t('body.stream == "stdout" or not (body.log != "x")'));
  assert.ok(!t('body.stream == "stderr" and body.missing == "y"'));
  assert.ok(t('body.stream in ["stdout", "stderr"]'));
  assert.ok(t("body.missing == nil"));
  assert.throws(() => compileCondition("body =="));
});

Deno.test("regex_parser with named groups, parse_to body, and a timestamp", () => {
  const [e] = run([{
    type: "regex_parser",
    regex: "^Time=(?P<timestamp_field>\\d{4}-\\d{2}-\\d{2}), Host=(?P<host>[^,]+)",
    parse_to: "body",
    timestamp: { parse_from: "body.timestamp_field", layout: "%Y-%m-%d", location: "UTC" },
  }], "Time=2020-01-31, Host=127.0.0.1");
  assert.deepEqual(e!.body, { timestamp_field: "2020-01-31", host: "127.0.0.1" });
  assert.equal(e!.timestamp, 1580428800000000000n);
});

Deno.test("move, copy, add, remove as in the Collector's docs", () => {
  const [e] = run([
    { type: "move", from: "body.key", to: "attributes.new" },
    { type: "copy", from: "attributes.new", to: "resource.copied" },
    { type: "add", field: "body.added", value: { nested: true } },
    { type: "remove", field: "body.drop" },
  ], { key: "val", drop: 1, keep: 2 });
  assert.deepEqual(e!.body, { keep: 2, added: { nested: true } });
  assert.deepEqual(e!.attributes, { new: "val" });
  assert.deepEqual(e!.resource, { copied: "val" });
});

Deno.test("if skips an operator; outputs fan out to several operators", () => {
  const out = run([
    { type: "add", field: "attributes.a", value: 1, if: 'body == "no"' },
    { type: "noop", output: ["x", "y"] },
    { type: "add", id: "x", field: "attributes.x", value: 1, output: "end" },
    { type: "add", id: "y", field: "attributes.y", value: 1, output: "end" },
    { type: "noop", id: "end" },
  ], "yes");
  assert.deepEqual(out.map((e) => e.attributes), [{ x: 1 }, { y: 1 }]);
});

Deno.test("pipeline build errors: unknown output, duplicate IDs, loops", () => {
  const build = (ops: unknown[]) => () =>
    buildPipeline(ops.map((o) => operatorConfigSchema.parse(o)));
  assert.throws(build([{ type: "noop", output: "nope" }]), /not an operator ID/);
  assert.throws(build([{ type: "noop" }, { type: "noop" }]), /Two operators/);
  assert.throws(
    build([{ type: "noop", id: "a", output: "b" }, { type: "noop", id: "b", output: "a" }]),
    /loop/,
  );
  assert.throws(build([{ type: "regex_parser", regex: "(" }]));
});

Deno.test("router default and drop when nothing matches", () => {
  const ops = [
    { type: "router", routes: [{ expr: 'body == "a"', output: "tag" }] },
    { type: "add", id: "tag", field: "attributes.t", value: "a" },
  ];
  assert.equal(run(ops, "a").length, 1);
  assert.equal(run(ops, "b").length, 0);
});
