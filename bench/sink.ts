/**
 * The benchmark sink: a separate process accepting OTLP over gRPC (raw grpc-js handlers) and HTTP
 * (`Deno.serve`) for the three signals. It counts items by scanning the protobuf framing (no
 * decode), reads each resource group's `bench.sent_us` to measure end-to-end latency, and answers
 * at once with an empty (full success) response.
 *
 * ```sh
 * deno run -A bench/sink.ts --grpc-port 34317 --http-port 34318
 * ```
 *
 * `GET /stats` on the HTTP port returns {@linkcode SinkStats} as JSON; `POST /reset` clears the
 * latency samples (counters keep counting). Prints `ready` on stdout once both ports listen.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { serveGrpc } from "../lib/net/grpc_server.ts";
import { countLogsItems, countMetricsItems, countTracesItems } from "../lib/otlp/mod.ts";
import { OTLP_SIGNALS } from "../lib/otlp/signals.ts";
import type { Signal } from "../lib/pdata/types.ts";
import { nowMicros } from "./_payloads.ts";
import { sentTimes } from "./_wire.ts";

/** What the sink reports on `GET /stats`. */
export interface SinkStats {
  /** Items received per signal since start. */
  items: Record<Signal, number>;
  /** Requests received since start. */
  requests: number;
  /** Request bytes received since start (after decompression). */
  bytes: number;
  /** End-to-end latencies (send time in the payload → arrival here) since the last reset, ms. */
  latency: { count: number; p50: number; p99: number; max: number };
}

const COUNTERS: Record<Signal, (bytes: Uint8Array) => number> = {
  traces: countTracesItems,
  metrics: countMetricsItems,
  logs: countLogsItems,
};

const GRPC_METHODS: Record<Signal, string> = {
  traces: OTLP_SIGNALS.traces.grpcMethod,
  metrics: OTLP_SIGNALS.metrics.grpcMethod,
  logs: OTLP_SIGNALS.logs.grpcMethod,
};

/** The value at quantile `q` of sorted `values` (nearest rank), or 0 when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

function main(): void {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "grpc-port": { type: "string", default: "34317" },
      "http-port": { type: "string", default: "34318" },
    },
  });
  const items: Record<Signal, number> = { traces: 0, metrics: 0, logs: 0 };
  let requests = 0;
  let bytes = 0;
  let latencies: number[] = [];

  function receive(signal: Signal, body: Uint8Array): void {
    const arrived = nowMicros();
    items[signal] += COUNTERS[signal](body);
    requests++;
    bytes += body.length;
    for (const sent of sentTimes(body)) latencies.push((arrived - sent) / 1000);
  }

  function stats(): SinkStats {
    const sorted = Float64Array.from(latencies).sort();
    return {
      items: { ...items },
      requests,
      bytes,
      latency: {
        count: sorted.length,
        p50: quantile(sorted, 0.5),
        p99: quantile(sorted, 0.99),
        max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
      },
    };
  }

  const methods = new Map(
    (Object.keys(GRPC_METHODS) as Signal[]).map((signal) => [
      GRPC_METHODS[signal],
      (call: { request: Uint8Array }) => {
        receive(signal, call.request);
        return Promise.resolve(new Uint8Array(0));
      },
    ]),
  );
  const grpc = serveGrpc({
    hostname: "127.0.0.1",
    port: Number(values["grpc-port"]),
    maxRecvMsgBytes: 256 * 1024 * 1024,
  }, methods);

  const empty = { status: 200, headers: { "content-type": "application/x-protobuf" } };
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values["http-port"]),
    onListen: () => {},
  }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/stats") return Response.json(stats());
    if (path === "/reset") {
      latencies = [];
      return new Response(null, { status: 204 });
    }
    const signal = path.slice("/v1/".length) as Signal;
    if (!path.startsWith("/v1/") || !(signal in COUNTERS)) {
      return new Response("not found", { status: 404 });
    }
    let body: Uint8Array;
    if (request.headers.get("content-encoding") === "gzip") {
      const stream = request.body!.pipeThrough(new DecompressionStream("gzip"));
      body = await new Response(stream).bytes();
    } else {
      body = await request.bytes();
    }
    receive(signal, body);
    return new Response(null, empty);
  });
  grpc.then(() => console.log("ready"), (error) => {
    console.error(`sink: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  });
}

if (import.meta.main) main();
