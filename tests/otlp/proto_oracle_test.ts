import assert from "node:assert/strict";
import {
  countLogsItems,
  countMetricsItems,
  countTracesItems,
  decodeLogsRequest,
  decodeLogsResponse,
  decodeMetricsRequest,
  decodeMetricsResponse,
  decodeTracesRequest,
  decodeTracesResponse,
  encodeLogsRequest,
  encodeLogsResponse,
  encodeMetricsRequest,
  encodeMetricsResponse,
  encodeTracesRequest,
  encodeTracesResponse,
  LOGS_PROTO,
  METRICS_PROTO,
  TRACES_PROTO,
} from "../../lib/otlp/mod.ts";
import { countDataPoints, countLogRecords, countSpans } from "../../lib/pdata/count.ts";
import { Payload } from "../../lib/pdata/payload.ts";
import { Gen } from "./_gen.ts";
import {
  logsIn,
  logsOut,
  metricsIn,
  metricsOut,
  PB,
  pbDecode,
  pbEncode,
  tracesIn,
  tracesOut,
} from "./_oracle.ts";

const SEEDS = 60;

Deno.test("traces: our encoding decodes to the same data with protobufjs", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const data = new Gen(seed).traces();
    const bytes = encodeTracesRequest(data);
    assert.deepStrictEqual(tracesIn(pbDecode(PB.traces, bytes)), data, `seed ${seed}`);
  }
});

Deno.test("traces: protobufjs encoding decodes to the same data with ours", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const data = new Gen(seed).traces();
    const bytes = pbEncode(PB.traces, tracesOut(data));
    assert.deepStrictEqual(decodeTracesRequest(bytes), data, `seed ${seed}`);
    assert.equal(countTracesItems(bytes), countSpans(data));
  }
});

Deno.test("traces: encode then decode is the identity", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const data = new Gen(seed).traces();
    const bytes = encodeTracesRequest(data);
    assert.deepStrictEqual(decodeTracesRequest(bytes), data, `seed ${seed}`);
    assert.equal(countTracesItems(bytes), countSpans(data));
    // Canonical: re-encoding what we decoded gives the same bytes.
    assert.deepStrictEqual(encodeTracesRequest(decodeTracesRequest(bytes)), bytes);
  }
});

Deno.test("metrics: our encoding decodes to the same data with protobufjs", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const data = new Gen(seed).metrics();
    const bytes = encodeMetricsRequest(data);
    assert.deepStrictEqual(metricsIn(pbDecode(PB.metrics, bytes)), data, `seed ${seed}`);
  }
});

Deno.test("metrics: protobufjs encoding decodes to the same data with ours", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const data = new Gen(seed).metrics();
    const bytes = pbEncode(PB.metrics, metricsOut(data));
    assert.deepStrictEqual(decodeMetricsRequest(bytes), data, `seed ${seed}`);
    assert.equal(countMetricsItems(bytes), countDataPoints(data));
  }
});

Deno.test("metrics: encode then decode is the identity", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const data = new Gen(seed).metrics();
    const bytes = encodeMetricsRequest(data);
    assert.deepStrictEqual(decodeMetricsRequest(bytes), data, `seed ${seed}`);
    assert.equal(countMetricsItems(bytes), countDataPoints(data));
    assert.deepStrictEqual(encodeMetricsRequest(decodeMetricsRequest(bytes)), bytes);
  }
});

Deno.test("logs: our encoding decodes to the same data with protobufjs", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const data = new Gen(seed).logs();
    const bytes = encodeLogsRequest(data);
    assert.deepStrictEqual(logsIn(pbDecode(PB.logs, bytes)), data, `seed ${seed}`);
  }
});

Deno.test("logs: protobufjs encoding decodes to the same data with ours", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const data = new Gen(seed).logs();
    const bytes = pbEncode(PB.logs, logsOut(data));
    assert.deepStrictEqual(decodeLogsRequest(bytes), data, `seed ${seed}`);
    assert.equal(countLogsItems(bytes), countLogRecords(data));
  }
});

Deno.test("logs: encode then decode is the identity", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const data = new Gen(seed).logs();
    const bytes = encodeLogsRequest(data);
    assert.deepStrictEqual(decodeLogsRequest(bytes), data, `seed ${seed}`);
    assert.equal(countLogsItems(bytes), countLogRecords(data));
    assert.deepStrictEqual(encodeLogsRequest(decodeLogsRequest(bytes)), bytes);
  }
});

Deno.test("edge values survive exactly: max fixed64, negative int64, 1700000000123456789", () => {
  const g = new Gen(7);
  const span = g.span();
  span.startTimeUnixNano = 1700000000123456789n;
  span.endTimeUnixNano = 18446744073709551615n;
  span.attributes = [
    { key: "min", value: -9223372036854775808n },
    { key: "neg", value: -1n },
    { key: "nan", value: NaN },
    { key: "negzero", value: -0 },
    { key: "empty", value: "" },
    { key: "zero", value: 0n },
    { key: "false", value: false },
    { key: "nothing", value: undefined },
    { key: "nested", value: [[{ kvlist: [{ key: "deep", value: [1.5, "ü"] }] }], []] },
  ];
  const data = {
    resourceSpans: [{
      resource: g.resource(),
      scopeSpans: [{ scope: g.scope(), spans: [span], schemaUrl: "" }],
      schemaUrl: "",
    }],
  };
  const bytes = encodeTracesRequest(data);
  assert.deepStrictEqual(decodeTracesRequest(bytes), data);
  assert.deepStrictEqual(tracesIn(pbDecode(PB.traces, bytes)), data);
});

Deno.test("empty requests encode to zero bytes and decode back", () => {
  assert.equal(encodeTracesRequest({ resourceSpans: [] }).length, 0);
  assert.deepStrictEqual(decodeTracesRequest(new Uint8Array(0)), { resourceSpans: [] });
  assert.deepStrictEqual(decodeMetricsRequest(new Uint8Array(0)), { resourceMetrics: [] });
  assert.deepStrictEqual(decodeLogsRequest(new Uint8Array(0)), { resourceLogs: [] });
});

Deno.test("two encoded requests concatenate into one valid request", () => {
  const a = new Gen(3).traces();
  const b = new Gen(4).traces();
  const ea = encodeTracesRequest(a);
  const eb = encodeTracesRequest(b);
  const joined = new Uint8Array(ea.length + eb.length);
  joined.set(ea);
  joined.set(eb, ea.length);
  assert.deepStrictEqual(decodeTracesRequest(joined), {
    resourceSpans: [...a.resourceSpans, ...b.resourceSpans],
  });
  assert.equal(countTracesItems(joined), countSpans(a) + countSpans(b));
});

Deno.test("decoding works on a view into a larger buffer", () => {
  const data = new Gen(11).logs();
  const bytes = encodeLogsRequest(data);
  const big = new Uint8Array(bytes.length + 20);
  big.set(bytes, 7);
  assert.deepStrictEqual(decodeLogsRequest(big.subarray(7, 7 + bytes.length)), data);
});

Deno.test("the ProtoDecoder objects work with Payload.fromProto", () => {
  const t = new Gen(5).traces();
  const pt = Payload.fromProto("traces", encodeTracesRequest(t), TRACES_PROTO);
  assert.equal(pt.itemCount, countSpans(t));
  assert.deepStrictEqual(pt.read(), t);
  const m = new Gen(5).metrics();
  const pm = Payload.fromProto("metrics", encodeMetricsRequest(m), METRICS_PROTO);
  assert.equal(pm.itemCount, countDataPoints(m));
  assert.deepStrictEqual(pm.read(), m);
  const l = new Gen(5).logs();
  const pl = Payload.fromProto("logs", encodeLogsRequest(l), LOGS_PROTO);
  assert.equal(pl.itemCount, countLogRecords(l));
  assert.deepStrictEqual(pl.read(), l);
});

Deno.test("responses round-trip with partial success, against protobufjs", () => {
  const partial = { rejectedItems: 42n, errorMessage: "too many spans: 42 dropped" };
  const neg = { rejectedItems: -3n, errorMessage: "" };
  for (
    const [encode, decode, type, key] of [
      [encodeTracesResponse, decodeTracesResponse, PB.tracesResponse, "rejectedSpans"],
      [encodeMetricsResponse, decodeMetricsResponse, PB.metricsResponse, "rejectedDataPoints"],
      [encodeLogsResponse, decodeLogsResponse, PB.logsResponse, "rejectedLogRecords"],
    ] as const
  ) {
    assert.equal(encode(undefined).length, 0);
    assert.equal(decode(new Uint8Array(0)), undefined);
    for (const p of [partial, neg, { rejectedItems: 0n, errorMessage: "" }]) {
      const bytes = encode(p);
      assert.deepStrictEqual(decode(bytes), p);
      const o = pbDecode(type, bytes);
      assert.equal(BigInt(o.partialSuccess[key]), p.rejectedItems);
      assert.equal(o.partialSuccess.errorMessage, p.errorMessage);
      const theirs = pbEncode(type, {
        partialSuccess: { [key]: p.rejectedItems.toString(), errorMessage: p.errorMessage },
      });
      assert.deepStrictEqual(decode(theirs), p);
    }
  }
});

Deno.test("length prefixes of every width are right (empty, 1-, 2- and 3-byte lengths)", () => {
  const g = new Gen(21);
  const spans = [
    { ...g.span(), attributes: [], events: [], links: [], name: "" },
    { ...g.span(), attributes: [{ key: "big", value: "y".repeat(20000) }] },
    {
      ...g.span(),
      attributes: [{
        key: "kv",
        value: { kvlist: [{ key: "arr", value: Array.from({ length: 3000 }, (_, i) => `v${i}`) }] },
      }],
    },
    { ...g.span(), name: "ü".repeat(70000) },
  ];
  const data = {
    resourceSpans: [{
      resource: g.resource(),
      scopeSpans: [{ scope: g.scope(), spans, schemaUrl: "" }],
      schemaUrl: "",
    }],
  };
  const bytes = encodeTracesRequest(data);
  assert.deepStrictEqual(decodeTracesRequest(bytes), data);
  assert.deepStrictEqual(tracesIn(pbDecode(PB.traces, bytes)), data);
  const logs = {
    resourceLogs: [{
      resource: g.resource(),
      scopeLogs: [{
        scope: g.scope(),
        logRecords: [g.logRecord(), { ...g.logRecord(), body: "z".repeat(17000) }],
        schemaUrl: "",
      }],
      schemaUrl: "",
    }],
  };
  const lb = encodeLogsRequest(logs);
  assert.deepStrictEqual(decodeLogsRequest(lb), logs);
  assert.deepStrictEqual(logsIn(pbDecode(PB.logs, lb)), logs);
});

Deno.test("logs: the same string attribute on every record encodes right each time", () => {
  // writeAttribute copies the bytes of a string attribute it just wrote twice in a row: repeats,
  // a changed value or key, the same pair under another field number (resource attributes), a
  // pair too long to keep and non-ASCII text must all come out as written.
  const long = "v".repeat(80);
  const pairs: [string, string][] = [
    ["deployment.environment", "prod"],
    ["deployment.environment", "prod"],
    ["deployment.environment", "prod"],
    ["deployment.environment", "prod"],
    ["deployment.environment", "staging"],
    ["deployment.environment", ""],
    ["deployment.environment", ""],
    ["deployment.environment", ""],
    ["region", "prod"],
    ["region", "prod"],
    ["k", long],
    ["k", long],
    ["k", long],
    ["ключ", "значение"],
    ["ключ", "значение"],
    ["ключ", "значение"],
  ];
  const data = new Gen(3).logs();
  const rl = data.resourceLogs[0]!;
  const records = rl.scopeLogs.flatMap((sl) => sl.logRecords);
  assert.ok(records.length > 0);
  rl.resource = {
    attributes: [
      { key: "deployment.environment", value: "prod" },
      { key: "deployment.environment", value: "prod" },
    ],
    droppedAttributesCount: 0,
  };
  for (let i = 0; i < records.length; i++) {
    const [key, value] = pairs[i % pairs.length]!;
    records[i]!.attributes = [{ key, value }, { key: "deployment.environment", value: "prod" }];
  }
  const bytes = encodeLogsRequest(data);
  assert.deepStrictEqual(decodeLogsRequest(bytes), data);
  assert.deepStrictEqual(logsIn(pbDecode(PB.logs, bytes)), data);
});
