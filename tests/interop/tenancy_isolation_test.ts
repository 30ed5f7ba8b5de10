/**
 * Tenant isolation end to end, in-process: 20 tenants, each with its own API key, send spans at
 * once over OTLP/HTTP and gRPC to one tfo (otlp with `apikeyauth` → `resource` stamping the
 * authenticated tenant → `batch` by tenant → `otlphttp` with `headers_setter`) and a sink checks
 * every request: the tenant and workspace its headers name must be those of every resource and
 * every span in it. A quarter of the clients claim the next tenant in their headers and resource
 * attributes; their spans must still arrive under their own tenant only. Run once with a memory
 * queue and once with a persistent queue across a restart, the backend down during the first run,
 * once through the otlp exporter, and once without authentication, the tenant named by resource
 * attributes (`metadata_from_resource`) in requests that mix two tenants.
 */
import assert from "node:assert/strict";
import {
  type Claim,
  keysYaml,
  senderOf,
  spanName,
  startTenantSink,
  type Tenant,
  TENANT_ATTR,
  tenantClient,
  tenants,
  type TenantSink,
  tenantTraces,
  WORKSPACE_ATTR,
} from "../fixtures/tenancy.ts";
import { startService, waitFor } from "../fixtures/interop/services.ts";
import type { KeyValue, TracesData } from "../../lib/pdata/types.ts";
import { GrpcClient } from "../../lib/net/grpc_client.ts";
import { encodeTracesRequest } from "../../lib/otlp/mod.ts";

const TRACES_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

const TENANTS = tenants(20);
const REQUESTS = 8;
const SPANS = 5;

/** Every fourth tenant lies: it claims to be the next one. */
function claimOf(i: number): Claim {
  const t = i % 4 === 3 ? TENANTS[(i + 1) % TENANTS.length]! : TENANTS[i]!;
  return { tenant: t.tenant, workspace: t.workspace };
}

/** The otlphttp exporter to the sink, or otlp over gRPC to `grpcBackend`'s port when given. */
function exportersYaml(sink: TenantSink, storageDir?: string, grpcBackend?: number): string {
  const storage = storageDir === undefined ? "" : ", storage: file_storage";
  const common = `
    auth: { authenticator: headers_setter }
    tenant_metrics: { enabled: true, from_context: x-tenant-id }
    retry_on_failure: { initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 0 }
    sending_queue: { num_consumers: 4, queue_size: 100000, sizer: items${storage} }`;
  if (grpcBackend !== undefined) {
    return `exporters:
  otlp:
    endpoint: 127.0.0.1:${grpcBackend}
    tls: { insecure: true }${common}`;
  }
  return `exporters:
  otlphttp:
    endpoint: ${sink.url}
    compression: none${common}`;
}

function collectorYaml(sink: TenantSink, storageDir?: string, grpcBackend?: number): string {
  return `
extensions:
  apikeyauth:
    keys:
${keysYaml(TENANTS, "      ")}
  headers_setter:
    headers:
      - { key: X-Tenant-Id, from_context: x-tenant-id, action: upsert }
      - { key: X-Workspace-Id, from_context: x-workspace-id, action: upsert }
${storageDir === undefined ? "" : `  file_storage:\n    directory: ${storageDir}\n`}
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0", include_metadata: true, auth: { authenticator: apikeyauth } }
      http: { endpoint: "127.0.0.1:0", include_metadata: true, auth: { authenticator: apikeyauth } }
processors:
  resource:
    attributes:
      - { key: telemetryflow.tenant.id, from_context: auth.tenant.id, action: upsert }
      - { key: telemetryflow.workspace.id, from_context: auth.workspace.id, action: upsert }
  batch:
    timeout: 50ms
    send_batch_size: 40
    metadata_keys: [x-tenant-id, x-workspace-id]
${exportersYaml(sink, storageDir, grpcBackend)}
service:
  extensions: [apikeyauth, headers_setter${storageDir === undefined ? "" : ", file_storage"}]
  pipelines:
    traces: { receivers: [otlp], processors: [resource, batch], exporters: [${
    grpcBackend === undefined ? "otlphttp" : "otlp"
  }] }
`;
}

/** Every tenant sends `REQUESTS` requests at once, alternating HTTP and gRPC; all must be taken. */
async function sendAll(httpPort: number, grpcPort: number): Promise<void> {
  const client = tenantClient(httpPort, grpcPort);
  try {
    const answers = await Promise.all(TENANTS.map(async (sender, i) => {
      const codes: number[] = [];
      for (let r = 0; r < REQUESTS; r++) {
        codes.push(await client.send(sender, claimOf(i), r, SPANS, r % 2 === 1));
      }
      return codes;
    }));
    answers.forEach((codes, i) => {
      for (const [r, code] of codes.entries()) {
        assert.ok(code === 200 || code === 0, `${TENANTS[i]!.tenant} request ${r}: ${code}`);
      }
    });
  } finally {
    client.close();
  }
}

/** Checks what the sink got: no violation, and each tenant's spans under its own tenant only. */
function assertIsolated(sink: TenantSink): void {
  const report = sink.report();
  assert.deepEqual(report.violations.slice(0, 5), [], "requests mixing tenants");
  assert.ok(report.requests > 0);
  const expected = (t: Tenant) => {
    const names = new Set<string>();
    for (let r = 0; r < REQUESTS; r++) for (let n = 0; n < SPANS; n++) names.add(spanName(t, r, n));
    return names;
  };
  for (const t of TENANTS) {
    assert.deepEqual(report.spansByTenant.get(t.tenant), expected(t), `spans under ${t.tenant}`);
  }
  assert.equal(report.spansByTenant.has("(none)"), false, "a request without a tenant header");
}

const ALL_SPANS = TENANTS.length * REQUESTS * SPANS;

Deno.test("20 tenants through one collector: no request names another tenant than its items", async () => {
  await using sink = startTenantSink();
  await using collector = await startService(collectorYaml(sink));
  await sendAll(collector.port("otlp", "http"), collector.port("otlp", "grpc"));
  await waitFor("every span at the sink", () => sink.spanCount() >= ALL_SPANS, 30_000);
  assertIsolated(sink);
  // Batching by tenant merged requests: fewer requests reached the sink than were sent.
  assert.ok(sink.report().requests < TENANTS.length * REQUESTS, `${sink.report().requests}`);
  // The exporter counted what it sent per tenant (its tenant_metrics), once its last answers came.
  const sentOf = (tenant: string) => {
    const line = collector.service.registry.render().split("\n").find((l) =>
      l.startsWith("tfo_exporter_tenant_sent_spans{") && l.includes(`tenant="${tenant}"`)
    );
    return Number(line?.slice(line.lastIndexOf(" ") + 1));
  };
  await waitFor(
    "the per-tenant sent counters",
    () => TENANTS.every((t) => sentOf(t.tenant) >= REQUESTS * SPANS),
  );
  for (const t of TENANTS) assert.equal(sentOf(t.tenant), REQUESTS * SPANS, t.tenant);
});

Deno.test("20 tenants through a persistent queue across a restart keep their own headers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-tenancy-" });
  try {
    await using sink = startTenantSink();
    sink.failing = true; // the backend is down while the data comes in
    {
      await using collector = await startService(collectorYaml(sink, dir), {
        shutdownTimeoutMs: 5_000,
      });
      await sendAll(collector.port("otlp", "http"), collector.port("otlp", "grpc"));
    }
    assert.equal(sink.spanCount(), 0);
    sink.failing = false;
    await using restarted = await startService(collectorYaml(sink, dir));
    await waitFor(
      "every span at the sink after the restart",
      () => sink.spanCount() >= ALL_SPANS,
      30_000,
    );
    assertIsolated(sink);
    void restarted;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("20 tenants through the otlp exporter: each gRPC call's metadata names its items' tenant", async () => {
  await using sink = startTenantSink(); // unused: this collector exports over gRPC
  await using backend = await startService(`
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0", include_metadata: true }
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [recorder] }
`);
  await using collector = await startService(
    collectorYaml(sink, undefined, backend.port("otlp", "grpc")),
  );
  await sendAll(collector.port("otlp", "http"), collector.port("otlp", "grpc"));
  const payloads = () => backend.kit.recordings.get("recorder")?.payloads ?? [];
  const count = () => payloads().reduce((n, p) => n + p.itemCount, 0);
  await waitFor("every span at the backend", () => count() >= ALL_SPANS, 30_000);
  const value = (attrs: readonly KeyValue[], key: string) =>
    attrs.find((a) => a.key === key)?.value;
  const violations: string[] = [];
  const senders = new Map<string, Set<string>>();
  for (const payload of payloads()) {
    const [tenant] = payload.client.metadata.get("x-tenant-id") ?? [];
    const [workspace] = payload.client.metadata.get("x-workspace-id") ?? [];
    for (const rs of (payload.read() as TracesData).resourceSpans) {
      const attrs = rs.resource?.attributes ?? [];
      if (value(attrs, TENANT_ATTR) !== tenant || value(attrs, WORKSPACE_ATTR) !== workspace) {
        violations.push(`metadata ${tenant}/${workspace} on a resource of another`);
      }
      for (const span of rs.scopeSpans.flatMap((ss) => ss.spans)) {
        if (senderOf(span.name) !== tenant) violations.push(`${span.name} under ${tenant}`);
        const set = senders.get(String(tenant)) ?? new Set();
        senders.set(String(tenant), set.add(span.name));
      }
    }
  }
  assert.deepEqual(violations.slice(0, 5), []);
  assert.deepEqual([...senders.keys()].sort(), TENANTS.map((t) => t.tenant));
  for (const set of senders.values()) assert.equal(set.size, REQUESTS * SPANS);
});

Deno.test("20 unauthenticated tenants named by resource attributes: mixed requests are split", async () => {
  await using sink = startTenantSink();
  await using collector = await startService(`
extensions:
  headers_setter:
    headers:
      - { key: X-Tenant-Id, from_context: x-tenant-id }
      - { key: X-Workspace-Id, from_context: x-workspace-id }
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0", include_metadata: true }
      http: { endpoint: "127.0.0.1:0", include_metadata: true }
    metadata_from_resource:
      x-tenant-id: ${TENANT_ATTR}
      x-workspace-id: ${WORKSPACE_ATTR}
    rate_limit: { items_per_second: 100000 }
    tenant_metrics: { enabled: true }
processors:
  batch: { timeout: 50ms, send_batch_size: 40, metadata_keys: [x-tenant-id, x-workspace-id] }
${exportersYaml(sink)}
service:
  extensions: [headers_setter]
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [otlphttp] }
`);
  const grpc = new GrpcClient({
    target: `127.0.0.1:${collector.port("otlp", "grpc")}`,
    tls: undefined,
  });
  const url = `http://127.0.0.1:${collector.port("otlp", "http")}/v1/traces`;
  try {
    // Each request holds the spans of two tenants (i and i+1), and its header claims a third.
    await Promise.all(TENANTS.map(async (t, i) => {
      const other = TENANTS[(i + 1) % TENANTS.length]!;
      for (let r = 0; r < REQUESTS; r++) {
        const own = (x: Tenant) => ({ tenant: x.tenant, workspace: x.workspace });
        const data = tenantTraces(t, own(t), r, SPANS);
        data.resourceSpans.push(
          ...tenantTraces(other, own(other), REQUESTS + r, SPANS).resourceSpans,
        );
        const body = encodeTracesRequest(data);
        const headers = { "x-tenant-id": "evil-corp", "x-workspace-id": "ws-evil" };
        if (r % 2 === 1) {
          await grpc.unary(TRACES_METHOD, body, { metadata: headers, timeoutMs: 20_000 });
        } else {
          const res = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/x-protobuf", ...headers },
            body: body as Uint8Array<ArrayBuffer>,
          });
          await res.body?.cancel();
          assert.equal(res.status, 200);
        }
      }
    }));
  } finally {
    grpc.close();
  }
  await waitFor("every span at the sink", () => sink.spanCount() >= 2 * ALL_SPANS, 30_000);
  const report = sink.report();
  assert.deepEqual(report.violations.slice(0, 5), []);
  assert.equal(report.spansByTenant.has("evil-corp"), false);
  for (const t of TENANTS) {
    assert.equal(report.spansByTenant.get(t.tenant)?.size, 2 * REQUESTS * SPANS, t.tenant);
  }
});
