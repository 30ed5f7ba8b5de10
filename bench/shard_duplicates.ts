/**
 * What a sharded request refused in part costs (issue 19): `tail_sampling` (sharded by trace ID)
 * with `service.workers: 2`, worker 1 killed; while it restarts, a request whose traces have a
 * part for it is refused whole (503) although the primary already took its own part, so the
 * client's resend delivers that part again. Requests of 16 traces each (one span per trace) are
 * sent one after another on new connections, each resent every 20 ms until it is accepted;
 * `always_sample` exports every span it gets, and the sink counts them. Duplicates = spans
 * exported - spans sent once. Runs `tfo run` in this process (`main`).
 *
 * ```sh
 * deno run -A --unstable-kv --unstable-net bench/shard_duplicates.ts [--requests 12] [--rounds 3]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { main } from "../main.ts";
import { countTracesItems } from "../lib/otlp/mod.ts";
import type { WorkerPool } from "../pipelines/supervisor.ts";

const enc = new TextEncoder();
const TRACES = 16;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

function tracesJson(first: number): Uint8Array {
  const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, "0");
  const spans = [];
  for (let t = first; t < first + TRACES; t++) {
    spans.push({
      traceId: hex(t * 2654435761 % 2 ** 32, 4).repeat(4),
      spanId: hex(t, 8),
      name: `t${t}`,
      startTimeUnixNano: "1700000000000000000",
      endTimeUnixNano: "1700000000100000000",
    });
  }
  return enc.encode(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }));
}

async function post(port: number, body: Uint8Array): Promise<number | undefined> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers: { "content-type": "application/json" },
      client,
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined; // A connection the dead worker's listener had queued.
  } finally {
    client.close();
  }
}

async function round(requests: number, base: number) {
  const state = { spans: 0 };
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    state.spans += countTracesItems(new Uint8Array(await req.arrayBuffer()));
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  const http = freePort();
  const dir = await Deno.makeTempDir({ prefix: "tfo-sharddup-" });
  await Deno.writeTextFile(
    `${dir}/c.yaml`,
    `
receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${http}"}}}
processors:
  tail_sampling: {decision_wait: 200ms, policies: [{name: all, type: always_sample}]}
exporters:
  otlp_http: {endpoint: "http://127.0.0.1:${sink.addr.port}", compression: none}
service:
  workers: 2
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], processors: [tail_sampling], exporters: [otlp_http]}
`,
  );
  const stop = Promise.withResolvers<void>();
  const ready = Promise.withResolvers<WorkerPool>();
  const running = main(["run", "--config", `${dir}/c.yaml`], {
    io: { out: () => {}, err: () => {} },
    stop: stop.promise,
    onWorkers: (p) => ready.resolve(p),
  });
  const pool = await ready.promise;
  pool.kill(1);
  let refusals = 0;
  let resets = 0;
  let refusedRequests = 0;
  for (let r = 0; r < requests; r++) {
    const body = tracesJson(base + r * TRACES);
    let refused = false;
    for (;;) {
      const status = await post(http, body);
      if (status === 200) break;
      if (status === 503) {
        refusals++;
        refused = true;
      } else resets++;
      await new Promise((res) => setTimeout(res, 20));
    }
    if (refused) refusedRequests++;
  }
  await new Promise((res) => setTimeout(res, 1500)); // decision_wait and the exporter
  stop.resolve();
  await running;
  await sink.shutdown();
  await Deno.remove(dir, { recursive: true });
  const sent = requests * TRACES;
  return { sent, exported: state.spans, refusals, refusedRequests, resets };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      requests: { type: "string", default: "12" },
      rounds: { type: "string", default: "3" },
    },
  });
  for (let i = 0; i < Number(values.rounds); i++) {
    const r = await round(Number(values.requests), i * 10_000);
    const dup = r.exported - r.sent;
    console.log(
      `round ${i + 1}: ${r.sent} spans sent once, ${r.exported} exported, ${dup} duplicates ` +
        `(${(dup / Math.max(1, r.refusals)).toFixed(1)} per refusal of a 16-span request); ` +
        `${r.refusals} refusals over ${r.refusedRequests} requests, ${r.resets} connection errors`,
    );
  }
}
