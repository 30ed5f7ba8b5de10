/**
 * The warm-up sample (`lib/pdata/sample.ts`): its item counts are what `countItems` says, and it
 * survives a protobuf and a JSON round trip whole, so the warm-ups run every reader and writer.
 */
import assert from "node:assert/strict";
import { countItems } from "../../../lib/pdata/count.ts";
import { WARM_UP_SAMPLE_ITEMS, warmUpSample } from "../../../lib/pdata/sample.ts";
import { OTLP_SIGNALS, type OtlpSignal } from "../../../lib/otlp/signals.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";

for (const signal of ["traces", "metrics", "logs"] as const) {
  Deno.test(`warm-up sample of ${signal} counts its items and round-trips through protobuf and JSON`, () => {
    const data = warmUpSample(signal);
    assert.equal(countItems(signal, data), WARM_UP_SAMPLE_ITEMS[signal]);
    const codec = OTLP_SIGNALS[signal] as unknown as OtlpSignal<Signal>;
    assert.deepEqual(Payload.fromProto(signal, codec.encodeProto(data), codec.proto).read(), data);
    assert.deepEqual(codec.decodeJson(new TextEncoder().encode(codec.encodeJson(data))), data);
  });
}
