import assert from "node:assert/strict";
import { decodeTracesRequest, encodeTracesRequest } from "../../../lib/otlp/mod.ts";
import { TRACES_PROTO } from "../../../lib/otlp/traces_proto.ts";
import { setAttribute } from "../../../lib/pdata/attributes.ts";
import { NO_FIELDS, SPAN } from "../../../lib/pdata/fields.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { Span, TracesData } from "../../../lib/pdata/types.ts";
import { Gen } from "../../otlp/_gen.ts";

function spans(d: TracesData): Span[] {
  return d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}

/** A request with at least one span that has two attributes, and the second one's key. */
function request(seed: number): { bytes: Uint8Array; key: string } {
  for (let s = seed;; s++) {
    const data = new Gen(s).traces();
    const some = spans(data).find((sp) => sp.attributes.length > 1);
    if (some !== undefined) {
      return { bytes: encodeTracesRequest(data), key: some.attributes[1]!.key };
    }
  }
}

/** What the payload would hold had it been decoded whole and edited the same way. */
function expected(bytes: Uint8Array, edits: ((d: TracesData) => void)[]): TracesData {
  const data = decodeTracesRequest(bytes);
  for (const e of edits) e(data);
  return data;
}

const byKey = (key: string) => (d: TracesData) => {
  for (const s of spans(d)) {
    setAttribute(s.attributes, key, "changed");
    setAttribute(s.attributes, "deployment.environment", "prod");
  }
};
const rename = (d: TracesData) => {
  for (const s of spans(d)) s.name += "!";
};
const retime = (d: TracesData) => {
  for (const s of spans(d)) s.startTimeUnixNano = 1234n;
};

Deno.test("a payload decoded by key, edited, then read whole by a later consumer keeps every edit", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const { bytes, key } = request(seed);
    const keys = [key, "deployment.environment"];
    const p = Payload.fromProto("traces", bytes, TRACES_PROTO);
    p.read(SPAN.name, keys); // as the receiver decodes ahead
    byKey(key)(p.edit(SPAN.name, keys));
    rename(p.edit(SPAN.name, keys));
    // A consumer that declares nothing sees everything, with the edits so far.
    const all = p.read();
    assert.deepEqual(all, expected(bytes, [byKey(key), rename]), `seed ${seed}`);
    retime(p.edit());
    const out = decodeTracesRequest(p.toProto(encodeTracesRequest));
    const want = expected(bytes, [byKey(key), rename, retime]);
    assert.deepEqual(out, want, `seed ${seed}`);
  }
});

Deno.test("a partially decoded payload encodes with its edits and copies the rest", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const { bytes, key } = request(seed);
    const keys = [key, "deployment.environment"];
    const p = Payload.fromProto("traces", bytes, TRACES_PROTO);
    byKey(key)(p.edit(NO_FIELDS, keys));
    const out = decodeTracesRequest(p.toProto(encodeTracesRequest));
    assert.deepEqual(out, expected(bytes, [byKey(key)]), `seed ${seed}`);
    // A read-only consumer asking for another field leaves the edits and the copying alone.
    p.read(SPAN.startTimeUnixNano);
    const again = decodeTracesRequest(p.toProto(encodeTracesRequest));
    assert.deepEqual(again, expected(bytes, [byKey(key)]), `seed ${seed}`);
  }
});

Deno.test("a clone of a partially decoded payload is whole and independent", () => {
  const { bytes, key } = request(5);
  const keys = [key];
  const p = Payload.fromProto("traces", bytes, TRACES_PROTO);
  byKey(key)(p.edit(NO_FIELDS, keys));
  const copy = p.clone();
  assert.deepEqual(copy.read(), expected(bytes, [byKey(key)]));
  rename(copy.edit());
  assert.deepEqual(
    decodeTracesRequest(p.toProto(encodeTracesRequest)),
    expected(bytes, [byKey(key)]),
  );
});

Deno.test("reading without fields decodes everything; unread placeholders cannot be written", () => {
  const { bytes } = request(7);
  const p = Payload.fromProto("traces", bytes, TRACES_PROTO);
  const d = p.read(SPAN.name);
  const s = spans(d).find((x) => x.traceId.length === 0 && x.name !== "");
  assert.ok(s !== undefined);
  assert.throws(() => s.attributes.push({ key: "k", value: "v" }), TypeError);
  assert.deepEqual(p.read(), decodeTracesRequest(bytes));
});
