/**
 * `service.workers: 2` end to end, with `tfo run` in this process (`main`, so the tests reach the
 * worker pool) or as a child process (reload by SIGHUP): connections spread over the workers on
 * one port (HTTP and gRPC), forwarded pipelines, summed self metrics, a killed worker restarted,
 * a graceful stop that drains every worker, a reload applied by every worker, and a persistent
 * queue that outlives a change of the worker count.
 *
 * Spreading is checked with new connections (one per request): the kernel hashes each to one of
 * the listeners, so N of them all landing on one has probability 2^(1-N).
 *
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../main.ts";
import { GrpcClient } from "../../lib/net/grpc_client.ts";
import { countTracesItems } from "../../lib/otlp/mod.ts";
import { OTLP_SIGNALS } from "../../lib/otlp/signals.ts";
import type { WorkerPool } from "../../pipelines/supervisor.ts";
import { metricValue, scrape } from "../fixtures/chaos/tfo_process.ts";
import { freePort } from "../fixtures/interop/services.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const enc = new TextEncoder();

function spanJson(name: string): Uint8Array {
  return enc.encode(JSON.stringify({
    resourceSpans: [{
      scopeSpans: [{
        spans: [{
          traceId: "0102030405060708090a0b0c0d0e0f10",
          spanId: "0102030405060708",
          name,
          startTimeUnixNano: "1700000000000000000",
          endTimeUnixNano: "1700000000100000000",
        }],
      }],
    }],
  }));
}

function logJson(body: string): Uint8Array {
  return enc.encode(JSON.stringify({
    resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: body } }] }] }],
  }));
}

/** POSTs on a connection of its own; resolves to the status. */
async function postFresh(port: number, signal: string, body: Uint8Array): Promise<number> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/${signal}`, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers: { "content-type": "application/json" },
      client,
    });
    await res.body?.cancel();
    return res.status;
  } finally {
    client.close();
  }
}

/** A traces backend counting spans per port. */
function startSink() {
  const state = { spans: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    state.spans += countTracesItems(body);
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  return { state, port: server.addr.port, close: () => server.shutdown() };
}

interface Running {
  readonly pool: WorkerPool;
  readonly lines: string[];
  stop(): Promise<number>;
}

/** Runs `tfo run` in this process on `config`; resolves once every worker is ready. */
async function runInProcess(config: string): Promise<Running> {
  const dir = await Deno.makeTempDir({ prefix: "tfo-workers-" });
  await Deno.writeTextFile(`${dir}/c.yaml`, config);
  const stop = Promise.withResolvers<void>();
  const lines: string[] = [];
  const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
  const pool = Promise.withResolvers<WorkerPool>();
  const running = main(["run", "--config", `${dir}/c.yaml`], {
    io,
    stop: stop.promise,
    onWorkers: (p) => pool.resolve(p),
  });
  running.then((code) => pool.reject(new Error(`tfo exited (${code}): ${lines.join("\n")}`)));
  return {
    pool: await pool.promise,
    lines,
    async stop() {
      stop.resolve();
      const code = await running;
      await Deno.remove(dir, { recursive: true });
      return code;
    },
  };
}

Deno.test("workers: HTTP and gRPC connections spread over two workers on one port, self metrics are summed", async () => {
  const sink = startSink();
  const http = freePort();
  const grpc = freePort();
  const metrics = freePort();
  const dir = await Deno.makeTempDir();
  const tfo = await runInProcess(`
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:${http}"}
      grpc: {endpoint: "127.0.0.1:${grpc}"}
exporters:
  otlp_http: {endpoint: "http://127.0.0.1:${sink.port}", compression: none}
  file: {path: "${dir}/logs.jsonl"}
service:
  workers: 2
  telemetry: {metrics: {address: "127.0.0.1:${metrics}"}}
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp_http]}
    logs: {receivers: [otlp], exporters: [file]}
`);
  try {
    // traces: replicated (every worker exports itself); logs: forwarded to the primary's file.
    for (let i = 0; i < 30; i++) {
      assert.equal(await postFresh(http, "traces", spanJson(`s${i}`)), 200);
    }
    for (let i = 0; i < 30; i++) assert.equal(await postFresh(http, "logs", logJson(`l${i}`)), 200);
    const viaHttp = tfo.pool.forwardedFrom(1);
    assert(viaHttp > 0 && viaHttp < 30, `worker 1 forwarded ${viaHttp} of 30 HTTP requests`);

    const logs = OTLP_SIGNALS.logs;
    const request = logs.encodeProto(logs.decodeJson(logJson("grpc")));
    for (let i = 0; i < 20; i++) {
      const client = new GrpcClient({
        target: `127.0.0.1:${grpc}`,
        tls: undefined,
        compression: "none",
      });
      try {
        await client.unary(logs.grpcMethod, request, { timeoutMs: 10_000 });
      } finally {
        client.close();
      }
    }
    const viaGrpc = tfo.pool.forwardedFrom(1) - viaHttp;
    assert(viaGrpc > 0 && viaGrpc < 20, `worker 1 forwarded ${viaGrpc} of 20 gRPC calls`);

    await waitFor("30 spans at the sink", () => sink.state.spans === 30 || undefined);
    // The workers post their metrics every second; the primary serves the sums.
    const text = await waitFor("summed metrics", async () => {
      const t = await scrape(metrics);
      if (t === undefined) return undefined;
      const spans = metricValue(t, "otelcol_receiver_accepted_spans", { transport: "http" });
      const grpcLogs = metricValue(t, "otelcol_receiver_accepted_log_records", {
        transport: "grpc",
      });
      return spans === 30 && grpcLogs === 20 ? t : undefined;
    });
    assert.equal(metricValue(text, "otelcol_exporter_sent_spans", { exporter: "otlp_http" }), 30);
    assert.equal(metricValue(text, "otelcol_exporter_sent_log_records", { exporter: "file" }), 50);
    assert(!text.includes("tfo_worker_"), "the link components are not in the metrics");
    const written = (await Deno.readTextFile(`${dir}/logs.jsonl`)).trim().split("\n").length;
    assert.equal(written, 50);
  } finally {
    assert.equal(await tfo.stop(), 0);
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workers: a killed worker is restarted, the port keeps answering, the counters never go down", async () => {
  const http = freePort();
  const metrics = freePort();
  const dir = await Deno.makeTempDir();
  const tfo = await runInProcess(`
receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${http}"}}}
exporters:
  file: {path: "${dir}/logs.jsonl"}
service:
  workers: 2
  telemetry: {metrics: {address: "127.0.0.1:${metrics}"}}
  pipelines:
    logs: {receivers: [otlp], exporters: [file]}
`);
  try {
    for (let i = 0; i < 20; i++) assert.equal(await postFresh(http, "logs", logJson(`a${i}`)), 200);
    const accepted = () =>
      scrape(metrics).then((t) =>
        t === undefined ? undefined : metricValue(t, "otelcol_receiver_accepted_log_records")
      );
    await waitFor("20 accepted", async () => (await accepted()) === 20 || undefined);
    const before = tfo.pool.forwardedFrom(1);

    tfo.pool.kill(1);
    assert.equal(tfo.pool.running, 0);
    // Connections the kernel had already queued on the dead worker's listener are reset (a
    // connection error, which OTLP clients retry); then the primary alone answers every request.
    let resets = 0;
    let inARow = 0;
    await waitFor("10 answers in a row from the primary", async () => {
      try {
        const status = await postFresh(http, "logs", logJson("b"));
        assert(status === 200 || status === 503, `status ${status}`);
        inARow = status === 200 ? inARow + 1 : 0;
      } catch {
        resets++;
        inARow = 0;
      }
      return inARow >= 10 || undefined;
    }, 10_000);
    assert(resets <= 5, `${resets} connection resets after the kill`);
    assert((await accepted())! >= 20, "the dead worker's counts stay in the sums");

    await waitFor("the restart", () => tfo.pool.running === 1 && tfo.pool.restarts === 1);
    // The restarted worker listens again: new connections reach it.
    await waitFor("a request through the restarted worker", async () => {
      assert.equal(await postFresh(http, "logs", logJson("c")), 200);
      return tfo.pool.forwardedFrom(1) > before || undefined;
    });
  } finally {
    assert.equal(await tfo.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workers: a graceful stop drains the batches of every worker", async () => {
  const sink = startSink();
  const http = freePort();
  const tfo = await runInProcess(`
receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${http}"}}}
processors:
  batch: {timeout: 1h, send_batch_size: 100000}
exporters:
  otlp_http: {endpoint: "http://127.0.0.1:${sink.port}", compression: none}
service:
  workers: 2
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [otlp_http]}
`);
  try {
    for (let i = 0; i < 40; i++) {
      assert.equal(await postFresh(http, "traces", spanJson(`s${i}`)), 200);
    }
    assert.equal(sink.state.spans, 0, "the batches wait for their timeout");
  } finally {
    assert.equal(await tfo.stop(), 0);
  }
  assert.equal(sink.state.spans, 40, "every worker flushed its batch on stop");
  await sink.close();
});

Deno.test("workers: SIGHUP reloads every worker", async () => {
  const a = startSink();
  const b = startSink();
  const http = freePort();
  const dir = await Deno.makeTempDir();
  const config = (sink: number) => `
receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${http}"}}}
exporters:
  otlp_http: {endpoint: "http://127.0.0.1:${sink}", compression: none}
service:
  workers: 2
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp_http]}
`;
  await Deno.writeTextFile(`${dir}/c.yaml`, config(a.port));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      "--unstable-net",
      `${ROOT}main.ts`,
      "run",
      "--config",
      `${dir}/c.yaml`,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const drained = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      lines.push(...text.split("\n"));
    }
  })();
  try {
    await waitFor(
      "every worker ready",
      () => lines.some((l) => l.includes("Every worker is ready")) || undefined,
    );
    for (let i = 0; i < 20; i++) {
      assert.equal(await postFresh(http, "traces", spanJson(`a${i}`)), 200);
    }
    await waitFor("20 spans at a", () => a.state.spans === 20 || undefined);

    await Deno.writeTextFile(`${dir}/c.yaml`, config(b.port));
    child.kill("SIGHUP");
    await waitFor(
      "the reload",
      () => lines.some((l) => l.includes("Config reloaded")) || undefined,
    );
    for (let i = 0; i < 30; i++) {
      assert.equal(await postFresh(http, "traces", spanJson(`b${i}`)), 200);
    }
    await waitFor("30 spans at b", () => b.state.spans === 30 || undefined);
    assert.equal(a.state.spans, 20, "no worker kept the old exporter");
    assert(!lines.some((l) => l.includes("could not apply")), lines.join("\n"));
  } finally {
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    await drained;
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workers: a persistent queue is one writer in the primary and outlives a change of the worker count", async () => {
  const http = freePort();
  const sinkPort = freePort();
  const dir = await Deno.makeTempDir();
  const config = (workers: number) => `
receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${http}"}}}
extensions:
  file_storage: {directory: "${dir}"}
exporters:
  otlp_http:
    endpoint: "http://127.0.0.1:${sinkPort}"
    compression: none
    retry_on_failure: {initial_interval: 100ms, max_interval: 200ms}
    sending_queue: {storage: file_storage}
service:
  workers: ${workers}
  extensions: [file_storage]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp_http]}
`;
  // Two workers, the backend down: what both take is queued on disk by the primary.
  const first = await runInProcess(config(2));
  try {
    for (let i = 0; i < 30; i++) {
      assert.equal(await postFresh(http, "traces", spanJson(`q${i}`)), 200);
    }
    const forwarded = first.pool.forwardedFrom(1);
    assert(forwarded > 0 && forwarded < 30, `worker 1 forwarded ${forwarded} of 30`);
  } finally {
    await first.stop();
  }
  // One worker, the backend up: the queue resumes and delivers everything.
  const sink = Deno.serve(
    { hostname: "127.0.0.1", port: sinkPort, onListen: () => {} },
    async (req) => {
      spans += countTracesItems(new Uint8Array(await req.arrayBuffer()));
      return new Response(new Uint8Array(0), {
        headers: { "content-type": "application/x-protobuf" },
      });
    },
  );
  let spans = 0;
  await Deno.writeTextFile(`${dir}/c1.yaml`, config(1));
  const stop = Promise.withResolvers<void>();
  const lines: string[] = [];
  const running = main(["run", "--config", `${dir}/c1.yaml`], {
    io: { out: (t) => lines.push(t), err: (t) => lines.push(t) },
    stop: stop.promise,
  });
  try {
    await waitFor("30 queued spans delivered", () => spans >= 30 || undefined, 30_000);
    assert.equal(spans, 30);
  } finally {
    stop.resolve();
    assert.equal(await running, 0, lines.join("\n"));
    await sink.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

function traceJson(traceByte: number, spanByte: number): Uint8Array {
  const hex = (b: number, n: number) => b.toString(16).padStart(2, "0").repeat(n);
  return enc.encode(JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
      scopeSpans: [{
        spans: [{
          traceId: hex(traceByte, 16),
          spanId: hex(spanByte, 8),
          name: `t${traceByte}-s${spanByte}`,
          startTimeUnixNano: "1700000000000000000",
          endTimeUnixNano: "1700000000100000000",
        }],
      }],
    }],
  }));
}

/**
 * Spans a `span_count >= 2` tail sampler keeps with `workers`: 10 traces of two spans, each span
 * sent on a connection of its own (so with 2 workers the two halves of a trace mostly reach
 * different workers), and 10 traces of one span.
 */
async function tailSampled(workers: number): Promise<{ spans: number; pool?: WorkerPool }> {
  const sink = startSink();
  const http = freePort();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.yaml`,
    `
receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${http}"}}}
processors:
  tail_sampling:
    decision_wait: 1s
    policies: [{name: two, type: span_count, span_count: {min_spans: 2}}]
exporters:
  otlp_http: {endpoint: "http://127.0.0.1:${sink.port}", compression: none}
service:
  workers: ${workers}
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], processors: [tail_sampling], exporters: [otlp_http]}
`,
  );
  const stop = Promise.withResolvers<void>();
  const ready = Promise.withResolvers<WorkerPool>();
  const lines: string[] = [];
  const running = main(["run", "--config", `${dir}/c.yaml`], {
    io: { out: (t) => lines.push(t), err: (t) => lines.push(t) },
    stop: stop.promise,
    onWorkers: (pool) => ready.resolve(pool),
  });
  try {
    const pool = workers > 1 ? await ready.promise : undefined;
    await waitFor("the port", async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: http })).close();
        return true;
      } catch {
        return undefined;
      }
    });
    for (let t = 1; t <= 10; t++) {
      assert.equal(await postFresh(http, "traces", traceJson(t, 1)), 200);
      assert.equal(await postFresh(http, "traces", traceJson(t, 2)), 200);
    }
    for (let t = 11; t <= 20; t++) {
      assert.equal(await postFresh(http, "traces", traceJson(t, 1)), 200);
    }
    // decision_wait is 1 s: every decision is made and exported after 3 s.
    await new Promise((r) => setTimeout(r, 3000));
    return { spans: sink.state.spans, ...(pool === undefined ? {} : { pool }) };
  } finally {
    stop.resolve();
    assert.equal(await running, 0, lines.join("\n"));
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("workers: sharded tail sampling decides the same with 2 workers as with 1 (a trace's spans meet in one instance)", async () => {
  const one = await tailSampled(1);
  const two = await tailSampled(2);
  assert.equal(one.spans, 20, "the 10 two-span traces, whole");
  assert.equal(two.spans, one.spans);
  // Both instances decided: shards went each way.
  assert(two.pool!.shardsTo(1) > 0, "the primary handed worker 1 its shards");
  assert(two.pool!.forwardedFrom(1) > 0, "worker 1 handed the primary its shards");
});

function serviceSpanJson(service: string, traceByte: number): Uint8Array {
  const hex = (b: number, n: number) => b.toString(16).padStart(2, "0").repeat(n);
  return enc.encode(JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
      scopeSpans: [{
        spans: [{
          traceId: hex(traceByte, 16),
          spanId: hex(traceByte, 8),
          name: "op",
          kind: 2,
          startTimeUnixNano: "1700000000000000000",
          endTimeUnixNano: "1700000000100000000",
        }],
      }],
    }],
  }));
}

/**
 * The last `calls` value span_metrics exported per service with `workers`, for 4 services of 6
 * spans each, every span on a connection of its own.
 */
async function spanMetricsCalls(workers: number): Promise<Record<string, number>> {
  const last: Record<string, number> = {};
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const data = OTLP_SIGNALS.metrics.proto.decode(new Uint8Array(await req.arrayBuffer()));
    for (const rm of data.resourceMetrics) {
      const resourceService = rm.resource.attributes.find((a) => a.key === "service.name");
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          const sum = m.data;
          if (!m.name.endsWith("calls") || sum?.type !== "sum") continue;
          for (const dp of sum.dataPoints) {
            const attr = dp.attributes.find((a) => a.key === "service.name") ?? resourceService;
            const service = typeof attr?.value === "string" ? attr.value : "?";
            last[service] = Number(dp.value);
          }
        }
      }
    }
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  const http = freePort();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.yaml`,
    `
receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${http}"}}}
connectors:
  span_metrics: {metrics_flush_interval: 300ms}
exporters:
  otlp_http: {endpoint: "http://127.0.0.1:${sink.addr.port}", compression: none}
service:
  workers: ${workers}
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [span_metrics]}
    metrics: {receivers: [span_metrics], exporters: [otlp_http]}
`,
  );
  const stop = Promise.withResolvers<void>();
  const ready = Promise.withResolvers<void>();
  const lines: string[] = [];
  const running = main(["run", "--config", `${dir}/c.yaml`], {
    io: { out: (t) => lines.push(t), err: (t) => lines.push(t) },
    stop: stop.promise,
    onWorkers: () => ready.resolve(),
  });
  try {
    if (workers > 1) await ready.promise;
    await waitFor("the port", async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: http })).close();
        return true;
      } catch {
        return undefined;
      }
    });
    let n = 1;
    for (const service of ["a", "b", "c", "d"]) {
      for (let i = 0; i < 6; i++) {
        assert.equal(await postFresh(http, "traces", serviceSpanJson(service, n++)), 200);
      }
    }
    await new Promise((r) => setTimeout(r, 2000));
    return { ...last };
  } finally {
    stop.resolve();
    assert.equal(await running, 0, lines.join("\n"));
    await sink.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("workers: sharded span metrics give the same series with 2 workers as with 1 (a service's spans meet in one instance)", async () => {
  const one = await spanMetricsCalls(1);
  assert.deepStrictEqual(one, { a: 6, b: 6, c: 6, d: 6 });
  assert.deepStrictEqual(await spanMetricsCalls(2), one);
});

function tracesJson(first: number, count: number): Uint8Array {
  const hex = (b: number, n: number) => b.toString(16).padStart(2, "0").repeat(n);
  const spans = [];
  for (let t = first; t < first + count; t++) {
    spans.push({
      traceId: hex(t, 16),
      spanId: hex(t, 8),
      name: `t${t}`,
      startTimeUnixNano: "1700000000000000000",
      endTimeUnixNano: "1700000000100000000",
    });
  }
  return enc.encode(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }));
}

Deno.test("workers: while a shard's owner is down its requests are refused retryably (503), then taken again", async () => {
  const sink = startSink();
  const http = freePort();
  const tfo = await runInProcess(`
receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${http}"}}}
processors:
  tail_sampling:
    decision_wait: 200ms
    policies: [{name: all, type: always_sample}]
exporters:
  otlp_http: {endpoint: "http://127.0.0.1:${sink.port}", compression: none}
service:
  workers: 2
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], processors: [tail_sampling], exporters: [otlp_http]}
`);
  try {
    tfo.pool.kill(1);
    // Only the primary listens now; 16 traces in one request have a shard for worker 1 (all but
    // with probability 2^-16), which nobody can take.
    let refused = 0;
    await waitFor("a retryable refusal", async () => {
      try {
        const status = await postFresh(http, "traces", tracesJson(1, 16));
        assert(status === 503 || status === 200, `status ${status}`);
        if (status === 503) refused++;
      } catch {
        // a connection the dead worker's listener had queued
      }
      return refused > 0 || undefined;
    }, 5000);
    await waitFor("the restart", () => tfo.pool.running === 1 || undefined);
    // Once worker 1 is back the same request is taken whole.
    await waitFor("acceptance after the restart", async () => {
      try {
        return (await postFresh(http, "traces", tracesJson(101, 16))) === 200 || undefined;
      } catch {
        return undefined;
      }
    });
    await waitFor("16 spans exported", () => sink.state.spans >= 16 || undefined);
  } finally {
    assert.equal(await tfo.stop(), 0);
    await sink.close();
  }
});
