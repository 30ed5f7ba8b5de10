/**
 * `headers_setter` on the HTTP exporters besides otlphttp (`loki`, `opensearch`,
 * `prometheus_remote_write`), in-process: requests of two tenants come into one receiver with
 * `include_metadata`, and every request each exporter makes carries `X-Scope-OrgID` of the tenant
 * whose data it holds.
 */
import assert from "node:assert/strict";
import { startService } from "../fixtures/interop/services.ts";
import { logsProto, metricsProto } from "../components/receiver/otlp/_helpers.ts";

interface Captured {
  readonly path: string;
  readonly orgId: string | null;
}

Deno.test("loki, opensearch and prometheus_remote_write send each request under its data's tenant", async () => {
  const captured: Captured[] = [];
  const backend = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    await r.arrayBuffer();
    const path = new URL(r.url).pathname;
    captured.push({ path, orgId: r.headers.get("x-scope-orgid") });
    if (path.endsWith("/_bulk")) {
      return Response.json({ errors: false, items: [] });
    }
    return new Response(null, { status: 204 });
  });
  try {
    const base = `http://127.0.0.1:${backend.addr.port}`;
    const off = "retry_on_failure: { enabled: false }\n    sending_queue: { enabled: false }";
    await using collector = await startService(`
extensions:
  headers_setter:
    headers:
      - { key: X-Scope-OrgID, from_context: x-tenant-id, action: upsert }
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0", include_metadata: true }
exporters:
  loki:
    endpoint: ${base}/loki/api/v1/push
    auth: { authenticator: headers_setter }
    ${off}
  opensearch:
    http: { endpoint: ${base}, auth: { authenticator: headers_setter } }
    ${off}
  prometheus_remote_write:
    endpoint: ${base}/api/v1/write
    auth: { authenticator: headers_setter }
    remote_write_queue: { enabled: false }
    retry_on_failure: { enabled: false }
service:
  extensions: [headers_setter]
  pipelines:
    logs: { receivers: [otlp], exporters: [loki, opensearch] }
    metrics: { receivers: [otlp], exporters: [prometheus_remote_write] }
`);
    const url = `http://127.0.0.1:${collector.port("otlp", "http")}`;
    for (const tenant of ["acme", "globex"]) {
      for (
        const [signal, body] of [["logs", logsProto("a line")], [
          "metrics",
          metricsProto("cpu", 1),
        ]] as const
      ) {
        const res = await fetch(`${url}/v1/${signal}`, {
          method: "POST",
          headers: { "content-type": "application/x-protobuf", "x-tenant-id": tenant },
          body,
        });
        await res.body?.cancel();
        assert.equal(res.status, 200, `${signal} of ${tenant}`);
      }
    }
    const byPath = (suffix: string) =>
      captured.filter((c) => c.path.endsWith(suffix)).map((c) => c.orgId);
    assert.deepEqual(byPath("/loki/api/v1/push"), ["acme", "globex"]);
    assert.deepEqual(byPath("/_bulk"), ["acme", "globex"]);
    assert.deepEqual(byPath("/api/v1/write"), ["acme", "globex"]);
  } finally {
    await backend.shutdown();
  }
});
