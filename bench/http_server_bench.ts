/**
 * OTLP/HTTP receive path on `Deno.serve` against tfo's own HTTP/1.1 server (`lib/net/http1/`),
 * both running the otlp receiver's real handler (`createHttpHandler`: routing, media type,
 * validation, item budget) into a consumer that only counts, in a child process each, driven by
 * `load_gen.ts` (closed loop, keep-alive `fetch`) or by a lean raw-socket client (`--client raw`). Rounds alternate the two servers so a change in
 * machine load hits both; the report gives requests/s and the server's CPU time per request.
 *
 * ```sh
 * deno run -A bench/http_server_bench.ts --rounds 3 --duration 8 --workers 64 --items 100
 * deno run -A bench/http_server_bench.ts --client raw   # a lean raw-socket client instead of fetch
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHttpHandler } from "../components/receiver/otlp/_http_handler.ts";
import { httpConfigSchema, httpServerTimeouts } from "../components/receiver/otlp/config.ts";
import { listenHttp } from "../components/receiver/otlp/_http_listener.ts";
import type { Consumer } from "../lib/consumer/consumer.ts";
import { NOOP_LOGGER } from "../lib/telemetry/logger.ts";
import { MetricRegistry } from "../lib/telemetry/metrics.ts";
import { ChildGroup, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import type { LoadGenResult } from "./load_gen.ts";
import { requestTemplates } from "./_payloads.ts";
import { processInFlightBytes } from "../lib/net/in_flight_bytes.ts";
import { loadConfigLibs } from "../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

type Server = "deno-serve" | "tfo-http1";
const SERVERS: readonly Server[] = ["deno-serve", "tfo-http1"];

/** Runs one server in this process until killed (the child side of the bench). */
function serve(kind: Server, port: number): void {
  const config = httpConfigSchema.parse({ endpoint: `127.0.0.1:${port}` });
  let items = 0;
  const count: Consumer<"traces"> = {
    mutatesData: false,
    consume(payload) {
      items += payload.itemCount;
      return Promise.resolve();
    },
  };
  const handler = createHttpHandler({
    config,
    next: { traces: count },
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter({ receiver: "otlp" }),
    inFlight: processInFlightBytes(),
  });
  if (kind === "deno-serve") {
    // The receiver's listener before lib/net/http1, as it was.
    Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (request, info) => {
      const a = info.remoteAddr;
      return handler(request, `${a.hostname}:${a.port}`);
    });
  } else {
    listenHttp({
      hostname: "127.0.0.1",
      port,
      logger: NOOP_LOGGER,
      timeouts: httpServerTimeouts(config),
    }, handler);
  }
  Deno.addSignalListener("SIGTERM", () => {
    console.log(JSON.stringify({ items }));
    Deno.exit(0);
  });
}

/**
 * A lean closed-loop client (the child side of `--client raw`): `workers` keep-alive connections,
 * each sending a pre-built request and reading its answer, so the client's own cost stays small
 * next to the server's. Prints `start`, then one {@linkcode LoadGenResult}-shaped JSON line.
 */
async function rawLoad(port: number, options: Record<string, string>): Promise<void> {
  const templates = requestTemplates("traces", Number(options.items));
  const encoder = new TextEncoder();
  const requests = templates.map((t) => {
    const head = encoder.encode(
      `POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        `Content-Type: application/x-protobuf\r\nContent-Length: ${t.bytes.length}\r\n\r\n`,
    );
    const all = new Uint8Array(head.length + t.bytes.length);
    all.set(head);
    all.set(t.bytes, head.length);
    return all;
  });
  const warmupMs = Number(options.warmup) * 1000;
  const durationMs = Number(options.duration) * 1000;
  const start = performance.now();
  const windowStart = start + warmupMs;
  const end = windowStart + durationMs;
  const window = { seconds: durationMs / 1000, requests: 0, errors: 0, items: 0 };
  const latencies: number[] = [];
  const items = Number(options.items);
  console.log("start");
  const worker = async (w: number) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const buf = new Uint8Array(64 * 1024);
    let n = w;
    try {
      while (performance.now() < end) {
        const sentAt = performance.now();
        const request = requests[n++ % requests.length]!;
        let off = 0;
        while (off < request.length) off += await conn.write(request.subarray(off));
        // Read one answer: its head, then Content-Length bytes.
        let have = 0;
        let need = -1;
        let ok = false;
        while (need < 0 || have < need) {
          const r = await conn.read(buf.subarray(have));
          if (r === null) throw new Error("Server closed the connection");
          have += r;
          if (need < 0) {
            const text = new TextDecoder().decode(buf.subarray(0, have));
            const headEnd = text.indexOf("\r\n\r\n");
            if (headEnd < 0) continue;
            ok = text.startsWith("HTTP/1.1 200");
            const m = /content-length: *(\d+)/i.exec(text);
            need = headEnd + 4 + Number(m?.[1] ?? 0);
          }
        }
        if (sentAt >= windowStart && sentAt < end) {
          if (ok) {
            window.requests++;
            window.items += items;
            latencies.push(performance.now() - sentAt);
          } else window.errors++;
        }
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: Number(options.workers) }, (_, w) => worker(w)));
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  console.log(JSON.stringify({ window, latency: { p50: at(0.5), p99: at(0.99) }, skipped: 0 }));
}

interface RoundResult {
  server: Server;
  rps: number;
  cpuUsPerRequest: number;
  errors: number;
  p50: number;
  p99: number;
}

async function round(kind: Server, options: Record<string, string>): Promise<RoundResult> {
  const port = Number(options.port);
  const group = new ChildGroup();
  try {
    const self = new URL(import.meta.url).pathname;
    const server = group.spawn(kind, Deno.execPath(), [
      "run",
      "-A",
      self,
      "--serve",
      kind,
      "--port",
      `${port}`,
    ]);
    await waitForPort(port, 30_000, server);
    const gen = group.spawn("load_gen", Deno.execPath(), [
      "run",
      "-A",
      ...(options.client === "raw"
        ? [self, "--load", "--port", `${port}`]
        : [new URL("./load_gen.ts", import.meta.url).pathname, "--signal=traces"]),
      "--protocol=http",
      `--target=127.0.0.1:${port}`,
      `--workers=${options.workers}`,
      `--warmup=${options.warmup}`,
      `--duration=${options.duration}`,
      `--items=${options.items}`,
    ]);
    await gen.nextLine((l) => l === "start", 30_000);
    await new Promise((r) => setTimeout(r, Number(options.warmup) * 1000));
    const before = await sampleProc(server.pid);
    const line = await gen.nextLine((l) => l.startsWith("{"), 120_000);
    const after = await sampleProc(server.pid);
    const result = JSON.parse(line) as LoadGenResult;
    const w = result.window;
    return {
      server: kind,
      rps: w.requests / w.seconds,
      cpuUsPerRequest: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / Math.max(1, w.requests),
      errors: w.errors,
      p50: result.latency.p50,
      p99: result.latency.p99,
    };
  } finally {
    await group.stopAll();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      serve: { type: "string" },
      load: { type: "boolean", default: false },
      /** `fetch` (bench/load_gen.ts) or `raw` (a lean keep-alive client in this file). */
      client: { type: "string", default: "fetch" },
      protocol: { type: "string", default: "http" },
      target: { type: "string", default: "" },
      port: { type: "string", default: "24418" },
      rounds: { type: "string", default: "3" },
      workers: { type: "string", default: "64" },
      warmup: { type: "string", default: "2" },
      duration: { type: "string", default: "8" },
      items: { type: "string", default: "100" },
    },
  });
  if (values.serve !== undefined) return serve(values.serve as Server, Number(values.port));
  if (values.load) {
    return await rawLoad(Number(values.port), values as unknown as Record<string, string>);
  }
  const results: RoundResult[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    // Alternate which server goes first, so a load trend does not favour one.
    const order = r % 2 === 0 ? SERVERS : [...SERVERS].reverse();
    for (const kind of order) {
      const result = await round(kind, values as unknown as Record<string, string>);
      results.push(result);
      console.log(JSON.stringify(result));
    }
  }
  const mean = (kind: Server, key: "rps" | "cpuUsPerRequest" | "p99") => {
    const xs = results.filter((x) => x.server === kind).map((x) => x[key]);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  console.log("| server | requests/s | server CPU µs/request | p99 ms |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const kind of SERVERS) {
    console.log(
      `| ${kind} | ${mean(kind, "rps").toFixed(0)} | ${
        mean(kind, "cpuUsPerRequest").toFixed(0)
      } | ${mean(kind, "p99").toFixed(1)} |`,
    );
  }
  console.log(
    `ratio tfo-http1/deno-serve: requests/s ${
      (mean("tfo-http1", "rps") / mean("deno-serve", "rps")).toFixed(2)
    }, CPU/request ${
      (mean("tfo-http1", "cpuUsPerRequest") / mean("deno-serve", "cpuUsPerRequest")).toFixed(2)
    }`,
  );
}

if (import.meta.main) await main();
