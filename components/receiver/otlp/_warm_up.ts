/**
 * The otlp receiver's warm-up at start: each signal's receive path — gzip decompression, the
 * validating item count, protobuf and JSON decoding, merging two requests, encoding — runs once on
 * a small request made here, before the receiver listens. Nothing reaches a pipeline.
 *
 * Why: V8 compiles a function when it first runs, so the first request a fresh tfo receives pays
 * for compiling everything on its way. Measured on the 2-core test machine at a load of 8: this
 * warm-up takes 26–42 ms in a fresh process and 3–11 ms when run again, so that much first-run
 * work moves from the first requests (spread over the signals and encodings) to the start. A
 * first gRPC traces request from a warm client took 17–23 ms against 2–3.5 ms for the next ones
 * before; with the warm-up, the end-to-end difference was within that load's noise (14–53 ms),
 * see bench/RESULTS.md, "Request latency with the seed batch settings".
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { decompress } from "../../../lib/net/compression.ts";
import {
  cumulativeSumOf,
  newLogRecord,
  newLogsData,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
  newSpan,
} from "../../../lib/pdata/new.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal, SignalData } from "../../../lib/pdata/types.ts";
import { OTLP_SIGNALS, type OtlpSignal } from "../../../lib/otlp/signals.ts";

/** A small request of `signal`, with an attribute, as a client would send it. */
function sample<S extends Signal>(signal: S): SignalData[S] {
  const attributes = [{ key: "warm.up", value: "tfo" }];
  const resource = newResource({ attributes });
  const data: { [K in Signal]: () => SignalData[K] } = {
    traces: () => ({
      resourceSpans: [{
        resource,
        schemaUrl: "",
        scopeSpans: [{
          scope: newScope({ name: "tfo.warm_up" }),
          schemaUrl: "",
          spans: [newSpan({ name: "warm-up", attributes })],
        }],
      }],
    }),
    metrics: () => ({
      resourceMetrics: [{
        resource,
        schemaUrl: "",
        scopeMetrics: [{
          scope: newScope({ name: "tfo.warm_up" }),
          schemaUrl: "",
          metrics: [
            newMetric({
              name: "warm_up",
              data: cumulativeSumOf([newNumberDataPoint({ attributes, value: 1 })], true),
            }),
          ],
        }],
      }],
    }),
    logs: () => newLogsData([newLogRecord({ body: "warm-up", attributes })]),
  };
  return data[signal]();
}

/**
 * Runs the receive path of every signal in `signals` once (see the module notes). Never throws: a
 * failure here only means the first request is not warmed.
 */
export async function warmUpReceivePath(signals: readonly Signal[]): Promise<void> {
  for (const signal of signals) {
    try {
      const codec = OTLP_SIGNALS[signal] as unknown as OtlpSignal<Signal>;
      const proto = codec.encodeProto(sample(signal));
      const body = await decompress(gzipSync(proto), "gzip", 1 << 20);
      const payload = Payload.fromProto(signal, body, codec.proto);
      if (payload.itemCount !== 1) continue;
      payload.read();
      const merged = Payload.merge(signal, [
        payload,
        Payload.fromProto(signal, proto, codec.proto),
      ]);
      void merged.encodedProto;
      const json = codec.encodeJson(merged.read());
      Payload.of(signal, codec.decodeJson(new TextEncoder().encode(json))).itemCount;
    } catch {
      // only a warm-up
    }
  }
}
