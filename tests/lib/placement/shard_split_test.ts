import assert from "node:assert/strict";
import {
  shardOfService,
  shardOfTraceId,
  splitByResourceService,
  splitByShardKey,
  splitTracesByTraceId,
} from "../../../lib/placement/shard_split.ts";
import { OtlpDecodeError } from "../../../lib/otlp/errors.ts";
import { decodeTracesRequest, encodeTracesRequest } from "../../../lib/otlp/traces_proto.ts";
import { decodeMetricsRequest, encodeMetricsRequest } from "../../../lib/otlp/metrics_proto.ts";
import { decodeLogsRequest, encodeLogsRequest } from "../../../lib/otlp/logs_proto.ts";
import type { Signal, TracesData } from "../../../lib/pdata/types.ts";
import { Gen } from "../../otlp/_gen.ts";

// ---------------------------------------------------------------------------------------------
// An independent wire walker for the checks (allocates freely; not the code under test).

interface Field {
  /** Field number. */
  readonly f: number;
  /** Wire type. */
  readonly wt: number;
  /** The whole field: tag, length and content. */
  readonly raw: Uint8Array;
  /** The content of a length-delimited field. */
  readonly content: Uint8Array;
}

function varint(b: Uint8Array, p: { i: number }): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (p.i >= b.length) throw new Error("truncated varint");
    const c = b[p.i++]!;
    v += (c & 0x7f) * mul;
    mul *= 128;
    if (c < 0x80) return v;
  }
}

function fieldsOf(b: Uint8Array): Field[] {
  const out: Field[] = [];
  const p = { i: 0 };
  while (p.i < b.length) {
    const start = p.i;
    const tag = varint(b, p);
    const wt = tag % 8;
    let content: Uint8Array = new Uint8Array(0);
    if (wt === 0) varint(b, p);
    else if (wt === 1) p.i += 8;
    else if (wt === 5) p.i += 4;
    else if (wt === 2) {
      const n = varint(b, p);
      content = b.subarray(p.i, p.i + n);
      p.i += n;
    } else throw new Error(`wire type ${wt}`);
    if (p.i > b.length) throw new Error("truncated field");
    out.push({ f: Math.floor(tag / 8), wt, raw: b.subarray(start, p.i), content });
  }
  return out;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Every field of `b` but those numbered `item`, concatenated (an envelope's context). */
function context(b: Uint8Array, item: number): string {
  return fieldsOf(b).filter((x) => !(x.f === item && x.wt === 2)).map((x) => hex(x.raw)).join(
    ".",
  );
}

/** One line per span: the request's, resource's and scope's context and the span's bytes. */
function spanLines(request: Uint8Array): string[] {
  const lines: string[] = [];
  const top = context(request, 1);
  for (const rs of fieldsOf(request)) {
    if (rs.f !== 1 || rs.wt !== 2) continue;
    const rc = context(rs.content, 2);
    for (const ss of fieldsOf(rs.content)) {
      if (ss.f !== 2 || ss.wt !== 2) continue;
      const sc = context(ss.content, 2);
      for (const span of fieldsOf(ss.content)) {
        if (span.f === 2 && span.wt === 2) lines.push(`${top}|${rc}|${sc}|${hex(span.raw)}`);
      }
    }
  }
  return lines;
}

/** The last trace_id of an encoded span. */
function traceIdOf(span: Uint8Array): Uint8Array {
  let id: Uint8Array = new Uint8Array(0);
  for (const x of fieldsOf(span)) if (x.f === 1 && x.wt === 2) id = x.content;
  return id;
}

function spansOf(request: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const rs of fieldsOf(request)) {
    if (rs.f !== 1) continue;
    for (const ss of fieldsOf(rs.content)) {
      if (ss.f !== 2) continue;
      for (const span of fieldsOf(ss.content)) if (span.f === 2) out.push(span.content);
    }
  }
  return out;
}

function sorted(xs: string[]): string[] {
  return [...xs].sort();
}

/** Checks every rule of a trace split of `input` into `shards`. */
function checkTraceSplit(input: Uint8Array, shards: Uint8Array[], n: number): void {
  assert.equal(shards.length, n);
  const union: string[] = [];
  const inputLines = spanLines(input);
  const firstAt = new Map<string, number>();
  for (const [i, line] of inputLines.entries()) if (!firstAt.has(line)) firstAt.set(line, i);
  for (const [s, shard] of shards.entries()) {
    decodeTracesRequest(shard); // each shard is a valid request
    const mine = spanLines(shard);
    union.push(...mine);
    for (const span of spansOf(shard)) assert.equal(shardOfTraceId(traceIdOf(span), n), s);
    // A shard's spans keep their relative order.
    const order = [...new Set(mine)].map((l) => firstAt.get(l) ?? -1);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
  }
  assert.deepEqual(sorted(union), sorted(inputLines));
}

function encodeTraces(d: TracesData): Uint8Array {
  return encodeTracesRequest(d);
}

// ---------------------------------------------------------------------------------------------

Deno.test("shardOfTraceId is stable and in range", () => {
  const id = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
  // Pinned: a change of hash moves every trace to another worker across a rolling restart.
  assert.deepEqual([2, 3, 4, 8, 1000].map((n) => shardOfTraceId(id, n)), [1, 2, 3, 7, 953]);
  const checkout = new TextEncoder().encode("checkout");
  assert.deepEqual([2, 3, 4, 8, 1000].map((n) => shardOfService(checkout, n)), [0, 0, 1, 2, 293]);
  assert.equal(shardOfTraceId(id, 1), 0);
  assert.equal(shardOfTraceId(new Uint8Array(0), 1), 0);
  for (let n = 1; n <= 9; n++) {
    const s = shardOfTraceId(id, n);
    assert.ok(s >= 0 && s < n && Number.isInteger(s));
  }
  assert.throws(() => shardOfTraceId(id, 0), RangeError);
  assert.throws(() => shardOfTraceId(id, 1.5), RangeError);
});

Deno.test("shardOfTraceId spreads random trace IDs evenly", () => {
  const g = new Gen(7);
  const ids = Array.from({ length: 60_000 }, () => g.bytes(16));
  // The 99.9th percentile of chi-square with n - 1 degrees of freedom.
  const limits: Record<number, number> = { 2: 10.83, 3: 13.82, 4: 16.27, 7: 22.46, 16: 37.7 };
  for (const n of [2, 3, 4, 7, 16]) {
    const counts = new Array<number>(n).fill(0);
    for (const id of ids) counts[shardOfTraceId(id, n)]!++;
    const expected = ids.length / n;
    let chi = 0;
    for (const c of counts) chi += (c - expected) ** 2 / expected;
    assert.ok(chi < limits[n]!, `n=${n}: ${counts.join(" ")} (chi-square ${chi.toFixed(1)})`);
  }
  // IDs that differ in one byte only (sequential generators) spread as well.
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) {
    const id = new Uint8Array(16);
    id[15] = i & 0xff;
    id[14] = i >> 8;
    counts[shardOfTraceId(id, 4)]!++;
  }
  for (const c of counts) assert.ok(c > 850 && c < 1150, counts.join(" "));
});

Deno.test("splitTracesByTraceId: random requests round-trip byte for byte", () => {
  const g = new Gen(19);
  let split = 0;
  for (let i = 0; i < 300; i++) {
    const input = encodeTraces(g.traces());
    for (const n of [1, 2, 3, 5]) {
      const shards = splitTracesByTraceId(input, n);
      checkTraceSplit(input, shards, n);
      if (shards.filter((s) => s.length > 0).length > 1) split++;
    }
  }
  assert.ok(split > 300, `only ${split} requests were actually split`);
});

Deno.test("splitTracesByTraceId keeps every span of a trace in one shard", () => {
  const g = new Gen(3);
  const traceIds = Array.from({ length: 40 }, () => g.bytes(16));
  const data: TracesData = g.traces();
  // Many resources and scopes, spans of the same traces spread over all of them.
  for (const rs of data.resourceSpans) {
    for (const ss of rs.scopeSpans) for (const span of ss.spans) span.traceId = g.pick(traceIds);
  }
  const input = encodeTraces(data);
  const shards = splitTracesByTraceId(input, 4);
  checkTraceSplit(input, shards, 4);
  const where = new Map<string, number>();
  for (const [s, shard] of shards.entries()) {
    for (const span of spansOf(shard)) {
      const key = hex(traceIdOf(span));
      assert.equal(where.get(key) ?? s, s, `trace ${key} is in two shards`);
      where.set(key, s);
    }
  }
});

Deno.test("splitTracesByTraceId returns the input itself when one shard gets everything", () => {
  const g = new Gen(5);
  const data = g.traces();
  const traceId = g.bytes(16);
  data.resourceSpans.push({
    resource: g.resource(),
    scopeSpans: [{ scope: g.scope(), spans: [g.span(), g.span()], schemaUrl: "" }],
    schemaUrl: "",
  });
  for (const rs of data.resourceSpans) {
    for (const ss of rs.scopeSpans) for (const span of ss.spans) span.traceId = traceId;
  }
  const input = encodeTraces(data);
  const shards = splitTracesByTraceId(input, 3);
  const at = shardOfTraceId(traceId, 3);
  for (let s = 0; s < 3; s++) {
    if (s === at) assert.equal(shards[s], input);
    else assert.equal(shards[s]!.length, 0);
  }
  // n = 1 never copies either.
  assert.equal(splitTracesByTraceId(input, 1)[0], input);
});

Deno.test("splitTracesByTraceId: a request without spans goes whole to shard 0", () => {
  const empty = new Uint8Array(0);
  const shards = splitTracesByTraceId(empty, 3);
  assert.equal(shards.length, 3);
  assert.ok(shards.every((s) => s.length === 0));
  const g = new Gen(1);
  const noSpans = encodeTraces({
    resourceSpans: [{ resource: g.resource(), scopeSpans: [], schemaUrl: "x" }],
  });
  const out = splitTracesByTraceId(noSpans, 3);
  assert.equal(out[0], noSpans);
  assert.equal(out[1]!.length + out[2]!.length, 0);
});

/** A length-delimited field. */
function ld(field: number, ...parts: Uint8Array[]): Uint8Array {
  const content = concat(...parts);
  const head: number[] = [];
  for (let v of [field * 8 + 2, content.length]) {
    while (v >= 0x80) {
      head.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    head.push(v);
  }
  return concat(Uint8Array.from(head), content);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const te = new TextEncoder();
const str = (s: string) => te.encode(s);
/** An unknown varint field 99 = 7 (tag 99 << 3 = 792: two bytes). */
const UNKNOWN = Uint8Array.from([0x98, 0x06, 0x07]);

/** Two trace IDs that land in different shards of 2. */
function twoShardIds(): [Uint8Array, Uint8Array] {
  const a = new Uint8Array(16).fill(1);
  for (let i = 0; i < 256; i++) {
    const b = new Uint8Array(16).fill(2);
    b[0] = i;
    if (shardOfTraceId(b, 2) !== shardOfTraceId(a, 2)) return [a, b];
  }
  throw new Error("no pair");
}

Deno.test("splitTracesByTraceId repeats context and unknown fields with the spans they enclose", () => {
  const [a, b] = twoShardIds();
  const span = (id: Uint8Array, name: string) =>
    ld(2, ld(1, id), ld(5, str(name)), UNKNOWN, ld(100, str("unknown span field")));
  const resource = ld(1, ld(1, ld(1, str("service.name")), ld(2, ld(1, str("svc")))));
  const scope = ld(1, ld(1, str("lib")), ld(2, str("1.0")));
  const input = concat(
    UNKNOWN, // a request-level unknown field
    ld(
      1,
      resource,
      UNKNOWN,
      ld(2, scope, span(a, "a1"), ld(3, str("scope-schema")), span(b, "b1"), span(a, "a2")),
      ld(2, ld(1, ld(1, str("empty scope")))), // a ScopeSpans without spans
      ld(3, str("resource-schema")),
      ld(101, str("unknown resource field")),
    ),
    ld(1, resource), // a ResourceSpans without ScopeSpans
  );
  const shards = splitTracesByTraceId(input, 2);
  checkTraceSplit(input, shards, 2);
  const sa = shardOfTraceId(a, 2);
  const sb = 1 - sa;
  // The spans of trace a stay together, in order, under the whole context.
  const names = (shard: Uint8Array) =>
    decodeTracesRequest(shard).resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))
    );
  assert.deepEqual(names(shards[sa]!), ["a1", "a2"]);
  assert.deepEqual(names(shards[sb]!), ["b1"]);
  for (const s of [sa, sb]) {
    const shard = shards[s]!;
    assert.deepEqual(fieldsOf(shard)[0]!.raw, UNKNOWN);
    const rs = fieldsOf(shard)[1]!.content;
    const rsFields = fieldsOf(rs).map((f) => f.f);
    const d = decodeTracesRequest(shard).resourceSpans[0]!;
    assert.equal(d.schemaUrl, "resource-schema");
    assert.equal(d.resource.attributes[0]!.value, "svc");
    assert.equal(d.scopeSpans[0]!.scope.name, "lib");
    assert.equal(d.scopeSpans[0]!.schemaUrl, "scope-schema");
    // Field order of the envelope is kept: resource, unknown, scope spans..., schema, unknown.
    assert.equal(rsFields[0], 1);
    assert.equal(rsFields[1], 99);
    assert.equal(rsFields.at(-1), 101);
    const spansHere = spansOf(shard);
    for (const sp of spansHere) assert.ok(hex(sp).includes(hex(UNKNOWN)));
  }
  // Empty envelopes go with the first span (trace a).
  const emptyScopeIn = (shard: Uint8Array) =>
    decodeTracesRequest(shard).resourceSpans.some((rs) =>
      rs.scopeSpans.some((ss) => ss.scope.name === "empty scope")
    );
  assert.ok(emptyScopeIn(shards[sa]!));
  assert.ok(!emptyScopeIn(shards[sb]!));
  assert.equal(decodeTracesRequest(shards[sa]!).resourceSpans.length, 2);
  assert.equal(decodeTracesRequest(shards[sb]!).resourceSpans.length, 1);
});

Deno.test("splitTracesByTraceId: the last trace_id of a span decides, as in decoding", () => {
  const [a, b] = twoShardIds();
  const input = ld(1, ld(2, ld(2, ld(1, a), ld(1, b)), ld(2, ld(1, a))));
  const shards = splitTracesByTraceId(input, 2);
  const decoded = decodeTracesRequest(shards[shardOfTraceId(b, 2)]!);
  assert.deepEqual(decoded.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId, b);
  // Any length decodes, so any length splits (a 70 kB ID: a three-byte length prefix).
  const long = new Uint8Array(70_000).fill(9);
  const odd = ld(1, ld(2, ld(2, ld(1, long)), ld(2, ld(1, a)), ld(2, ld(1, b))));
  checkTraceSplit(odd, splitTracesByTraceId(odd, 3), 3);
});

Deno.test("splitTracesByTraceId handles long envelopes and many resources", () => {
  const g = new Gen(11);
  const data: TracesData = { resourceSpans: [] };
  for (let r = 0; r < 300; r++) {
    data.resourceSpans.push({
      resource: { attributes: [{ key: "k", value: "x".repeat(r * 7) }], droppedAttributesCount: 0 },
      scopeSpans: [{
        scope: g.scope(),
        spans: Array.from({ length: 1 + (r % 7) }, () => g.span()),
        schemaUrl: "",
      }],
      schemaUrl: "",
    });
  }
  const input = encodeTraces(data);
  for (const n of [2, 8, 64]) checkTraceSplit(input, splitTracesByTraceId(input, n), n);
});

function isSplitError(signal: Signal) {
  return (e: unknown) =>
    e instanceof OtlpDecodeError && e.message.startsWith(`Cannot split the ${signal} request: `);
}

Deno.test("splitTracesByTraceId refuses malformed framing with an OtlpDecodeError", () => {
  const g = new Gen(23);
  for (let i = 0; i < 40; i++) {
    const input = encodeTraces(g.traces());
    // Every truncation: a valid prefix splits; anything else is an OtlpDecodeError.
    for (let cut = 0; cut < input.length; cut += 1 + (cut >> 6)) {
      const bytes = input.subarray(0, cut);
      let ok = true;
      try {
        decodeTracesRequest(bytes);
      } catch {
        ok = false;
      }
      if (ok) checkTraceSplit(bytes, splitTracesByTraceId(bytes, 3), 3);
      else {
        try {
          checkTraceSplit(bytes, splitTracesByTraceId(bytes, 3), 3);
        } catch (e) {
          assert.ok(isSplitError("traces")(e), String(e));
        }
      }
    }
    // Random byte changes: whatever decodes, splits (the split is never stricter).
    for (let m = 0; m < 60; m++) {
      const bytes = input.slice();
      if (bytes.length === 0) break;
      bytes[g.int(bytes.length)] = g.int(256);
      let decodes = true;
      try {
        decodeTracesRequest(bytes);
      } catch {
        decodes = false;
      }
      try {
        const shards = splitTracesByTraceId(bytes, 2);
        if (decodes) checkTraceSplit(bytes, shards, 2);
      } catch (e) {
        assert.ok(!decodes, `decodes but does not split: ${e}`);
        assert.ok(isSplitError("traces")(e), String(e));
      }
    }
  }
  const bad = [
    Uint8Array.from([0x0a, 0x05, 0x12]), // length past the end
    Uint8Array.from([0x08, 0x01]), // field 1 as a varint
    Uint8Array.from([0x0a, 0x02, 0x10, 0x01]), // ScopeSpans field as a varint
    Uint8Array.from([0x0a, 0x04, 0x12, 0x02, 0x12, 0x05]), // span length past its scope
    Uint8Array.from([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x08, 0x01]), // trace_id as a varint
    Uint8Array.from([0x0b]), // a group
    Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
  ];
  for (const bytes of bad) {
    assert.throws(() => splitTracesByTraceId(bytes, 2), isSplitError("traces"), hex(bytes));
  }
});

// ---------------------------------------------------------------------------------------------
// By service

const CODECS = {
  traces: {
    gen: (g: Gen) => g.traces(),
    encode: encodeTracesRequest,
    decode: decodeTracesRequest,
    resources: (b: Uint8Array) => decodeTracesRequest(b).resourceSpans.map((r) => r.resource),
  },
  metrics: {
    gen: (g: Gen) => g.metrics(),
    encode: encodeMetricsRequest,
    decode: decodeMetricsRequest,
    resources: (b: Uint8Array) => decodeMetricsRequest(b).resourceMetrics.map((r) => r.resource),
  },
  logs: {
    gen: (g: Gen) => g.logs(),
    encode: encodeLogsRequest,
    decode: decodeLogsRequest,
    resources: (b: Uint8Array) => decodeLogsRequest(b).resourceLogs.map((r) => r.resource),
  },
} as const;

const SERVICES = ["checkout", "cart", "payment", "ad", "email", "frontend", "ünïcode"];

/** The expected shard of a decoded resource. */
function expectedServiceShard(
  attributes: readonly { key: string; value: unknown }[],
  n: number,
): number | undefined {
  const kv = attributes.find((a) => a.key === "service.name");
  if (kv === undefined) return 0;
  return typeof kv.value === "string" ? shardOfService(te.encode(kv.value), n) : undefined;
}

for (const signal of ["traces", "metrics", "logs"] as const) {
  Deno.test(`splitByResourceService splits ${signal} by service.name, byte for byte`, () => {
    const codec = CODECS[signal];
    const g = new Gen(31);
    let split = 0;
    for (let i = 0; i < 150; i++) {
      // deno-lint-ignore no-explicit-any
      const data: any = codec.gen(g);
      const list = data.resourceSpans ?? data.resourceMetrics ?? data.resourceLogs;
      for (const r of list) {
        if (g.chance(0.8)) {
          r.resource.attributes.splice(g.int(r.resource.attributes.length + 1), 0, {
            key: "service.name",
            value: g.pick(SERVICES),
          });
        }
      }
      // Extra resources so that most requests hold several services.
      const input = (codec.encode as (d: unknown) => Uint8Array)(data);
      for (const n of [1, 2, 3]) {
        const shards = splitByResourceService(signal, input, n);
        assert.equal(shards.length, n);
        const union: string[] = [];
        for (const [s, shard] of shards.entries()) {
          codec.decode(shard);
          for (const resource of codec.resources(shard)) {
            const want = expectedServiceShard(resource.attributes, n);
            if (want !== undefined) assert.equal(want, s);
          }
          for (const f of fieldsOf(shard)) if (f.f === 1) union.push(hex(f.raw));
        }
        const all = fieldsOf(input).filter((f) => f.f === 1).map((f) => hex(f.raw));
        assert.deepEqual(sorted(union), sorted(all));
        if (shards.filter((s) => s.length > 0).length > 1) split++;
        else if (input.length > 0) assert.ok(shards.includes(input));
      }
    }
    assert.ok(split > 50, `only ${split} splits`);
  });
}

Deno.test("splitByResourceService: the first service.name of the last resource decides", () => {
  const kv = (k: string, v: string) => ld(1, ld(1, str(k)), ld(2, ld(1, str(v))));
  let other = "b";
  while (shardOfService(str(other), 2) === shardOfService(str("a"), 2)) other += "b";
  const svcA = shardOfService(str("a"), 2);
  const input = concat(
    ld(1, ld(1, kv("service.name", other)), ld(1, kv("x", "y"), kv("service.name", "a"))),
    ld(1, ld(1, kv("service.name", "a"), kv("service.name", other))),
    ld(1, ld(1, kv("service.name", other)), UNKNOWN),
    UNKNOWN,
  );
  const shards = splitByResourceService("logs", input, 2);
  const names = (b: Uint8Array) =>
    decodeLogsRequest(b).resourceLogs.map((r) =>
      r.resource.attributes.find((a) => a.key === "service.name")!.value
    );
  assert.deepEqual(names(shards[svcA]!), ["a", "a"]);
  assert.deepEqual(names(shards[1 - svcA]!), [other]);
  // The request-level unknown field is repeated; the ResourceLogs one stays with its resource.
  for (const shard of shards) assert.deepEqual(fieldsOf(shard).at(-1)!.raw, UNKNOWN);
  assert.ok(hex(shards[1 - svcA]!).includes(hex(UNKNOWN) + hex(UNKNOWN)));
});

Deno.test("splitByResourceService: no service.name goes to shard 0; one service is not copied", () => {
  const g = new Gen(2);
  const data = g.logs();
  for (const r of data.resourceLogs) {
    r.resource.attributes = r.resource.attributes.filter((a) => a.key !== "service.name");
  }
  const input = encodeLogsRequest(data);
  const shards = splitByResourceService("logs", input, 4);
  assert.equal(shards[0], input);
  for (const svc of SERVICES) {
    for (const r of data.resourceLogs) {
      r.resource.attributes = [{ key: "service.name", value: svc }];
    }
    const one = encodeLogsRequest(data);
    if (data.resourceLogs.length === 0) continue;
    assert.equal(splitByResourceService("logs", one, 4)[shardOfService(str(svc), 4)], one);
  }
});

Deno.test("splitByResourceService refuses malformed framing with an OtlpDecodeError", () => {
  const g = new Gen(29);
  for (const signal of ["traces", "metrics", "logs"] as const) {
    const codec = CODECS[signal];
    for (let i = 0; i < 30; i++) {
      const input = (codec.encode as (d: unknown) => Uint8Array)(codec.gen(g));
      for (let m = 0; m < 40 && input.length > 0; m++) {
        const bytes = input.slice(0, g.int(input.length + 1));
        if (bytes.length > 0) bytes[g.int(bytes.length)] = g.int(256);
        let decodes = true;
        try {
          codec.decode(bytes);
        } catch {
          decodes = false;
        }
        try {
          splitByResourceService(signal, bytes, 3);
        } catch (e) {
          assert.ok(!decodes, `decodes but does not split: ${e}`);
          assert.ok(isSplitError(signal)(e), String(e));
        }
      }
    }
  }
  assert.throws(
    () => splitByResourceService("metrics", Uint8Array.from([0x0a, 0x03, 0x0a, 0x05]), 2),
    isSplitError("metrics"),
  );
  assert.throws(() => splitByResourceService("logs", new Uint8Array(0), 0), RangeError);
});

Deno.test("splitByShardKey picks the split of a placement's key", () => {
  const g = new Gen(37);
  const traces = encodeTracesRequest(g.traces());
  assert.deepEqual(
    splitByShardKey("trace_id", "traces", traces, 3),
    splitTracesByTraceId(traces, 3),
  );
  assert.deepEqual(
    splitByShardKey("service", "traces", traces, 3),
    splitByResourceService("traces", traces, 3),
  );
  const logs = encodeLogsRequest(g.logs());
  assert.deepEqual(
    splitByShardKey("service", "logs", logs, 2),
    splitByResourceService("logs", logs, 2),
  );
  assert.throws(() => splitByShardKey("trace_id", "metrics", new Uint8Array(0), 2), RangeError);
});
