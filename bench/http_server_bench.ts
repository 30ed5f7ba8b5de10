/**
 * OTLP/HTTP receive path on `Deno.serve` against tfo's own HTTP/1.1 server (`lib/net/http1/`),
 * both running the otlp receiver's real handler (`createHttpHandler`: routing, media type,
 * validation, item budget) into a consumer that only counts, in a child process each, driven by
 * `load_gen.ts` (closed loop, keep-alive `fetch`). Rounds alternate the two servers so a change in
 * machine load hits both; the report gives requests/s and the server's CPU time per request.
 *
 * ```sh
 * deno run -A bench/http_server_bench.ts --rounds 3 --duration 8 --workers 64 --items 100
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
      new URL("./load_gen.ts", import.meta.url).pathname,
      "--signal=traces",
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
      port: { type: "string", default: "24418" },
      rounds: { type: "string", default: "3" },
      workers: { type: "string", default: "64" },
      warmup: { type: "string", default: "2" },
      duration: { type: "string", default: "8" },
      items: { type: "string", default: "100" },
    },
  });
  if (values.serve !== undefined) return serve(values.serve as Server, Number(values.port));
  const results: RoundResult[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    // Alternate which server goes first, so a load trend does not favour one.
    const order = r % 2 === 0 ? SERVERS : [...SERVERS].reverse();
    for (const kind of order) {
      const result = await round(kind, values as Record<string, string>);
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
