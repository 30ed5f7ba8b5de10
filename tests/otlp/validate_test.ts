import assert from "node:assert/strict";
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
  OtlpDecodeError,
} from "../../lib/otlp/mod.ts";
import {
  validateLogsRequest,
  validateMetricsRequest,
  validateTracesRequest,
} from "../../lib/otlp/validate.ts";
import { countItems } from "../../lib/pdata/count.ts";
import type { Signal, SignalData } from "../../lib/pdata/types.ts";
import { Gen } from "./_gen.ts";

interface Case<S extends Signal> {
  signal: S;
  decode(bytes: Uint8Array): SignalData[S];
  validate(bytes: Uint8Array): number;
  make(g: Gen): Uint8Array;
}

const CASES: Case<Signal>[] = [
  {
    signal: "traces",
    decode: decodeTracesRequest,
    validate: validateTracesRequest,
    make: (g) => encodeTracesRequest(g.traces()),
  },
  {
    signal: "metrics",
    decode: decodeMetricsRequest,
    validate: validateMetricsRequest,
    make: (g) => encodeMetricsRequest(g.metrics()),
  },
  {
    signal: "logs",
    decode: decodeLogsRequest,
    validate: validateLogsRequest,
    make: (g) => encodeLogsRequest(g.logs()),
  },
];

/** The decoder's verdict: the item count, or the error it threw. */
function decoded<S extends Signal>(c: Case<S>, bytes: Uint8Array): number | OtlpDecodeError {
  try {
    return countItems(c.signal, c.decode(bytes));
  } catch (error) {
    if (error instanceof OtlpDecodeError) return error;
    throw error;
  }
}

function validated<S extends Signal>(c: Case<S>, bytes: Uint8Array): number | OtlpDecodeError {
  try {
    return c.validate(bytes);
  } catch (error) {
    if (error instanceof OtlpDecodeError) return error;
    throw error;
  }
}

/** One random mutation of `b`, biased towards bytes that keep the framing plausible. */
function mutate(g: Gen, b: Uint8Array): Uint8Array {
  const out = b.slice();
  switch (g.int(6)) {
    case 0: // change a byte's wire-type bits: a tag now says another type, lengths still fit
      out[g.int(out.length)]! ^= 1 + g.int(7);
      return out;
    case 1: // replace a byte
      out[g.int(out.length)] = g.int(256);
      return out;
    case 2: { // several replacements
      for (let k = 1 + g.int(4); k > 0; k--) out[g.int(out.length)] = g.int(256);
      return out;
    }
    case 3: { // delete a byte
      const i = g.int(out.length);
      return new Uint8Array([...out.subarray(0, i), ...out.subarray(i + 1)]);
    }
    case 4: { // insert a byte
      const i = g.int(out.length);
      return new Uint8Array([...out.subarray(0, i), g.int(256), ...out.subarray(i)]);
    }
    default: // bump a byte by one (lengths and varints)
      out[g.int(out.length)]! += g.chance(0.5) ? 1 : -1;
      return out;
  }
}

for (const c of CASES) {
  Deno.test(`${c.signal}: the validator accepts exactly what the decoder decodes, with its item count`, () => {
    let refused = 0;
    let accepted = 0;
    const g = new Gen(7);
    for (let seed = 1; seed <= 40; seed++) {
      const valid = c.make(new Gen(seed));
      assert.equal(validated(c, valid), decoded(c, valid), `seed ${seed} unmutated`);
      for (let i = 0; i < 400; i++) {
        const bytes = mutate(g, valid);
        const want = decoded(c, bytes);
        const got = validated(c, bytes);
        if (want instanceof OtlpDecodeError) {
          assert.ok(
            got instanceof OtlpDecodeError,
            `seed ${seed} mutation ${i}: validator accepted`,
          );
          refused++;
        } else {
          assert.equal(got, want, `seed ${seed} mutation ${i}: validator ${got}, decoder ${want}`);
          accepted++;
        }
      }
    }
    // Both outcomes must be well represented, or the comparison says little.
    assert.ok(refused > 2000 && accepted > 1000, `${refused} refused, ${accepted} accepted`);
  });
}

Deno.test("a span name sent as a number is refused although the framing is sound", () => {
  // ResourceSpans { ScopeSpans { Span { field 5 (name) as varint 1 } } }
  const bytes = new Uint8Array([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x28, 0x01]);
  assert.throws(() => decodeTracesRequest(bytes), OtlpDecodeError);
  assert.throws(() => validateTracesRequest(bytes), OtlpDecodeError);
});

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/**
 * A logs request whose one record's body is `levels` nested array values. Built inside out with
 * sizes first, so 100,000 levels cost linear time.
 */
function nestedBody(levels: number): Uint8Array {
  // AnyValue_k = 0x2a len(ArrayValue_k); ArrayValue_k = 0x0a len(AnyValue_{k-1}); AnyValue_0 empty.
  const anySize = [0];
  for (let k = 1; k <= levels; k++) {
    const inner = anySize[k - 1]!;
    const array = 1 + varintBytes(inner).length + inner;
    anySize.push(1 + varintBytes(array).length + array);
  }
  const body: number[] = [];
  for (let k = levels; k >= 1; k--) {
    const inner = anySize[k - 1]!;
    const array = 1 + varintBytes(inner).length + inner;
    body.push(0x2a, ...varintBytes(array), 0x0a, ...varintBytes(inner));
  }
  const wrap = (
    tag: number,
    content: number[],
  ) => [tag, ...varintBytes(content.length), ...content];
  const record = wrap(0x2a, body); // LogRecord.body
  return new Uint8Array(wrap(0x0a, wrap(0x12, wrap(0x12, record))));
}

Deno.test("AnyValue nesting: the validator and the decoder agree at the limit, and 100,000 levels is refused without blowing the stack", () => {
  const logs = CASES[2]!;
  for (const levels of [1, 63, 64, 65, 66, 1000, 100_000]) {
    const bytes = nestedBody(levels);
    const want = decoded(logs, bytes);
    const got = validated(logs, bytes);
    assert.equal(got instanceof OtlpDecodeError, want instanceof OtlpDecodeError, `${levels}`);
    if (!(want instanceof OtlpDecodeError)) assert.equal(got, want);
    if (levels > 65) assert.ok(got instanceof OtlpDecodeError, `${levels} levels accepted`);
  }
});

Deno.test("a packed bucket_counts field whose length is not a multiple of 8 is refused", () => {
  const ld = (tag: number, content: number[]) => [tag, ...varintBytes(content.length), ...content];
  const point = ld(0x32, [1, 2, 3, 4, 5, 6, 7]); // HistogramDataPoint.bucket_counts, 7 bytes
  const bytes = new Uint8Array(ld(0x0a, ld(0x12, ld(0x12, ld(0x4a, ld(0x0a, point))))));
  assert.throws(() => decodeMetricsRequest(bytes), OtlpDecodeError);
  assert.throws(() => validateMetricsRequest(bytes), OtlpDecodeError);
});
