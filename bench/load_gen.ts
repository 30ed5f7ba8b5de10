/**
 * The benchmark load generator, run as its own process: sends pre-encoded OTLP requests (see
 * `_payloads.ts`) over gRPC or HTTP/protobuf for a fixed time, either closed-loop (`--workers`
 * requests always in flight) or open-loop at a fixed `--rate` of requests per second.
 *
 * ```sh
 * deno run -A bench/load_gen.ts --signal traces --protocol http --target 127.0.0.1:4318 \
 *   --workers 128 --warmup 2 --duration 10 --items 100
 * ```
 *
 * Prints `start` when the first request goes out, then, at the end, one JSON line: a
 * {@linkcode LoadGenResult}. Only requests started inside the measurement window (after the
 * warm-up) count in `window`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { GrpcClient } from "../lib/net/grpc_client.ts";
import { OTLP_SIGNALS } from "../lib/otlp/signals.ts";
import type { Signal } from "../lib/pdata/types.ts";
import { type RequestTemplate, requestTemplates, stampRequest } from "./_payloads.ts";

/** What the generator reports when done. */
export interface LoadGenResult {
  /** Requests, failures and items acknowledged, over the measurement window only. */
  window: { seconds: number; requests: number; errors: number; items: number };
  /** Request latency (send → response) of successful requests in the window, ms. */
  latency: { p50: number; p99: number };
  /** Open-loop sends skipped because `--max-inflight` requests were already in flight. */
  skipped: number;
  /** The first error seen, if any. */
  firstError?: string;
}

const GRPC_METHODS: Record<Signal, string> = {
  traces: OTLP_SIGNALS.traces.grpcMethod,
  metrics: OTLP_SIGNALS.metrics.grpcMethod,
  logs: OTLP_SIGNALS.logs.grpcMethod,
};

type Send = (body: Uint8Array) => Promise<void>;

function httpSender(target: string, signal: Signal): Send {
  const url = `http://${target}/v1/${signal}`;
  const headers = { "content-type": "application/x-protobuf" };
  return async (body) => {
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: body as Uint8Array<ArrayBuffer>,
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  };
}

function grpcSender(target: string, signal: Signal): Send {
  const client = new GrpcClient({ target, tls: undefined, compression: "none" });
  return async (body) => {
    await client.unary(GRPC_METHODS[signal], body, { timeoutMs: 30_000 });
  };
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      signal: { type: "string", default: "traces" },
      protocol: { type: "string", default: "http" },
      target: { type: "string", default: "127.0.0.1:4318" },
      workers: { type: "string", default: "128" },
      rate: { type: "string", default: "0" },
      "max-inflight": { type: "string", default: "2000" },
      warmup: { type: "string", default: "2" },
      duration: { type: "string", default: "10" },
      items: { type: "string", default: "100" },
    },
  });
  const signal = values.signal as Signal;
  if (!(signal in GRPC_METHODS)) throw new Error(`Unknown signal "${values.signal}"`);
  const templates: RequestTemplate[] = requestTemplates(signal, Number(values.items));
  const send = values.protocol === "grpc"
    ? grpcSender(values.target, signal)
    : httpSender(values.target, signal);
  const warmupMs = Number(values.warmup) * 1000;
  const durationMs = Number(values.duration) * 1000;
  const rate = Number(values.rate);
  const maxInflight = Number(values["max-inflight"]);

  const latencies: number[] = [];
  const window = { seconds: durationMs / 1000, requests: 0, errors: 0, items: 0 };
  let firstError: string | undefined;
  let skipped = 0;
  let inflight = 0;
  let next = 0;
  const start = performance.now();
  const windowStart = start + warmupMs;
  const end = windowStart + durationMs;
  console.log("start");

  async function one(): Promise<void> {
    const template = templates[next++ % templates.length]!;
    const body = stampRequest(template);
    const sentAt = performance.now();
    const counted = sentAt >= windowStart && sentAt < end;
    inflight++;
    try {
      await send(body);
      if (counted) {
        window.requests++;
        window.items += template.items;
        latencies.push(performance.now() - sentAt);
      }
    } catch (error) {
      if (counted) window.errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
    } finally {
      inflight--;
    }
  }

  if (rate <= 0) {
    const worker = async () => {
      while (performance.now() < end) await one();
    };
    await Promise.all(Array.from({ length: Number(values.workers) }, worker));
  } else {
    const pending = new Set<Promise<void>>();
    let fired = 0;
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      while (fired < due) {
        fired++;
        if (inflight >= maxInflight) {
          skipped++;
          continue;
        }
        const p = one();
        pending.add(p);
        p.finally(() => pending.delete(p));
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(pending);
  }
  const sorted = Float64Array.from(latencies).sort();
  const result: LoadGenResult = {
    window,
    latency: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) },
    skipped,
    ...(firstError === undefined ? {} : { firstError }),
  };
  console.log(JSON.stringify(result));
  Deno.exit(0);
}

if (import.meta.main) await main();
