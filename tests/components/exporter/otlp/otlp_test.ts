import assert from "node:assert/strict";
import { otlpExporterFactory } from "../../../../components/exporter/otlp/factory.ts";
import {
  otlpConfigSchema,
  parseGrpcEndpoint,
} from "../../../../components/exporter/otlp/config.ts";
import { type Consumer, ConsumerError } from "../../../../lib/consumer/consumer.ts";
import { GrpcCode } from "../../../../lib/net/rpc_status.ts";
import {
  GrpcError,
  type GrpcTls,
  type GrpcUnaryHandler,
  serveGrpc,
} from "../../../../lib/net/grpc_server.ts";
import { H2Connection } from "../../../../lib/net/h2/connection.ts";
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  decodeTracesRequest,
  encodeTracesRequest,
  encodeTracesResponse,
  TRACES_PROTO,
} from "../../../../lib/otlp/mod.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { Signal } from "../../../../lib/pdata/types.ts";
import { spanNamesOf, tracesOf, tracesPayload } from "../../../fixtures/graph_kit.ts";
import {
  closedPort,
  gunzip,
  logsPayload,
  metricsPayload,
  settingsFor,
  testCertificates,
} from "./_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const SERVICES: Record<Signal, string> = {
  traces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  metrics: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
  logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

interface Call {
  signal: Signal;
  request: Uint8Array;
  metadata: Record<string, string>;
}

interface StatusAnswer {
  code: number;
  details: string;
  retryAfterMs?: number;
}

type Answer = { error: StatusAnswer } | { response: Uint8Array } | "hang";

/** A gRPC server (tfo's own, raw bytes) on 127.0.0.1 that records calls and answers with `answer`. */
async function fakeServer(
  answer: (c: Call) => Answer = () => ({ response: new Uint8Array() }),
  tls?: GrpcTls,
) {
  const calls: Call[] = [];
  const hanging: (() => void)[] = [];
  const methods = new Map<string, GrpcUnaryHandler>();
  for (const [signal, path] of Object.entries(SERVICES) as [Signal, string][]) {
    methods.set(path, (call) => {
      const metadata: Record<string, string> = {};
      for (const [k, v] of call.metadata()) metadata[k] = v[0] ?? "";
      const c: Call = { signal, request: call.request, metadata };
      calls.push(c);
      const a = answer(c);
      if (a === "hang") {
        return new Promise((resolve) => hanging.push(() => resolve(new Uint8Array())));
      }
      if ("error" in a) {
        const { code, details, retryAfterMs } = a.error;
        return Promise.reject(new GrpcError(code, details, { retryAfterMs }));
      }
      return Promise.resolve(a.response);
    });
  }
  const server = await serveGrpc(
    { hostname: "127.0.0.1", port: 0, maxRecvMsgBytes: 64 << 20, tls },
    methods,
  );
  return {
    endpoint: `127.0.0.1:${server.port}`,
    calls,
    close: async () => {
      for (const release of hanging) release();
      await server.shutdown();
    },
  };
}

const CONNECT_LATER = "Cannot connect yet; the first export connects again";

function statusError(code: number, details: string, retryDelayMs?: number): Answer {
  return {
    error: retryDelayMs === undefined
      ? { code, details }
      : { code, details, retryAfterMs: retryDelayMs },
  };
}

async function started(input: Record<string, unknown>, signals: Signal[] = ["traces"]) {
  const config = otlpConfigSchema.parse({ tls: { insecure: true }, ...input });
  const kit = settingsFor("otlp", config);
  const exporter = otlpExporterFactory.create(kit.settings, signals);
  await exporter.start({ getExtension: () => undefined, status: () => "running" });
  const traces = exporter.consumers.traces as Consumer<"traces">;
  return { exporter, traces, ...kit };
}

/** No queue and no retry: one consume, one attempt, its classified error returned. */
function single(input: Record<string, unknown>): Record<string, unknown> {
  return { ...input, sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };
}

async function rejection(promise: Promise<unknown>): Promise<ConsumerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConsumerError, `a ConsumerError, got ${error}`);
    return error;
  }
  assert.fail("expected a rejection");
}

Deno.test("otlp exporter calls the Export method of each signal with headers as metadata", async () => {
  const server = await fakeServer();
  const { exporter } = await started(
    { endpoint: server.endpoint, headers: { "X-Tenant": "acme" } },
    ["traces", "metrics", "logs"],
  );
  await exporter.consumers.traces!.consume(tracesPayload("a", "b"));
  await exporter.consumers.metrics!.consume(metricsPayload("m", 3));
  await exporter.consumers.logs!.consume(logsPayload("hello"));
  await exporter.shutdown();
  await server.close();
  assert.deepEqual(server.calls.map((c) => c.signal), ["traces", "metrics", "logs"]);
  const [t, m, l] = server.calls;
  assert.deepEqual(spanNamesOf(decodeTracesRequest(t!.request)), ["a", "b"]);
  assert.equal(
    decodeMetricsRequest(m!.request).resourceMetrics[0]?.scopeMetrics[0]?.metrics[0]?.name,
    "m",
  );
  assert.equal(
    decodeLogsRequest(l!.request).resourceLogs[0]?.scopeLogs[0]?.logRecords[0]?.body,
    "hello",
  );
  assert.equal(t!.metadata["x-tenant"], "acme");
  assert.match(String(t!.metadata["user-agent"]), /^tfo\/0\.0\.0-test/);
});

Deno.test("otlp exporter sends an encoded payload byte for byte", async () => {
  const server = await fakeServer();
  const { exporter, traces } = await started({ endpoint: `http://${server.endpoint}` });
  const bytes = encodeTracesRequest(tracesOf("x", "y"));
  await traces.consume(Payload.fromProto("traces", bytes, TRACES_PROTO));
  await exporter.shutdown();
  await server.close();
  assert.deepEqual(server.calls[0]?.request, bytes);
});

Deno.test("otlp exporter sends a merged batch's parts without joining them, byte for byte, across frames and windows", async () => {
  const server = await fakeServer();
  const { exporter, traces } = await started(single({ endpoint: server.endpoint }));
  // 12 requests of 150 spans with long names: ~30 KB each, past one 16 KiB frame apiece and
  // together past the 64 KiB initial window.
  const requests = Array.from({ length: 12 }, (_, r) =>
    encodeTracesRequest(
      tracesOf(...Array.from({ length: 150 }, (_, i) => `${r}-${i}-`.padEnd(200, "x"))),
    ));
  const batch = Payload.merge(
    "traces",
    requests.map((bytes) => Payload.fromProto("traces", bytes, TRACES_PROTO)),
  );
  assert.equal(batch.encodedParts?.length, 12);
  await traces.consume(batch);
  assert.equal(batch.encodedParts?.length, 12, "the parts were not joined");
  await exporter.shutdown();
  await server.close();
  const expected = new Uint8Array(requests.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const bytes of requests) {
    expected.set(bytes, offset);
    offset += bytes.length;
  }
  assert.ok(expected.length > 300_000, `${expected.length} bytes`);
  assert.deepEqual(server.calls[0]?.request, expected);
});

Deno.test("otlp exporter accepts a partial success, warns once and counts the rejected items", async () => {
  const server = await fakeServer(() => ({
    response: encodeTracesResponse({ rejectedItems: 2n, errorMessage: "too old" }),
  }));
  const { exporter, traces, warnings, registry } = await started({ endpoint: server.endpoint });
  await traces.consume(tracesPayload("a", "b", "c"));
  await exporter.shutdown();
  await server.close();
  const [warning, ...more] = warnings();
  assert.equal(more.length, 0);
  assert.equal(warning?.rejected_spans, 2);
  assert.equal(warning?.message, "too old");
  assert.equal(registry.value("tfo_exporter_rejected_spans", { exporter: "otlp" }), 2);
});

const CASES: [string, Answer, boolean, number | undefined][] = [
  ["UNAVAILABLE", statusError(GrpcCode.UNAVAILABLE, "overloaded"), false, undefined],
  ["UNAVAILABLE with RetryInfo", statusError(GrpcCode.UNAVAILABLE, "later", 2500), false, 2500],
  ["INVALID_ARGUMENT", statusError(GrpcCode.INVALID_ARGUMENT, "bad span"), true, undefined],
  [
    "RESOURCE_EXHAUSTED without RetryInfo",
    statusError(GrpcCode.RESOURCE_EXHAUSTED, "quota"),
    true,
    undefined,
  ],
  [
    "RESOURCE_EXHAUSTED with RetryInfo",
    statusError(GrpcCode.RESOURCE_EXHAUSTED, "slow down", 1500),
    false,
    1500,
  ],
  ["UNAUTHENTICATED", statusError(GrpcCode.UNAUTHENTICATED, "who"), true, undefined],
  ["INTERNAL", statusError(GrpcCode.INTERNAL, "oops"), true, undefined],
];

for (const [name, answer, permanent, retryAfterMs] of CASES) {
  Deno.test(`otlp exporter classifies ${name} as ${permanent ? "permanent" : "retryable"}`, async () => {
    const server = await fakeServer(() => answer);
    const { exporter, traces } = await started(single({ endpoint: server.endpoint }));
    const error = await rejection(traces.consume(tracesPayload("a")));
    await exporter.shutdown();
    await server.close();
    assert.equal(error.permanent, permanent);
    assert.equal(error.retryAfterMs, retryAfterMs);
    assert.match(
      error.message,
      new RegExp(`^Cannot export traces to 127\\.0\\.0\\.1:\\d+: ${name.split(" ")[0]}`),
    );
  });
}

Deno.test("otlp exporter turns its own deadline into a retryable DEADLINE_EXCEEDED", async () => {
  const server = await fakeServer(() => "hang");
  const { exporter, traces } = await started(
    single({ endpoint: server.endpoint, timeout: "150ms" }),
  );
  const began = Date.now();
  const error = await rejection(traces.consume(tracesPayload("a")));
  const took = Date.now() - began;
  await exporter.shutdown();
  await server.close();
  assert.equal(error.permanent, false);
  assert.match(error.message, /DEADLINE_EXCEEDED/);
  assert.ok(took >= 140 && took < 5000, `took ${took}ms`);
});

Deno.test("otlp exporter treats an unreachable server as retryable UNAVAILABLE", async () => {
  const { exporter, traces } = await started(single({
    endpoint: `127.0.0.1:${closedPort()}`,
    timeout: "2s",
  }));
  const error = await rejection(traces.consume(tracesPayload("a")));
  await exporter.shutdown();
  assert.equal(error.permanent, false);
  assert.match(error.message, /UNAVAILABLE/);
});

Deno.test("otlp exporter opens its connection at start, before the first export", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const { exporter } = await started({
    endpoint: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
  });
  const timer = Promise.withResolvers<"not connected">();
  const id = setTimeout(() => timer.resolve("not connected"), 5000);
  const conn = await Promise.race([accepted, timer.promise]);
  clearTimeout(id);
  await exporter.shutdown();
  listener.close();
  assert.notEqual(conn, "not connected", "a connection came with no export sent");
  if (conn !== "not connected") conn.close();
});

Deno.test("otlp exporter starts when its endpoint is not up yet and says so at debug level", async () => {
  const { exporter, lines } = await started({ endpoint: `127.0.0.1:${closedPort()}` });
  for (let i = 0; i < 100 && !lines.some((l) => l.msg === CONNECT_LATER); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await exporter.shutdown();
  const line = lines.find((l) => l.msg === CONNECT_LATER);
  assert.equal(line?.level, "debug");
  assert.equal(lines.filter((l) => l.level === "warn" || l.level === "error").length, 0);
});

/** A bare HTTP/2 server (tfo's h2 layer) speaking just enough gRPC to show what arrives. */
function wireServer() {
  const seen: { headers: Map<string, string>; frame: Uint8Array }[] = [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: H2Connection[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const h2 = new H2Connection(conn, {
        role: "server",
        onStream(stream) {
          const chunks: number[] = [];
          stream.handlers = {
            onData(chunk, end) {
              chunks.push(...chunk);
              stream.consume(chunk.length);
              if (!end) return;
              seen.push({ headers: new Map(stream.headers), frame: Uint8Array.from(chunks) });
              stream.sendHeaders([[":status", "200"], ["content-type", "application/grpc"]], false);
              stream.write(new Uint8Array(5)).then(
                () => stream.sendHeaders([["grpc-status", "0"]], true),
                () => {},
              );
            },
          };
        },
      });
      connections.push(h2);
      h2.start();
    }
  })();
  return {
    endpoint: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    seen,
    close: async () => {
      listener.close();
      await accepting.catch(() => {});
      for (const c of connections) c.close();
      await Promise.all(connections.map((c) => c.closed));
    },
  };
}

Deno.test("otlp exporter gzips messages by default, and not with compression none", async () => {
  const server = wireServer();
  const bytes = encodeTracesRequest(tracesOf("zipped", "zipped", "zipped"));
  for (const compression of ["gzip", "none"]) {
    const { exporter, traces } = await started({ endpoint: server.endpoint, compression });
    await traces.consume(Payload.fromProto("traces", bytes, TRACES_PROTO));
    await exporter.shutdown();
  }
  await server.close();
  const [gz, plain] = server.seen;
  assert.equal(gz?.headers.get("grpc-encoding"), "gzip");
  assert.equal(gz?.frame[0], 1, "the compressed flag is set");
  assert.deepEqual(await gunzip(gz!.frame.subarray(5)), bytes);
  assert.equal(plain?.frame[0], 0);
  assert.deepEqual(plain?.frame.subarray(5), bytes);
});

Deno.test("otlp exporter refuses data before start and after shutdown, as retryable", async () => {
  const config = otlpConfigSchema.parse({ endpoint: "127.0.0.1:1" });
  const exporter = otlpExporterFactory.create(settingsFor("otlp", config).settings, ["traces"]);
  const before = await rejection(exporter.consumers.traces!.consume(tracesPayload("a")));
  assert.match(before.message, /not started/);
  await exporter.shutdown();
  await exporter.shutdown();
  const after = await rejection(exporter.consumers.traces!.consume(tracesPayload("a")));
  assert.equal(after.permanent, false);
  assert.match(after.message, /shut down/);
});

Deno.test("otlp config has the Collector's defaults", () => {
  const c = otlpConfigSchema.parse({ endpoint: "collector:4317" });
  assert.equal(c.tls.insecure, false);
  assert.equal(c.compression, "gzip");
  assert.equal(c.timeout, 5000);
  assert.equal(c.balancer_name, "round_robin");
  assert.equal(c.retry_on_failure.enabled, true);
  assert.equal(c.retry_on_failure.max_interval, 30_000);
  assert.equal(c.sending_queue.enabled, true);
  assert.equal(c.sending_queue.queue_size, 1000);
  assert.equal(c.keepalive, undefined);
  const k = otlpConfigSchema.parse({ endpoint: "c:4317", keepalive: {} }).keepalive;
  assert.deepEqual(k, { time: 10_000, timeout: 10_000, permit_without_stream: false });
});

Deno.test("otlp config accepts host:port with an http(s) or dns:/// prefix", () => {
  assert.deepEqual(parseGrpcEndpoint("collector:4317"), {
    target: "collector:4317",
    scheme: undefined,
  });
  assert.deepEqual(parseGrpcEndpoint("https://collector:4317/"), {
    target: "collector:4317",
    scheme: "https",
  });
  assert.deepEqual(parseGrpcEndpoint("http://[::1]:4317"), {
    target: "[::1]:4317",
    scheme: "http",
  });
  assert.deepEqual(parseGrpcEndpoint("dns:///collector:4317"), {
    target: "collector:4317",
    scheme: undefined,
  });
  for (const bad of ["collector", "collector:99999", "http://collector", "collector:4317/v1", ""]) {
    assert.equal(parseGrpcEndpoint(bad), undefined, bad);
    assert.equal(otlpConfigSchema.safeParse({ endpoint: bad }).success, false, bad);
  }
});

Deno.test("otlp config rejects what tfo does not implement", () => {
  for (
    const input of [
      {},
      { endpoint: "a:4317", retry_on_failure: { backoff: "1s" } },
      { endpoint: "a:4317", sending_queue: { persistent: true } },
      { endpoint: "a:4317", write_buffer_size: 1024 },
      { endpoint: "a:4317", compression: "zstd" },
      { endpoint: "a:4317", tls: { key_file: "k.pem" } },
      { endpoint: "a:4317", balancer_name: "weighted" },
      { endpoint: "a:4317", headers: { "bad key": "v" } },
    ]
  ) {
    assert.equal(otlpConfigSchema.safeParse(input).success, false, JSON.stringify(input));
  }
});

Deno.test("otlp exporter connects with TLS: ca_file, server_name_override, insecure_skip_verify", async (t) => {
  const certs = await testCertificates();
  if (certs === undefined) {
    await t.step({ name: "openssl is not installed", ignore: true, fn() {} });
    return;
  }
  const enc = new TextEncoder();
  const server = await fakeServer(undefined, {
    cert: enc.encode(certs.serverCertPem),
    key: enc.encode(certs.serverKeyPem),
  });
  const port = Number(server.endpoint.split(":")[1]);
  try {
    const trusted = await started({
      endpoint: `localhost:${port}`,
      tls: { ca_file: certs.caFile },
    });
    await trusted.traces.consume(tracesPayload("a"));
    await trusted.exporter.shutdown();

    const renamed = await started({
      endpoint: `https://127.0.0.1:${port}`,
      tls: { insecure: true, ca_file: certs.caFile, server_name_override: "localhost" },
    });
    await renamed.traces.consume(tracesPayload("b"));
    await renamed.exporter.shutdown();

    const skipping = await started({
      endpoint: `localhost:${port}`,
      tls: { insecure_skip_verify: true },
    });
    await skipping.traces.consume(tracesPayload("c"));
    await skipping.exporter.shutdown();

    const ip = otlpConfigSchema.parse({ endpoint: `127.0.0.1:${port}` });
    const failing = otlpExporterFactory.create(settingsFor("otlp", ip).settings, ["traces"]);
    await assert.rejects(
      failing.start({ getExtension: () => undefined, status: () => "running" }),
      /Cannot use TLS with the IP address endpoint "127\.0\.0\.1:\d+" without a server name/,
    );
    await failing.shutdown();

    const untrusted = await started(
      single({ endpoint: `localhost:${port}`, tls: {}, timeout: "2s" }),
    );
    const error = await rejection(untrusted.traces.consume(tracesPayload("d")));
    await untrusted.exporter.shutdown();
    assert.equal(error.permanent, false, "a TLS failure is retryable");
    assert.match(error.message, /UNAVAILABLE/);
    assert.deepEqual(server.calls.map((c) => spanNamesOf(decodeTracesRequest(c.request))), [
      ["a"],
      ["b"],
      ["c"],
    ]);
  } finally {
    await server.close();
    await certs.remove();
  }
});
