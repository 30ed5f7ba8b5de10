/**
 * The reference Collector (grpc-go and Go's net/http over crypto/tls) exports over TLS to tfo's
 * TLS receivers, which run their handshake with `node:tls` over plain TCP
 * (`lib/net/tls_server_conn.ts`): gRPC negotiates `h2` by ALPN, OTLP/HTTP `http/1.1`, and the
 * spans arrive. Skipped, by name, when the Collector has not been built.
 */
import assert from "node:assert/strict";
import { testCertificates } from "../components/exporter/otlp/_kit.ts";
import { tracesRequest } from "../fixtures/chaos/id_load.ts";
import {
  executableExists,
  freePort,
  PEERS_BIN,
  recorded,
  startService,
  waitFor,
  waitForPort,
} from "../fixtures/interop/services.ts";
import { GrpcClient } from "../../lib/net/grpc_client.ts";

const OTELCOL = `${PEERS_BIN}/otelcol`;
const EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

Deno.test("the Collector exports over TLS to tfo's gRPC and HTTP receivers", async (t) => {
  if (!executableExists(OTELCOL)) {
    await t.step({
      name: `otelcol is not built (${OTELCOL}); run bench/peers.sh`,
      ignore: true,
      fn() {},
    });
    return;
  }
  const certs = await testCertificates();
  if (certs === undefined) {
    console.warn("skipped: openssl is not installed");
    return;
  }
  const certDir = certs.caFile.slice(0, certs.caFile.lastIndexOf("/"));
  const tls = `{ cert_file: ${certDir}/server.crt, key_file: ${certDir}/server.key }`;
  await using tfo = await startService(`
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0, tls: ${tls} }
      http: { endpoint: 127.0.0.1:0, tls: ${tls} }
exporters:
  recorder: {}
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [recorder] }
`);
  const [viaGrpc, viaHttp] = [freePort(), freePort()];
  await Deno.writeTextFile(
    `${certDir}/otelcol.yaml`,
    `
receivers:
  otlp/grpc_path:
    protocols: { grpc: { endpoint: 127.0.0.1:${viaGrpc} } }
  otlp/http_path:
    protocols: { grpc: { endpoint: 127.0.0.1:${viaHttp} } }
exporters:
  otlp:
    endpoint: localhost:${tfo.port("otlp", "grpc")}
    tls: { ca_file: ${certs.caFile} }
  otlphttp:
    endpoint: https://localhost:${tfo.port("otlp", "http")}
    tls: { ca_file: ${certs.caFile} }
service:
  telemetry:
    logs: { level: warn }
    metrics: { level: none }
  pipelines:
    traces/grpc: { receivers: [otlp/grpc_path], exporters: [otlp] }
    traces/http: { receivers: [otlp/http_path], exporters: [otlphttp] }
`,
  );
  const child = new Deno.Command(OTELCOL, {
    args: ["--config", `${certDir}/otelcol.yaml`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const clients: GrpcClient[] = [];
  try {
    await waitForPort(viaGrpc);
    await waitForPort(viaHttp);
    for (const [port, name] of [[viaGrpc, "grpc-path"], [viaHttp, "http-path"]] as const) {
      const client = new GrpcClient({ target: `127.0.0.1:${port}`, tls: undefined });
      clients.push(client);
      for (let i = 0; i < 3; i++) {
        await client.unary(EXPORT, tracesRequest([`${name}-${i}`]), { timeoutMs: 10_000 });
      }
    }
    const want = ["grpc-path-0", "grpc-path-1", "grpc-path-2", "http-path-0", "http-path-1"]
      .concat(["http-path-2"]);
    const names = () =>
      recorded(tfo.kit, "recorder", "traces").flatMap((d) =>
        d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)))
      );
    await waitFor(
      "every span to arrive over TLS",
      () => {
        const got = new Set(names());
        return want.every((n) => got.has(n));
      },
      60_000,
      50,
    );
    assert.deepEqual([...new Set(names())].sort(), want);
  } finally {
    for (const c of clients) c.close();
    child.kill("SIGTERM");
    await child.status;
    await certs.remove();
  }
});
