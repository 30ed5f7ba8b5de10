/**
 * Interop of tfo's HTTP/2 gRPC server and client with other implementations: grpc-js and
 * node:http2 clients against tfo's server, tfo's client against a grpc-js server and against the
 * reference OpenTelemetry Collector, and telemetrygen against tfo's server. Other runtimes' code
 * runs in child processes. The Collector and telemetrygen tests are skipped, saying so, when
 * `bench/peers.sh` has not built them.
 */
import assert from "node:assert/strict";
import { GrpcCallError, GrpcClient } from "../../../../lib/net/grpc_client.ts";
import { decodeRpcStatus, encodeRpcStatus, GrpcCode } from "../../../../lib/net/rpc_status.ts";
import { encodeBinaryHeader } from "../../../../lib/net/h2/grpc_wire.ts";
import { FrameType } from "../../../../lib/net/h2/frames.ts";
import { HpackDecoder } from "../../../../lib/net/h2/hpack.ts";
import { encodeTracesRequest } from "../../../../lib/otlp/mod.ts";
import { tracesOf } from "../../../fixtures/graph_kit.ts";
import {
  executableExists,
  freePort,
  PEERS_BIN,
  waitForPort,
} from "../../../fixtures/interop/services.ts";
import { EXPORT, grpcJsClient, nodeH2Client, RawPeer, runChild, startServer } from "./_harness.ts";
import { startGrpcJsServer } from "../../../fixtures/grpc_stress/grpcjs_server_process.ts";

const OTELCOL = `${PEERS_BIN}/otelcol`;
const TELEMETRYGEN = `${PEERS_BIN}/telemetrygen`;

Deno.test("grpc-js clients call tfo's server, plain and gzip", async () => {
  const server = await startServer();
  try {
    const target = `127.0.0.1:${server.port}`;
    const [plain, gzip] = await Promise.all([
      grpcJsClient([target, "50", "10"]),
      grpcJsClient([target, "50", "10", "0", "gzip"]),
    ]);
    assert.deepEqual(plain.json, { ok: 50, codes: {} }, plain.stderr);
    assert.deepEqual(gzip.json, { ok: 50, codes: {} }, gzip.stderr);
    assert.equal(await server.requests(), 100);
  } finally {
    await server.stop();
  }
});

Deno.test("tfo's server answers application/json with HTTP 415 and a grpc-status, unknown methods UNIMPLEMENTED", async () => {
  const server = await startServer();
  try {
    const json = await nodeH2Client([String(server.port), "json"]);
    assert.deepEqual(json.json?.http, [415]);
    assert.deepEqual(json.json?.statuses, { [GrpcCode.INVALID_ARGUMENT]: 1 });

    const peer = await RawPeer.connect(server.port);
    const block = peer.encoder.encode([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/no.Such/Method"],
      [":authority", "x"],
      ["content-type", "application/grpc"],
    ]);
    const headers = new Uint8Array(9 + block.length);
    headers.set([
      block.length >> 16,
      (block.length >> 8) & 0xff,
      block.length & 0xff,
      1,
      5,
      0,
      0,
      0,
      1,
    ]);
    headers.set(block, 9);
    await peer.send(headers);
    await peer.waitFor((f) => f.some((x) => x.type === FrameType.HEADERS));
    const answer = peer.frames.find((f) => f.type === FrameType.HEADERS)!;
    const fields = new Map(new HpackDecoder().decode(answer.payload).headers);
    await peer.close();
    assert.equal(fields.get(":status"), "200");
    assert.equal(fields.get("grpc-status"), String(GrpcCode.UNIMPLEMENTED));
    assert.ok(fields.has("grpc-accept-encoding"));
  } finally {
    await server.stop();
  }
});

Deno.test("tfo's client calls a grpc-js server: responses, trailers, errors with details, deadlines, idle GOAWAY", async () => {
  const grpcJs = await startGrpcJsServer();
  const { port } = grpcJs;
  const client = new GrpcClient({
    target: `127.0.0.1:${port}`,
    tls: undefined,
    compression: "gzip",
  });
  try {
    const echo = await client.unary("/test.Echo/Echo", Uint8Array.from([1, 2, 3]), {
      timeoutMs: 10_000,
      metadata: { "x-echo": "hi" },
    });
    assert.deepEqual([...echo], [3, 2, 1]);

    const details = encodeRpcStatus({
      code: GrpcCode.UNAVAILABLE,
      message: "m",
      retryAfterMs: 1500,
    });
    const error = await client.unary("/test.Echo/Fail", new Uint8Array(), {
      timeoutMs: 10_000,
      metadata: { "x-details-bin": btoa(String.fromCharCode(...details)) },
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof GrpcCallError, String(error));
    assert.equal(error.code, GrpcCode.UNAVAILABLE);
    assert.equal(error.details, "try later ✓ 100%");
    assert.equal(decodeRpcStatus(error.statusDetails!)?.retryAfterMs, 1500);

    const late = await client.unary("/test.Echo/Slow", new Uint8Array(), { timeoutMs: 300 })
      .then(() => undefined, (e) => e);
    assert.equal((late as GrpcCallError).code, GrpcCode.DEADLINE_EXCEEDED);

    const unknown = await client.unary("/test.Echo/Nope", new Uint8Array(), { timeoutMs: 10_000 })
      .then(() => undefined, (e) => e);
    assert.equal((unknown as GrpcCallError).code, GrpcCode.UNIMPLEMENTED);

    // The server closes the idle connection (max_connection_idle 500ms); the next call reconnects.
    await new Promise((r) => setTimeout(r, 1500));
    const again = await client.unary("/test.Echo/Echo", Uint8Array.from([4, 5]), {
      timeoutMs: 10_000,
    });
    assert.deepEqual([...again], [5, 4]);
  } finally {
    client.close();
    await grpcJs.stop();
  }
});

Deno.test("tfo's client exports to the reference Collector, also across its idle GOAWAY", async (t) => {
  if (!executableExists(OTELCOL)) {
    await t.step({
      name: `otelcol is not built (${OTELCOL}); run bench/peers.sh`,
      ignore: true,
      fn() {},
    });
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "tfo-h2-otelcol-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${port}
        keepalive:
          server_parameters: { max_connection_idle: 500ms }
exporters:
  nop: {}
service:
  telemetry:
    logs: { level: warn }
    metrics: { level: none }
  pipelines:
    traces: { receivers: [otlp], exporters: [nop] }
`,
  );
  const child = new Deno.Command(OTELCOL, {
    args: ["--config", `${dir}/config.yaml`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const client = new GrpcClient({
    target: `127.0.0.1:${port}`,
    tls: undefined,
    compression: "gzip",
  });
  try {
    await waitForPort(port);
    const request = encodeTracesRequest(tracesOf("a", "b"));
    await client.unary(EXPORT, request, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 1500));
    await client.unary(EXPORT, request, { timeoutMs: 10_000 });
    const bad = await client.unary(EXPORT, Uint8Array.from([0xff, 0xff]), { timeoutMs: 10_000 })
      .then(() => undefined, (e) => e);
    assert.ok(bad instanceof GrpcCallError);
    // grpc-go answers a request it cannot unmarshal INTERNAL.
    assert.equal(bad.code, GrpcCode.INTERNAL, bad.details);
    assert.match(bad.details, /unmarshal/i);
  } finally {
    client.close();
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("telemetrygen exports traces to tfo's gRPC server", async (t) => {
  if (!executableExists(TELEMETRYGEN)) {
    await t.step({ name: `telemetrygen is not built (${TELEMETRYGEN})`, ignore: true, fn() {} });
    return;
  }
  const server = await startServer();
  try {
    const result = await runChild(TELEMETRYGEN, [
      "traces",
      "--otlp-insecure",
      "--otlp-endpoint",
      `127.0.0.1:${server.port}`,
      "--traces",
      "20",
      "--workers",
      "2",
      "--rate",
      "0",
    ]);
    assert.equal(result.status.code, 0, result.stderr);
    assert.ok((await server.requests()) >= 1);
  } finally {
    await server.stop();
  }
});

Deno.test("grpc binary metadata helpers round-trip", () => {
  const bytes = Uint8Array.from([0, 1, 2, 250]);
  assert.equal(encodeBinaryHeader(bytes), "AAEC+g");
});
