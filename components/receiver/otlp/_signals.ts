/**
 * What the otlp receiver needs per signal: its gRPC method, protobuf decoder, JSON decoder and
 * response encoders, taken from the one table in `lib/otlp/signals.ts`.
 *
 * @module
 */
import type { ExportPartialSuccess } from "../../../lib/otlp/mod.ts";
import { OTLP_SIGNALS } from "../../../lib/otlp/signals.ts";
import type { ProtoDecoder } from "../../../lib/pdata/payload.ts";
import type { Signal, SignalData } from "../../../lib/pdata/types.ts";

/** The codecs and names of one signal. */
export interface SignalCodec<S extends Signal> {
  readonly signal: S;
  /** The full gRPC method path of its OTLP export service. */
  readonly grpcMethod: string;
  readonly proto: ProtoDecoder<S>;
  decodeJson(body: Uint8Array): SignalData[S];
  encodeResponse(partial: ExportPartialSuccess | undefined): Uint8Array;
  encodeResponseJson(partial: ExportPartialSuccess | undefined): string;
}

/** The codecs of every signal: the receiver's view of the table in `lib/otlp/signals.ts`. */
export const SIGNAL_CODECS: { readonly [S in Signal]: SignalCodec<S> } = OTLP_SIGNALS;
