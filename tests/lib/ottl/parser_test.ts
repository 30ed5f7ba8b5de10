import assert from "node:assert/strict";
import { parseCondition, parseStatement, parseValue } from "../../../lib/ottl/parser.ts";
import { compileConditions, compileStatements, OttlError } from "../../../lib/ottl/mod.ts";

function offsetOf(f: () => unknown): number {
  try {
    f();
  } catch (error) {
    if (error instanceof OttlError) return error.offset;
    throw error;
  }
  throw new Error("did not throw");
}

Deno.test("parser reads an editor with a where clause and keeps offsets", () => {
  const s = parseStatement('set(span.attributes["a"]["b"][0], "x") where span.name == "y"');
  assert.equal(s.editor.name, "set");
  const target = s.editor.args[0]!.value;
  assert.equal(target.kind, "path");
  if (target.kind !== "path") return;
  assert.deepEqual(target.names, ["span", "attributes"]);
  assert.equal(target.keys.length, 3);
  assert.equal(target.at, 4);
  assert.equal(s.where?.kind, "compare");
});

Deno.test("parser gives not over and over or precedence", () => {
  const c = parseCondition("not true and false or true");
  assert.equal(c.kind, "or");
  if (c.kind !== "or") return;
  assert.equal(c.items[0]!.kind, "and");
});

Deno.test("parser groups math with * over +, and parenthesised conditions", () => {
  const v = parseValue("1 + 2 * 3");
  assert.equal(v.kind, "math");
  if (v.kind === "math") assert.equal(v.op, "+");
  assert.equal(parseCondition("(1 + 2) * 3 == 9").kind, "compare");
  assert.equal(parseCondition('(span.name == "a" or span.name == "b") and true').kind, "and");
});

Deno.test("parser reads literals: negative numbers, floats, bytes, nil, lists, maps", () => {
  assert.deepEqual(parseValue("-1"), { kind: "int", value: -1n, at: 0 });
  assert.equal((parseValue("-.5") as { value: number }).value, -0.5);
  assert.deepEqual((parseValue("0x0102") as { value: Uint8Array }).value, new Uint8Array([1, 2]));
  assert.equal(parseValue("nil").kind, "nil");
  assert.equal(parseValue('[1, "a", [true]]').kind, "list");
  assert.equal(parseValue('{"a": {"b": 1}}').kind, "map");
  assert.equal(parseValue('Split(span.name, " ")[1]').kind, "call");
});

Deno.test("syntax errors carry the offset of the offending character", () => {
  assert.equal(offsetOf(() => parseStatement('set(span.name, "a"')), 18);
  assert.equal(offsetOf(() => parseStatement("set(span.name, @)")), 15);
  assert.equal(offsetOf(() => parseStatement('set(span.name, "a) ')), 15);
  assert.equal(offsetOf(() => parseStatement('Concat([], "")')), 0);
  assert.equal(offsetOf(() => parseCondition("span.name")), 9);
  assert.equal(offsetOf(() => parseStatement("set(span.name, 0x1)")), 15);
});

Deno.test("compile errors carry offsets: unknown function, arity, argument kind, path, context", () => {
  const r = compileStatements([
    'set(span.nme, "x")',
    "nope(span.name)",
    'set(span.name, Concat(["a"]))',
    'set("x", span.name)',
    "delete_key(span.attributes, span.name)",
    'set(span.name, "a", "b")',
  ], { signal: "traces" });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const by = new Map(r.issues.map((i) => [i.index, i]));
  assert.equal(by.get(0)!.offset, 9);
  assert.match(by.get(1)!.message, /unknown function "nope"/);
  assert.match(by.get(2)!.message, /missing "delimiter"/);
  assert.equal(by.get(2)!.offset, 15);
  assert.match(by.get(3)!.message, /must be a path/);
  assert.match(by.get(4)!.message, /must be a string literal/);
  assert.equal(by.get(4)!.offset, 28);
  assert.match(by.get(5)!.message, /at most 2 arguments/);
});

Deno.test("a path of another signal is refused, with the context named", () => {
  const r = compileStatements(['set(log.body, "x")'], { signal: "traces" });
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.issues[0]!.message, /context "log" is not available for traces/);
  const s = compileStatements(['set(spanevent.name, "x")'], { signal: "traces", context: "span" });
  assert.equal(s.ok, false);
});

Deno.test("context is inferred from the deepest path prefix", () => {
  const r = compileStatements([
    'set(metric.description, "x") where datapoint.attributes["a"] == "b"',
    'set(resource.attributes["r"], 1)',
  ], { signal: "metrics" });
  assert.equal(r.ok && r.context, "datapoint");
  const m = compileStatements(['set(resource.attributes["r"], 1)', 'set(metric.unit, "s")'], {
    signal: "metrics",
  });
  assert.equal(m.ok && m.context, "metric");
  const f = compileStatements(["convert_sum_to_gauge()"], { signal: "metrics" });
  assert.equal(f.ok && f.context, "metric");
  const bad = compileStatements([
    "convert_sum_to_gauge()",
    "limit(datapoint.attributes, 1, [])",
  ], { signal: "metrics" });
  assert.equal(bad.ok, false);
});

Deno.test("inferred statements need context prefixes on paths; explicit context does not", () => {
  const r = compileStatements(['set(attributes["a"], "b")'], { signal: "traces" });
  assert.equal(r.ok, false);
  const e = compileStatements(['set(attributes["a"], "b")'], { signal: "traces", context: "span" });
  assert.equal(e.ok, true);
});

Deno.test("enums resolve per context and unknown enums are errors", () => {
  assert.equal(
    compileConditions(["span.kind == SPAN_KIND_SERVER"], { signal: "traces", context: "span" }).ok,
    true,
  );
  assert.equal(
    compileConditions(["log.severity_number >= SEVERITY_NUMBER_WARN"], {
      signal: "logs",
      context: "log",
    }).ok,
    true,
  );
  const bad = compileConditions(["span.kind == SPAN_KIND_NOPE"], {
    signal: "traces",
    context: "span",
  });
  assert.equal(bad.ok, false);
  const wrong = compileConditions(["log.severity_number == SPAN_KIND_SERVER"], {
    signal: "logs",
    context: "log",
  });
  assert.equal(wrong.ok, false);
});

Deno.test("deeply nested input is refused with an error, not a stack overflow", () => {
  const deep = "[".repeat(5000) + "]".repeat(5000);
  assert.throws(() => parseValue(deep), OttlError);
  const cond = "not ".repeat(5000) + "true";
  assert.throws(() => parseCondition(cond), OttlError);
});
