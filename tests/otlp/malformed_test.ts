import assert from "node:assert/strict";
import {
  countLogsItems,
  countMetricsItems,
  countTracesItems,
  decodeLogsRequest,
  decodeLogsResponse,
  decodeMetricsRequest,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
  OtlpDecodeError,
} from "../../lib/otlp/mod.ts";
import { ProtoReader } from "../../lib/otlp/_proto_reader.ts";
import { Gen } from "./_gen.ts";

type Decode = (b: Uint8Array) => unknown;

const SIGNALS: [string, Decode, (b: Uint8Array) => number, (g: Gen) => Uint8Array][] = [
  ["traces", decodeTracesRequest, countTracesItems, (g) => encodeTracesRequest(g.traces())],
  ["metrics", decodeMetricsRequest, countMetricsItems, (g) => encodeMetricsRequest(g.metrics())],
  ["logs", decodeLogsRequest, countLogsItems, (g) => encodeLogsRequest(g.logs())],
];

/** A valid, non-trivial message of at most `max` bytes. */
function smallMessage(make: (g: Gen) => Uint8Array, min: number, max: number): Uint8Array {
  for (let seed = 1;; seed++) {
    const b = make(new Gen(seed));
    if (b.length >= min && b.length <= max) return b;
  }
}

/** Runs `f`; only an OtlpDecodeError may escape. */
function decodesOrRejects(f: () => unknown, what: string): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof OtlpDecodeError)) {
      throw new Error(`${what}: expected OtlpDecodeError, got ${e}`, { cause: e });
    }
    assert.equal(e.name, "OtlpDecodeError");
  }
}

for (const [name, decode, count, make] of SIGNALS) {
  Deno.test(`${name}: a message truncated at every offset throws OtlpDecodeError or decodes`, () => {
    const full = smallMessage(make, 800, 3000);
    let rejected = 0;
    for (let n = 0; n < full.length; n++) {
      const cut = full.subarray(0, n);
      decodesOrRejects(() => decode(cut), `${name} cut at ${n}`);
      decodesOrRejects(() => count(cut), `${name} count cut at ${n}`);
      try {
        decode(cut);
      } catch {
        rejected++;
      }
    }
    // Most cuts land inside a nested message, whose length then runs past the end.
    assert.ok(rejected > full.length * 0.9, `${rejected} of ${full.length} rejected`);
  });

  Deno.test(`${name}: random corruption throws OtlpDecodeError or decodes, never hangs`, () => {
    const full = smallMessage(make, 500, 4000);
    const g = new Gen(99);
    for (let i = 0; i < 3000; i++) {
      const b = full.slice();
      const flips = 1 + g.int(4);
      for (let k = 0; k < flips; k++) b[g.int(b.length)] = g.int(256);
      decodesOrRejects(() => decode(b), `${name} corruption ${i}`);
      decodesOrRejects(() => count(b), `${name} count corruption ${i}`);
    }
  });
}

// Hand-built messages ------------------------------------------------------------------------

function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x > 0x7fn) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
function ld(field: number, content: number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(content.length), ...content];
}
const span = (content: number[]) => new Uint8Array(ld(1, ld(2, ld(2, content))));

function rejects(bytes: Uint8Array | number[], re: RegExp, decode: Decode = decodeTracesRequest) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  assert.throws(() => decode(b), (e: unknown) => {
    assert.ok(e instanceof OtlpDecodeError, String(e));
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("a known field with the wrong wire type is rejected", () => {
  // Span.name (5) as a varint instead of a string.
  rejects(span([5 << 3, 1]), /Field 5 has wire type 0/);
  // Span.start_time_unix_nano (7) as fixed32 instead of fixed64.
  rejects(span([(7 << 3) | 5, 0, 0, 0, 0]), /Field 7 has wire type 5/);
  // Span.flags (16) as a varint instead of fixed32.
  rejects(span([...varint(16 << 3), 1]), /Field 16 has wire type 0/);
  // A log record's body (5) as a varint.
  rejects(new Uint8Array(ld(1, ld(2, ld(2, [5 << 3, 1])))), /Field 5/, decodeLogsRequest);
});

Deno.test("a length past the end or a huge length is rejected without allocating", () => {
  rejects(span(ld(5, [0x61]).slice(0, 2)), /runs past the end/); // name says 1 byte, has 0
  rejects([0x0a, ...varint(0xffffffff)], /Length 4294967295 .* runs past/);
  rejects([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], /runs past/);
  // Inner length bigger than the enclosing message even though the buffer has the bytes.
  const inner = [0x12, 0x05, 1, 2, 3, 4, 5];
  rejects([0x0a, 0x02, ...inner], /runs past the end of its enclosing message/);
  // A packed fixed64 field whose length is not a multiple of 8.
  const hist = ld(9, ld(1, [(6 << 3) | 2, 3, 1, 2, 3]));
  rejects(new Uint8Array(ld(1, ld(2, ld(2, hist)))), /Packed fixed64/, decodeMetricsRequest);
});

Deno.test("a varint longer than 10 bytes is rejected", () => {
  rejects([...varint(99 << 3), ...new Array(11).fill(0xff), 0x01], /Varint longer than 10 bytes/);
  rejects(span([6 << 3, ...new Array(10).fill(0x80), 0x01]), /Varint longer than 10 bytes/);
  // Tag varints too.
  rejects(new Array(12).fill(0xff), /Varint longer than 10 bytes|Truncated/);
});

Deno.test("groups (wire types 3 and 4) and field number 0 are rejected as malformed", () => {
  rejects([(99 << 3) | 3, (99 << 3) | 4], /Unsupported wire type 3/);
  rejects([(99 << 3) | 4], /Unsupported wire type 4/);
  rejects([(99 << 3) | 6], /Unsupported wire type 6/);
  rejects([0x02, 0x00], /Invalid field number 0/);
});

Deno.test("a truncated fixed64 or double is rejected", () => {
  rejects(span([(7 << 3) | 1, 1, 2, 3]), /fixed64/);
  rejects([(99 << 3) | 1, 1, 2, 3], /Truncated/);
  rejects([(99 << 3) | 5, 1, 2], /Truncated/);
});

Deno.test("responses reject malformed input too", () => {
  rejects([0x0a, 0x05, 0x08], /runs past/, decodeLogsResponse);
  rejects([0x0a, 0x02, 0x12, 0x05], /runs past/, decodeLogsResponse);
});

// Unknown fields -----------------------------------------------------------------------------

/** Field 99 once with each wire type (varint of 10 bytes, fixed64, bytes, fixed32). */
const UNKNOWN = [
  ...varint(99 << 3),
  ...varint(-1),
  ...varint((99 << 3) | 1),
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  ...ld(99, [0x0a, 0x01, 0x61]),
  ...varint((99 << 3) | 5),
  9,
  9,
  9,
  9,
];

/** Field number → schema of the nested message, for the message fields of each level. */
interface Schema {
  [field: number]: () => Schema;
}
const ANY: Schema = { 5: () => ({ 1: () => ANY }), 6: () => ({ 1: () => KV }) };
const KV: Schema = { 2: () => ANY };
const RESOURCE: Schema = { 1: () => KV };
const SCOPE: Schema = { 3: () => KV };
const SPAN: Schema = {
  9: () => KV,
  11: () => ({ 3: () => KV }),
  13: () => ({ 4: () => KV }),
  15: () => ({}),
};
const EX: Schema = { 7: () => KV };
const NDP: Schema = { 7: () => KV, 5: () => EX };
const METRIC: Schema = {
  5: () => ({ 1: () => NDP }),
  7: () => ({ 1: () => NDP }),
  9: () => ({ 1: () => ({ 9: () => KV, 8: () => EX }) }),
  10: () => ({ 1: () => ({ 1: () => KV, 8: () => ({}), 9: () => ({}), 11: () => EX }) }),
  11: () => ({ 1: () => ({ 7: () => KV, 6: () => ({}) }) }),
  12: () => KV,
};
const LOG: Schema = { 5: () => ANY, 6: () => KV };
const request = (item: Schema): Schema => ({
  1: () => ({ 1: () => RESOURCE, 2: () => ({ 1: () => SCOPE, 2: () => item }) }),
});

/** Copies a message, adding UNKNOWN at the start and end of it and of every nested message. */
function inject(bytes: Uint8Array, schema: Schema): number[] {
  const r = new ProtoReader(bytes);
  const out = [...UNKNOWN];
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const nested = schema[tag >>> 3];
    if ((tag & 7) === 2 && nested !== undefined) {
      const end = r.end(r.len);
      const inner = inject(bytes.subarray(r.pos, end), nested());
      out.push(...varint(tag), ...varint(inner.length), ...inner);
      r.pos = end;
    } else {
      r.skip(tag, 0, r.len);
      out.push(...bytes.subarray(start, r.pos));
    }
  }
  out.push(...UNKNOWN);
  return out;
}

Deno.test("unknown fields of every wire type are skipped at every level", () => {
  const cases: [Decode, (b: Uint8Array) => number, Uint8Array, Schema][] = [];
  for (let seed = 1; seed <= 10; seed++) {
    const g = new Gen(seed);
    cases.push([
      decodeTracesRequest,
      countTracesItems,
      encodeTracesRequest(g.traces()),
      request(SPAN),
    ]);
    cases.push([
      decodeMetricsRequest,
      countMetricsItems,
      encodeMetricsRequest(g.metrics()),
      request(METRIC),
    ]);
    cases.push([decodeLogsRequest, countLogsItems, encodeLogsRequest(g.logs()), request(LOG)]);
  }
  for (const [decode, count, bytes, schema] of cases) {
    const injected = new Uint8Array(inject(bytes, schema));
    assert.ok(injected.length > bytes.length);
    assert.deepStrictEqual(decode(injected), decode(bytes));
    assert.equal(count(injected), count(bytes));
  }
});

Deno.test("Resource.entity_refs (field 3) is skipped as unknown", () => {
  const entityRef = ld(3, [...ld(2, [0x61]), ...ld(3, [...ld(1, [0x62])])]);
  const bytes = new Uint8Array(ld(1, ld(1, [...ld(1, [...ld(1, [0x6b])]), ...entityRef])));
  assert.deepStrictEqual(decodeTracesRequest(bytes), {
    resourceSpans: [{
      resource: { attributes: [{ key: "k", value: undefined }], droppedAttributesCount: 0 },
      scopeSpans: [],
      schemaUrl: "",
    }],
  });
});

Deno.test("unpacked repeated scalars are accepted as well as packed ones", () => {
  // Histogram data point: bucket_counts (6) as two unpacked fixed64, explicit_bounds (7) unpacked.
  const f64 = (v: number) => [...new Uint8Array(new BigUint64Array([BigInt(v)]).buffer)];
  const d64 = (v: number) => [...new Uint8Array(new Float64Array([v]).buffer)];
  const point = [
    (6 << 3) | 1,
    ...f64(3),
    (6 << 3) | 1,
    ...f64(4),
    (7 << 3) | 1,
    ...d64(2.5),
  ];
  const bytes = new Uint8Array(ld(1, ld(2, ld(2, ld(9, ld(1, point))))));
  const m = decodeMetricsRequest(bytes).resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
  assert.equal(m.data?.type, "histogram");
  if (m.data?.type === "histogram") {
    assert.deepStrictEqual(m.data.dataPoints[0]!.bucketCounts, [3n, 4n]);
    assert.deepStrictEqual(m.data.dataPoints[0]!.explicitBounds, [2.5]);
  }
  assert.equal(countMetricsItems(bytes), 1);
});
