/**
 * The tenancy seed configs, `examples/tenancy/agent.yaml` and `examples/tenancy/collector.yaml`,
 * unmodified but for their ports, folders and environment, run in-process:
 *
 * - an agent with `TELEMETRYFLOW_WORKSPACE_ID` / `TELEMETRYFLOW_TENANT_ID` sends every signal with
 *   those in its resource attributes and in its `X-Workspace-Id` / `X-Tenant-Id` headers, which
 *   match;
 * - agents of two tenants and one whose environment claims another tenant than its API key's send
 *   through the collector to a checking sink: every request's headers name the tenant and
 *   workspace of every item in it, and the lying agent's spans arrive under its key's tenant only.
 */
import assert from "node:assert/strict";
import {
  spanName,
  startTenantSink,
  type Tenant,
  TENANT_ATTR,
  tenantClient,
  tenants,
  WORKSPACE_ATTR,
} from "../fixtures/tenancy.ts";
import { startService, waitFor } from "../fixtures/interop/services.ts";
import { logsProto, metricsProto, tracesProto } from "../components/receiver/otlp/_helpers.ts";
import type { Payload } from "../../lib/pdata/payload.ts";
import type { KeyValue, Resource } from "../../lib/pdata/types.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TENANTS = tenants(3);

/** `${env:NAME}` and `${env:NAME:-default}` replaced from `env`, as tfo would expand them. */
function expandEnv(yaml: string, env: Record<string, string>): string {
  return yaml.replace(
    /\$\{env:([A-Z0-9_]+)(?::-([^}]*))?\}/g,
    (_, name: string, fallback: string | undefined) => env[name] ?? fallback ?? "",
  );
}

async function example(name: string, env: Record<string, string>): Promise<string> {
  return expandEnv(await Deno.readTextFile(`${ROOT}examples/tenancy/${name}`), env);
}

/** The agent's environment: its key is `key`'s, the tenant it claims `claims`'s. */
function agentEnv(key: Tenant, claims: Tenant, exporter: string, dir: string) {
  return {
    TELEMETRYFLOW_WORKSPACE_ID: claims.workspace,
    TELEMETRYFLOW_TENANT_ID: claims.tenant,
    TELEMETRYFLOW_API_KEY_ID: key.keyId,
    TELEMETRYFLOW_API_KEY_SECRET: key.secret,
    TFO_EXPORTER_ENDPOINT: exporter,
    TFO_OTLP_GRPC_ENDPOINT: "127.0.0.1:0",
    TFO_OTLP_HTTP_ENDPOINT: "127.0.0.1:0",
    TFO_STORAGE_DIR: dir,
  };
}

function attr(attributes: readonly KeyValue[], key: string): unknown {
  return attributes.find((a) => a.key === key)?.value;
}

function resourcesOf(payload: Payload): Resource[] {
  const data = payload.read();
  if ("resourceSpans" in data) return data.resourceSpans.map((r) => r.resource!);
  if ("resourceMetrics" in data) return data.resourceMetrics.map((r) => r.resource!);
  return data.resourceLogs.map((r) => r.resource!);
}

Deno.test("the tenancy agent's requests carry its workspace and tenant in headers and attributes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-tenancy-agent-" });
  try {
    await using backend = await startService(`
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0", include_metadata: true } } }
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [recorder] }
    metrics: { receivers: [otlp], exporters: [recorder] }
    logs: { receivers: [otlp], exporters: [recorder] }
`);
    const me = TENANTS[0]!;
    const env = agentEnv(me, me, `127.0.0.1:${backend.port("otlp", "grpc")}`, dir);
    await using agent = await startService(await example("agent.yaml", env));
    const base = `http://127.0.0.1:${agent.port("otlp", "http")}`;
    for (
      const [path, body] of [
        ["traces", tracesProto("a", "b")],
        ["metrics", metricsProto("cpu", 1, 2)],
        ["logs", logsProto("line")],
      ] as const
    ) {
      const res = await fetch(`${base}/v1/${path}`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body,
      });
      await res.body?.cancel();
      assert.equal(res.status, 200, path);
    }
    const payloads = () => backend.kit.recordings.get("recorder")?.payloads ?? [];
    await waitFor(
      "all three signals at the backend",
      () => new Set(payloads().map((p) => p.signal)).size === 3,
      20_000,
    );
    for (const payload of payloads()) {
      const metadata = payload.client.metadata;
      assert.deepEqual(metadata.get("x-tenant-id"), [me.tenant], payload.signal);
      assert.deepEqual(metadata.get("x-workspace-id"), [me.workspace], payload.signal);
      assert.deepEqual(metadata.get("x-telemetryflow-key-id"), [me.keyId]);
      for (const resource of resourcesOf(payload)) {
        assert.equal(attr(resource.attributes, TENANT_ATTR), me.tenant, payload.signal);
        assert.equal(attr(resource.attributes, WORKSPACE_ATTR), me.workspace, payload.signal);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tenancy agents through the tenancy collector: headers match items, claims are ignored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-tenancy-collector-" });
  try {
    const keysFile = `${dir}/keys.json`;
    await Deno.writeTextFile(
      keysFile,
      JSON.stringify(TENANTS.map((t) => ({
        id: t.keyId,
        secret: t.secret,
        workspace_id: t.workspace,
        tenant_id: t.tenant,
      }))),
    );
    await using sink = startTenantSink();
    await using collector = await startService(
      await example("collector.yaml", {
        TFO_KEYS_FILE: keysFile,
        TFO_PLATFORM_ENDPOINT: sink.url,
        TFO_OTLP_GRPC_ENDPOINT: "127.0.0.1:0",
        TFO_OTLP_HTTP_ENDPOINT: "127.0.0.1:0",
        TFO_STORAGE_DIR: `${dir}/collector`,
      }),
    );
    const target = `127.0.0.1:${collector.port("otlp", "grpc")}`;
    const [a, b, c] = TENANTS as [Tenant, Tenant, Tenant];
    // a and b are honest; c holds its own key but its environment claims to be a.
    const agents = [];
    for (const [key, claims] of [[a, a], [b, b], [c, a]] as const) {
      const env = agentEnv(key, claims, target, `${dir}/agent-${key.tenant}`);
      agents.push({ key, service: await startService(await example("agent.yaml", env)) });
    }
    try {
      await Promise.all(agents.map(async ({ key, service }) => {
        const client = tenantClient(service.port("otlp", "http"), service.port("otlp", "grpc"));
        try {
          for (let r = 0; r < 4; r++) {
            const code = await client.send(key, a, r, 5, r % 2 === 1);
            assert.ok(code === 200 || code === 0, `${key.tenant}: ${code}`);
          }
        } finally {
          client.close();
        }
      }));
      // The collector's batches wait up to its 10 s timeout.
      await waitFor("every span at the sink", () => sink.spanCount() >= 3 * 4 * 5, 40_000);
    } finally {
      for (const { service } of agents) await service.service.shutdown();
    }
    const report = sink.report();
    assert.deepEqual(report.violations.slice(0, 5), []);
    for (const t of TENANTS) {
      const names = new Set<string>();
      for (let r = 0; r < 4; r++) for (let n = 0; n < 5; n++) names.add(spanName(t, r, n));
      assert.deepEqual(report.spansByTenant.get(t.tenant), names, t.tenant);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
