import assert from "node:assert/strict";
import {
  decodeLogsJson,
  decodeLogsResponseJson,
  decodeMetricsJson,
  decodeMetricsResponseJson,
  decodeTracesJson,
  decodeTracesResponseJson,
  encodeLogsJson,
  encodeLogsResponseJson,
  encodeMetricsJson,
  encodeMetricsResponseJson,
  encodeTracesJson,
  encodeTracesResponseJson,
  OtlpDecodeError,
} from "../../lib/otlp/mod.ts";
import { Gen } from "./_gen.ts";

const SEEDS = 60;

Deno.test("JSON: encode then decode is the identity for every signal", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const t = new Gen(seed).traces();
    assert.deepStrictEqual(decodeTracesJson(encodeTracesJson(t)), t, `traces seed ${seed}`);
    const m = new Gen(seed).metrics();
    assert.deepStrictEqual(decodeMetricsJson(encodeMetricsJson(m)), m, `metrics seed ${seed}`);
    const l = new Gen(seed).logs();
    const text = encodeLogsJson(l);
    assert.deepStrictEqual(decodeLogsJson(text), l, `logs seed ${seed}`);
    assert.deepStrictEqual(decodeLogsJson(new TextEncoder().encode(text)), l);
  }
});

const TRACE_ID = "5b8efff798038103d269b633813fc60c";
const SPAN_ID = "eee19b7ec3c1b174";

Deno.test("JSON: spec example shape — hex IDs, string int64, lowerCamelCase", () => {
  const text = encodeTracesJson({
    resourceSpans: [{
      resource: {
        attributes: [{ key: "service.name", value: "svc" }, { key: "n", value: 5n }],
        droppedAttributesCount: 0,
      },
      scopeSpans: [{
        scope: { name: "lib", version: "", attributes: [], droppedAttributesCount: 0 },
        spans: [{
          traceId: Uint8Array.from(TRACE_ID.match(/../g)!.map((h) => parseInt(h, 16))),
          spanId: Uint8Array.from(SPAN_ID.match(/../g)!.map((h) => parseInt(h, 16))),
          traceState: "",
          parentSpanId: new Uint8Array(0),
          flags: 1,
          name: "GET /",
          kind: 2,
          startTimeUnixNano: 1700000000123456789n,
          endTimeUnixNano: 1700000000223456789n,
          attributes: [
            { key: "b", value: new Uint8Array([1, 2, 3]) },
            { key: "d", value: NaN },
            { key: "a", value: ["x", { kvlist: [{ key: "k", value: true }] }] },
          ],
          droppedAttributesCount: 0,
          events: [],
          droppedEventsCount: 0,
          links: [],
          droppedLinksCount: 0,
          status: { message: "", code: 2 },
        }],
        schemaUrl: "",
      }],
      schemaUrl: "https://opentelemetry.io/schemas/1.21.0",
    }],
  });
  const o = JSON.parse(text);
  const span = o.resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(span.traceId, TRACE_ID);
  assert.equal(span.spanId, SPAN_ID);
  assert.equal(span.parentSpanId, undefined);
  assert.equal(span.startTimeUnixNano, "1700000000123456789");
  assert.equal(span.kind, 2);
  assert.deepStrictEqual(span.status, { code: 2 });
  assert.deepStrictEqual(span.attributes, [
    { key: "b", value: { bytesValue: "AQID" } },
    { key: "d", value: { doubleValue: "NaN" } },
    {
      key: "a",
      value: {
        arrayValue: {
          values: [{ stringValue: "x" }, {
            kvlistValue: { values: [{ key: "k", value: { boolValue: true } }] },
          }],
        },
      },
    },
  ]);
  assert.deepStrictEqual(o.resourceSpans[0].resource.attributes[1], {
    key: "n",
    value: { intValue: "5" },
  });
  assert.equal(o.resourceSpans[0].schemaUrl, "https://opentelemetry.io/schemas/1.21.0");
});

Deno.test("JSON: decoding accepts snake_case names, enum names, numbers for int64", () => {
  const data = decodeTracesJson(JSON.stringify({
    resource_spans: [{
      resource: { attributes: [{ key: "k", value: { int_value: 7 } }] },
      scope_spans: [{
        scope: { name: "s" },
        spans: [{
          trace_id: TRACE_ID.toUpperCase(),
          span_id: SPAN_ID,
          name: "x",
          kind: "SPAN_KIND_CLIENT",
          start_time_unix_nano: 1000,
          end_time_unix_nano: "2000",
          status: { code: "STATUS_CODE_OK" },
          unknownKey: { whatever: 1 },
        }],
      }],
    }],
  }));
  const span = data.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  assert.equal(span.kind, 3);
  assert.equal(span.status.code, 1);
  assert.equal(span.startTimeUnixNano, 1000n);
  assert.equal(span.endTimeUnixNano, 2000n);
  assert.equal(span.traceId.length, 16);
  assert.equal(span.traceId[0], 0x5b);
  assert.deepStrictEqual(data.resourceSpans[0]!.resource.attributes, [{ key: "k", value: 7n }]);

  const logs = decodeLogsJson(
    `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"SEVERITY_NUMBER_WARN2",
      "body":{"doubleValue":"-Infinity"},"event_name":"e"}]}]}]}`,
  );
  const rec = logs.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  assert.equal(rec.severityNumber, 14);
  assert.equal(rec.body, -Infinity);
  assert.equal(rec.eventName, "e");

  const metrics = decodeMetricsJson(
    `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","sum":{"dataPoints":[{"asInt":"-9223372036854775808"}],
      "aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","isMonotonic":true}}]}]}]}`,
  );
  const m = metrics.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
  assert.equal(m.data?.type, "sum");
  if (m.data?.type === "sum") {
    assert.equal(m.data.aggregationTemporality, 2);
    assert.equal(m.data.dataPoints[0]!.value, -9223372036854775808n);
  }
});

Deno.test("JSON: responses round-trip and use the per-signal key", () => {
  const p = { rejectedItems: 12n, errorMessage: "dropped" };
  assert.equal(
    encodeTracesResponseJson(p),
    `{"partialSuccess":{"rejectedSpans":"12","errorMessage":"dropped"}}`,
  );
  assert.equal(encodeTracesResponseJson(undefined), "{}");
  assert.deepStrictEqual(decodeTracesResponseJson(encodeTracesResponseJson(p)), p);
  assert.deepStrictEqual(decodeMetricsResponseJson(encodeMetricsResponseJson(p)), p);
  assert.deepStrictEqual(decodeLogsResponseJson(encodeLogsResponseJson(p)), p);
  assert.equal(decodeLogsResponseJson("{}"), undefined);
  assert.deepStrictEqual(
    decodeMetricsResponseJson(`{"partial_success":{"rejected_data_points":3}}`),
    { rejectedItems: 3n, errorMessage: "" },
  );
});

Deno.test("JSON: invalid JSON and wrong shapes throw OtlpDecodeError naming the path", () => {
  const bad: [string, RegExp][] = [
    ["{", /Invalid OTLP\/JSON/],
    ["", /Invalid OTLP\/JSON/],
    ["[]", /at \$: expected an object/],
    [`{"resourceSpans":{}}`, /\$\.resourceSpans: expected an array/],
    [`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}`, /traceId/],
    [
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${"zz".repeat(16)}"}]}]}]}`,
      /invalid hex/,
    ],
    [`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":5}]}]}]}`, /spans\[0\]\.name/],
    [
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"1.5"}]}]}]}`,
      /startTimeUnixNano/,
    ],
    [
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"18446744073709551616"}]}]}]}`,
      /out of range/,
    ],
    [`{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SERVERISH"}]}]}]}`, /kind/],
    [
      `{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"bytesValue":"@@"}}]}}]}`,
      /base64/,
    ],
    [`{"resourceSpans":[{"scopeSpans":[{"spans":[{"flags":-1}]}]}]}`, /out of range/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => decodeTracesJson(text), (e: unknown) => {
      assert.ok(e instanceof OtlpDecodeError, `${text}: ${e}`);
      assert.equal(e.name, "OtlpDecodeError");
      assert.match(e.message, re, text);
      return true;
    });
  }
  assert.throws(() => decodeLogsJson(new Uint8Array([0xff, 0xfe])), OtlpDecodeError);
  assert.throws(
    () => decodeMetricsJson(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":[]}]}]}]}`),
    OtlpDecodeError,
  );
  // Deep nesting is refused rather than overflowing the stack.
  let deep = `{"stringValue":"x"}`;
  for (let i = 0; i < 200; i++) deep = `{"arrayValue":{"values":[${deep}]}}`;
  assert.throws(
    () => decodeLogsJson(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${deep}}]}]}]}`),
    OtlpDecodeError,
  );
});

Deno.test("JSON: trace and span IDs of the wrong length and a top-level non-object are refused", () => {
  const span = (ids: string) => `{"resourceSpans":[{"scopeSpans":[{"spans":[{${ids}}]}]}]}`;
  const trace = "5b8efff798038103d269b633813fc60c";
  assert.throws(
    () => decodeTracesJson(span(`"traceId":"5b8e","spanId":"eee19b7ec3c1b174"`)),
    OtlpDecodeError,
  );
  assert.throws(
    () => decodeTracesJson(span(`"traceId":"${trace}","spanId":"eee19b"`)),
    OtlpDecodeError,
  );
  assert.throws(
    () =>
      decodeTracesJson(
        span(`"traceId":"${trace}","spanId":"eee19b7ec3c1b174","parentSpanId":"00"`),
      ),
    OtlpDecodeError,
  );
  const ok = decodeTracesJson(
    span(`"traceId":"${trace}","spanId":"eee19b7ec3c1b174","parentSpanId":""`),
  );
  assert.equal(ok.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId.length, 16);
  for (const top of ["null", "[]", "1", '"x"']) {
    assert.throws(() => decodeTracesJson(top), OtlpDecodeError, top);
    assert.throws(() => decodeLogsJson(top), OtlpDecodeError, top);
  }
});
