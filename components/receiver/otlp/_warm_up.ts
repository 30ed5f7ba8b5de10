/**
 * The otlp receiver's warm-up at start, before it listens: nothing of it reaches a pipeline.
 *
 * - {@linkcode warmUpReceivePath}: each signal's codecs — gzip decompression, the validating item
 *   count, protobuf and JSON decoding, merging two requests, encoding — run once on a small
 *   request made here.
 * - {@linkcode warmUpTransports}: real requests over loopback. The receiver starts a throwaway
 *   server of each protocol it serves on `127.0.0.1:0`, with the same code and settings as its
 *   own but plaintext, without auth and tenant limits, its own meter and no logger, in front of
 *   throwaway consumers (each declaring what the real one declares, so the same decoding runs,
 *   and accepting at once). tfo's own gRPC client and `fetch` send each signal there once per
 *   encoding (gRPC gzip and identity; HTTP protobuf gzip with a length and chunked,
 *   protobuf identity, JSON); then the throwaway
 *   servers shut down. That runs what a first request runs: accept, the HTTP/2 preface, SETTINGS,
 *   HPACK both ways, gRPC framing, the HTTP/1.1 head parser, body reader and response writer, and
 *   the handlers themselves.
 *
 * Why: V8 compiles a function when it first runs, so the first request a fresh tfo receives paid
 * for compiling everything on its way. Measured with timestamps inside tfo (bench/RESULTS.md,
 * "Request latency with the seed batch settings"): a fresh tfo's first gRPC request spent most of
 * its server time between the accept and the parsed headers and in writing the answer, its first
 * HTTP request in reading the body and writing the answer, none of which the codec warm-up alone
 * reaches; the second connection's first request did not pay it.
 *
 * TLS handshakes are not warmed (the throwaway servers are plaintext).
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { GrpcClient } from "../../../lib/net/grpc_client.ts";
import { decompress } from "../../../lib/net/compression.ts";
import { WARM_UP_SAMPLE_ITEMS, warmUpSample } from "../../../lib/pdata/sample.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import { type Signal, SIGNALS } from "../../../lib/pdata/types.ts";
import { OTLP_SIGNALS, type OtlpSignal } from "../../../lib/otlp/signals.ts";

/**
 * Runs the receive path of every signal in `signals` once (see the module notes). Never throws: a
 * failure here only means the first request is not warmed.
 */
export async function warmUpReceivePath(signals: readonly Signal[]): Promise<void> {
  for (const signal of signals) {
    try {
      const codec = OTLP_SIGNALS[signal] as unknown as OtlpSignal<Signal>;
      const proto = codec.encodeProto(warmUpSample(signal));
      const body = await decompress(gzipSync(proto), "gzip", 1 << 20);
      const payload = Payload.fromProto(signal, body, codec.proto);
      if (payload.itemCount !== WARM_UP_SAMPLE_ITEMS[signal]) continue;
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

/** A throwaway server of one protocol, listening. */
export interface WarmUpServer {
  readonly port: number;
  shutdown(): Promise<void>;
}

/** What {@linkcode warmUpTransports} needs from the receiver. */
export interface WarmUpTransportsOptions {
  /** The receiver's consumers: their `mutatesData` and `needs` are copied. */
  readonly next: SignalConsumers;
  /** Starts a throwaway gRPC server in front of `next`, when the receiver serves gRPC. */
  readonly grpc?: ((next: SignalConsumers) => Promise<WarmUpServer>) | undefined;
  /** Starts a throwaway HTTP server in front of `next`, when the receiver serves HTTP. */
  readonly http?: ((next: SignalConsumers) => Promise<WarmUpServer>) | undefined;
  /** The HTTP path of each signal. */
  readonly httpPath: (signal: Signal) => string;
  /**
   * The deadline of each warm-up request; one that fails ends its protocol's warm-up.
   * @default 5000
   */
  readonly timeoutMs?: number;
}

/** Consumers that declare what `next`'s declare and accept everything at once. */
function throwawayConsumers(next: SignalConsumers): SignalConsumers {
  const out: Record<string, Consumer> = {};
  for (const signal of SIGNALS) {
    const real = next[signal] as Consumer | undefined;
    if (real === undefined) continue;
    out[signal] = {
      mutatesData: real.mutatesData,
      needs: real.needs,
      consume: (payload) => {
        void payload.itemCount;
        return Promise.resolve();
      },
    };
  }
  return out as SignalConsumers;
}

/** What {@linkcode warmUpTransports} did. */
export interface WarmUpReport {
  /** Requests sent, over both protocols. */
  sent: number;
  /** Requests answered with success. */
  answered: number;
  /** The first failure, when one failed. */
  error?: string;
}

async function warmGrpc(
  port: number,
  signals: readonly Signal[],
  timeoutMs: number,
  report: WarmUpReport,
): Promise<void> {
  const client = new GrpcClient({ target: `127.0.0.1:${port}`, tls: undefined });
  const gzipped = new GrpcClient({
    target: `127.0.0.1:${port}`,
    tls: undefined,
    compression: "gzip",
  });
  try {
    for (const signal of signals) {
      const codec = OTLP_SIGNALS[signal] as unknown as OtlpSignal<Signal>;
      const proto = codec.encodeProto(warmUpSample(signal));
      for (const c of [gzipped, client]) {
        report.sent++;
        await c.unary(codec.grpcMethod, proto, { timeoutMs });
        report.answered++;
      }
    }
  } finally {
    client.close();
    gzipped.close();
  }
}

async function warmHttp(
  port: number,
  signals: readonly Signal[],
  path: (signal: Signal) => string,
  timeoutMs: number,
  report: WarmUpReport,
): Promise<void> {
  const client = Deno.createHttpClient({});
  try {
    for (const signal of signals) {
      const codec = OTLP_SIGNALS[signal] as unknown as OtlpSignal<Signal>;
      const data = warmUpSample(signal);
      const proto = codec.encodeProto(data);
      const gzipped = new Uint8Array(gzipSync(proto));
      const gzip = { "content-encoding": "gzip" };
      const bodies: [string, BodyInit, Record<string, string>][] = [
        ["application/x-protobuf", gzipped, gzip],
        // Without a length: chunked, as the SDK's HTTP exporters send.
        ["application/x-protobuf", ReadableStream.from([gzipped]), gzip],
        // As Node.js clients (the JS SDK) send it.
        ["application/x-protobuf", proto.slice(), { connection: "keep-alive" }],
        ["application/json", codec.encodeJson(data), {}],
      ];
      for (const [type, body, headers] of bodies) {
        report.sent++;
        const response = await fetch(`http://127.0.0.1:${port}${path(signal)}`, {
          method: "POST",
          body,
          headers: { "content-type": type, ...headers },
          client,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`HTTP ${type} got ${response.status}`);
        report.answered++;
      }
    }
  } finally {
    client.close();
  }
}

/**
 * Sends every signal of `next` over each protocol the receiver serves to a throwaway server of
 * it (see the module notes), then shuts those down. Never throws: a failure here only means the
 * first requests are not warmed; the report says what was answered.
 */
export async function warmUpTransports(options: WarmUpTransportsOptions): Promise<WarmUpReport> {
  const report: WarmUpReport = { sent: 0, answered: 0 };
  const signals = SIGNALS.filter((signal) => options.next[signal] !== undefined);
  if (signals.length === 0) return report;
  const timeoutMs = options.timeoutMs ?? 5000;
  const next = throwawayConsumers(options.next);
  const run = async (
    start: ((next: SignalConsumers) => Promise<WarmUpServer>) | undefined,
    send: (port: number) => Promise<void>,
  ) => {
    if (start === undefined) return;
    let server: WarmUpServer | undefined;
    try {
      server = await start(next);
      await send(server.port);
    } catch (error) {
      report.error ??= error instanceof Error ? error.message : String(error);
    } finally {
      await server?.shutdown().catch(() => {});
    }
  };
  await run(options.grpc, (port) => warmGrpc(port, signals, timeoutMs, report));
  await run(options.http, (port) => warmHttp(port, signals, options.httpPath, timeoutMs, report));
  return report;
}
