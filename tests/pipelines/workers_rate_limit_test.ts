/**
 * `rate_limit` with `service.workers: 2`: the kernel spreads a tenant's connections over both
 * workers' listeners, and their receivers share one token bucket per tenant
 * (lib/tenancy/shared_buckets.ts), so what the process admits stays at the configured bound, not
 * twice it. `tfo run` runs in this process (`main`) so the test can see that both workers took
 * requests.
 *
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../main.ts";
import type { WorkerPool } from "../../pipelines/supervisor.ts";

const enc = new TextEncoder();
const RATE = 300;
const PER_REQUEST = 10;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

const body = enc.encode(JSON.stringify({
  resourceLogs: [{
    scopeLogs: [{
      logRecords: Array.from(
        { length: PER_REQUEST },
        (_, i) => ({ body: { stringValue: `r${i}` } }),
      ),
    }],
  }],
}));

Deno.test("workers: one tenant's rate_limit holds for the process with 2 workers, not per worker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-ratelimit-" });
  const http = freePort();
  await Deno.writeTextFile(
    `${dir}/c.yaml`,
    `
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:${http}", include_metadata: true}
    rate_limit: {items_per_second: ${RATE}, burst_seconds: 1}
exporters:
  file: {path: "${dir}/logs.jsonl"}
service:
  workers: 2
  telemetry: {metrics: {level: none}}
  pipelines:
    logs: {receivers: [otlp], exporters: [file]}
`,
  );
  const stop = Promise.withResolvers<void>();
  const lines: string[] = [];
  const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
  const poolReady = Promise.withResolvers<WorkerPool>();
  const running = main(["run", "--config", `${dir}/c.yaml`], {
    io,
    stop: stop.promise,
    onWorkers: (p) => poolReady.resolve(p),
  });
  running.then((code) => poolReady.reject(new Error(`tfo exited (${code}): ${lines.join("\n")}`)));
  const pool = await poolReady.promise;
  let admitted = 0;
  let limited = 0;
  const other: number[] = [];
  const started = performance.now();
  const seconds = 3;
  try {
    // Four senders on new connections (one per request), as fast as they are answered.
    await Promise.all([0, 1, 2, 3].map(async () => {
      const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      try {
        while (performance.now() - started < seconds * 1000) {
          const res = await fetch(`http://127.0.0.1:${http}/v1/logs`, {
            method: "POST",
            body: body as Uint8Array<ArrayBuffer>,
            headers: { "content-type": "application/json", "x-tenant-id": "acme" },
            client,
          });
          await res.body?.cancel();
          if (res.status === 200) admitted += PER_REQUEST;
          else if (res.status === 429 && res.headers.has("retry-after")) limited++;
          else other.push(res.status);
        }
      } finally {
        client.close();
      }
    }));
    const elapsed = (performance.now() - started) / 1000;
    // A full bucket (one second of the rate) and the rate since: what one isolate would admit.
    const bound = RATE * (1 + elapsed);
    assert.deepEqual(other, [], "every request was admitted or refused 429 with Retry-After");
    assert(limited > 0, "the tenant went over its limit");
    assert(pool.forwardedFrom(1) > 0, "worker 1 took some of the connections and admitted some");
    assert(
      admitted <= bound + 2 * PER_REQUEST,
      `admitted ${admitted} items in ${elapsed.toFixed(2)} s, over the bound ${bound.toFixed(0)}`,
    );
    assert(
      admitted >= 0.8 * RATE * elapsed,
      `admitted ${admitted} items in ${elapsed.toFixed(2)} s: far under the rate`,
    );
    console.log(
      `admitted ${admitted} items in ${elapsed.toFixed(2)} s (bound ${bound.toFixed(0)}), ` +
        `${limited} requests refused, worker 1 forwarded ${pool.forwardedFrom(1)}`,
    );
  } finally {
    stop.resolve();
    assert.equal(await running, 0);
    await Deno.remove(dir, { recursive: true });
  }
});
