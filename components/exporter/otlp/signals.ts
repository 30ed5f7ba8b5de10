/**
 * What the OTLP exporters (`otlp` over gRPC and `otlphttp`) need per signal: the request bytes of
 * a payload, and the per-signal table of `lib/otlp/signals.ts` (paths, methods, item names and
 * codecs).
 *
 * @module
 */
import { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { OTLP_SIGNALS, type OtlpSignal } from "../../../lib/otlp/signals.ts";

// The per-signal facts are one table in lib/otlp/signals.ts; re-exported for the exporters.
export { OTLP_SIGNALS, type OtlpSignal };

/**
 * The `Export*ServiceRequest` protobuf bytes of a payload: the bytes it arrived as when it still
 * has them (sent as is), else a fresh encoding.
 */
export function requestProto<S extends Signal>(payload: Payload<S>): Uint8Array {
  const codec = OTLP_SIGNALS[payload.signal] as OtlpSignal<S>;
  return payload.toProto(codec.encodeProto);
}

/**
 * The `Export*ServiceRequest` protobuf bytes of a payload as parts to send one after the other:
 * a merged batch's encoded parts as they are (not joined), else {@linkcode requestProto}'s one
 * array. The parts must not be changed.
 */
export function requestParts<S extends Signal>(payload: Payload<S>): readonly Uint8Array[] {
  return payload.encodedParts ?? [requestProto(payload)];
}

/**
 * The payload as protobuf: itself when it still has its encoded form, else a payload over a fresh
 * encoding of its data (same client, same item count). The OTLP exporters put this in their
 * sending queues, so batches merge by concatenating bytes and send without another encode.
 */
export function encodedPayload<S extends Signal>(payload: Payload<S>): Payload<S> {
  if (payload.encodedParts !== undefined) return payload;
  const codec = OTLP_SIGNALS[payload.signal] as OtlpSignal<S>;
  const bytes = payload.toProto(codec.encodeProto);
  return Payload.fromProto(payload.signal, bytes, codec.proto, payload.client, payload.itemCount);
}
