/**
 * API-key authentication both ways, end to end in-process. A tfo collector guards its otlp
 * receiver (gRPC and HTTP) with `apikeyauth` and stamps `tenant.id` from the key with a `resource`
 * processor; clients with the right key get through, clients with a wrong or no key are refused
 * (401 / `UNAUTHENTICATED`) and nothing reaches the pipeline. A tfo agent whose `otlphttp` and
 * `otlp` exporters use a client authenticator sends the key with every request, as the
 * authenticator says at the time (rotation takes effect on the next request).
 */
import assert from "node:assert/strict";
import type { Factory } from "../../components/component.ts";
import { apikeyauthFactory } from "../../components/extension/apikeyauth/factory.ts";
import { telemetryflowFactory } from "../../components/extension/telemetryflow/factory.ts";
import { BUILTIN_FACTORIES } from "../../components/builtin_factories.ts";
import { GrpcCallError, GrpcClient } from "../../lib/net/grpc_client.ts";
import { decodeRpcStatus } from "../../lib/net/rpc_status.ts";
import { encodeLogsRequest, encodeTracesRequest } from "../../lib/otlp/mod.ts";
import { newLogRecord, newResource, newScope, newSpan } from "../../lib/pdata/new.ts";
import type { Payload } from "../../lib/pdata/payload.ts";
import type { KeyValue, LogsData, Resource, TracesData } from "../../lib/pdata/types.ts";
import { headersAuthKit } from "../fixtures/client_auth.ts";
import { createTestKit, type TestKit } from "../fixtures/graph_kit.ts";
import { type RunningService, startService } from "../fixtures/interop/services.ts";

const SECRET_A = "tfs_alpha_8d1e0c6b2f4a4e9c";
const SECRET_B = "tfs_bravo_53c2a7e19d0b4f86";
const SECRET_ENV = "TFO_AUTH_TEST_SECRET_A";
const TRACES_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const PROTOBUF = "application/x-protobuf";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A kit with the auth factories the registry may not hold yet. */
function kitWith(...extra: Factory[]): TestKit {
  const kit = createTestKit();
  const builtin = new Set(BUILTIN_FACTORIES.map((f) => `${f.kind}/${f.type}`));
  for (const f of [asAny(apikeyauthFactory), ...extra]) {
    if (!builtin.has(`${f.kind}/${f.type}`)) kit.factories.push(f);
  }
  return kit;
}

function asAny(f: unknown): Factory {
  return f as Factory;
}

/** The collector: apikeyauth on both protocols, tenant and workspace stamped from the key. */
async function collectorYaml(): Promise<string> {
  return `
extensions:
  apikeyauth:
    keys:
      - id: tfk_alpha
        secret: \${env:${SECRET_ENV}}
        workspace_id: ws-1
        tenant_id: acme
      - id: tfk_bravo
        secret_sha256: ${await sha256Hex(SECRET_B)}
        workspace_id: ws-2
        tenant_id: globex
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0", include_metadata: true, auth: { authenticator: apikeyauth } }
      http: { endpoint: "127.0.0.1:0", include_metadata: true, auth: { authenticator: apikeyauth } }
processors:
  resource:
    attributes:
      - { key: tenant.id, from_context: auth.tenant.id, action: upsert }
      - { key: workspace.id, from_context: auth.workspace.id, action: upsert }
exporters:
  recorder:
service:
  extensions: [apikeyauth]
  pipelines:
    traces: { receivers: [otlp], processors: [resource], exporters: [recorder] }
    logs: { receivers: [otlp], processors: [resource], exporters: [recorder] }
`;
}

async function startCollector(): Promise<RunningService> {
  Deno.env.set(SECRET_ENV, SECRET_A);
  try {
    return await startService(await collectorYaml(), { kit: kitWith() });
  } finally {
    Deno.env.delete(SECRET_ENV);
  }
}

/** A resource claiming a tenant and workspace of its own. */
function claimingResource(): Resource {
  return newResource({
    attributes: [
      { key: "service.name", value: "client" },
      { key: "tenant.id", value: "evil-corp" },
      { key: "workspace.id", value: "ws-evil" },
    ],
  });
}

function traces(name: string): TracesData {
  return {
    resourceSpans: [{
      resource: claimingResource(),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope({ name: "auth-test" }),
        schemaUrl: "",
        spans: [
          newSpan({ name, traceId: new Uint8Array(16).fill(3), spanId: new Uint8Array(8).fill(4) }),
        ],
      }],
    }],
  };
}

function logs(body: string): LogsData {
  return {
    resourceLogs: [{
      resource: claimingResource(),
      schemaUrl: "",
      scopeLogs: [{
        scope: newScope({ name: "auth-test" }),
        schemaUrl: "",
        logRecords: [newLogRecord({ body: body })],
      }],
    }],
  };
}

function payloads(kit: TestKit, id = "recorder"): Payload[] {
  return kit.recordings.get(id)?.payloads ?? [];
}

function attribute(attributes: readonly KeyValue[], key: string): unknown {
  return attributes.find((a) => a.key === key)?.value;
}

/** The resource attributes `tenant.id` and `workspace.id` of a recorded payload. */
function stamped(payload: Payload): { tenant: unknown; workspace: unknown } {
  const data = payload.read();
  const resource = "resourceSpans" in data
    ? data.resourceSpans[0]!.resource
    : "resourceLogs" in data
    ? data.resourceLogs[0]!.resource
    : undefined;
  assert.ok(resource !== undefined);
  return {
    tenant: attribute(resource.attributes, "tenant.id"),
    workspace: attribute(resource.attributes, "workspace.id"),
  };
}

const keyHeaders = (id: string, secret: string) => ({
  "X-TelemetryFlow-Key-ID": id,
  "X-TelemetryFlow-Key-Secret": secret,
});

function postTraces(
  port: number,
  headers: Record<string, string>,
  body: Uint8Array = encodeTracesRequest(traces("over-http")),
  contentType = PROTOBUF,
): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/v1/traces`, {
    method: "POST",
    headers: { "content-type": contentType, ...headers },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

Deno.test("a collector with apikeyauth accepts the right key over HTTP and stamps its tenant", async () => {
  await using collector = await startCollector();
  const port = collector.port("otlp", "http");
  const res = await postTraces(port, {
    ...keyHeaders("tfk_alpha", SECRET_A),
    "X-Tenant-Id": "evil-corp",
    "X-TelemetryFlow-Tenant-Id": "evil-corp",
    "X-Workspace-Id": "ws-evil",
    "X-Request-Source": "test",
  });
  await res.body?.cancel();
  assert.equal(res.status, 200);
  const [payload] = payloads(collector.kit);
  assert.ok(payload !== undefined, "the data reached the pipeline");
  assert.deepEqual(stamped(payload), { tenant: "acme", workspace: "ws-1" });
  assert.deepEqual(Object.fromEntries(payload.client.auth), {
    "key.id": "tfk_alpha",
    "workspace.id": "ws-1",
    "tenant.id": "acme",
  });
  const metadata = payload.client.metadata;
  assert.deepEqual(metadata.get("x-tenant-id"), ["acme"]);
  assert.deepEqual(metadata.get("x-telemetryflow-tenant-id"), ["acme"]);
  assert.deepEqual(metadata.get("x-workspace-id"), ["ws-1"]);
  assert.deepEqual(metadata.get("x-request-source"), ["test"]);
  assert.deepEqual(metadata.get("x-telemetryflow-key-id"), ["tfk_alpha"]);
  assert.equal(metadata.has("x-telemetryflow-key-secret"), false, "the secret is not passed on");
  for (const values of metadata.values()) assert.ok(!values.some((v) => v.includes(SECRET_A)));

  // A key from the hashed entry, sent as a Bearer token: its own tenant.
  const bearer = await postTraces(port, { Authorization: `Bearer tfk_bravo:${SECRET_B}` });
  await bearer.body?.cancel();
  assert.equal(bearer.status, 200);
  const second = payloads(collector.kit)[1]!;
  assert.deepEqual(stamped(second), { tenant: "globex", workspace: "ws-2" });
  assert.equal(second.client.metadata.has("authorization"), false);
});

Deno.test("a collector with apikeyauth refuses a wrong or missing key over HTTP with 401", async () => {
  await using collector = await startCollector();
  const port = collector.port("otlp", "http");
  const cases: [string, Record<string, string>, string][] = [
    ["wrong secret", keyHeaders("tfk_alpha", SECRET_B), "Invalid API key"],
    ["unknown key", keyHeaders("tfk_nobody", SECRET_A), "Invalid API key"],
    ["secret of another key", keyHeaders("tfk_bravo", SECRET_A), "Invalid API key"],
    [
      "no key",
      {},
      "Missing API key: send the X-TelemetryFlow-Key-ID and X-TelemetryFlow-Key-Secret headers",
    ],
  ];
  for (const [what, headers, message] of cases) {
    const res = await postTraces(port, headers);
    assert.equal(res.status, 401, what);
    assert.equal(res.headers.get("content-type"), PROTOBUF, what);
    const status = decodeRpcStatus(new Uint8Array(await res.arrayBuffer()));
    assert.equal(status?.code, 16, what);
    assert.equal(status?.message, message, what);
  }
  const json = await postTraces(
    port,
    keyHeaders("tfk_alpha", "nope"),
    new TextEncoder().encode("{}"),
    "application/json",
  );
  assert.equal(json.status, 401);
  assert.equal(json.headers.get("content-type"), "application/json");
  assert.deepEqual(await json.json(), { code: 16, message: "Invalid API key" });
  // Unknown paths are not revealed to unauthenticated clients.
  const unknownPath = await fetch(`http://127.0.0.1:${port}/v1/nothing`, { method: "POST" });
  await unknownPath.body?.cancel();
  assert.equal(unknownPath.status, 401);
  assert.equal(payloads(collector.kit).length, 0, "nothing reached the pipeline");
});

Deno.test("a collector with apikeyauth answers 401 without reading the body", async () => {
  await using collector = await startCollector();
  const port = collector.port("otlp", "http");
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  // Headers, then 10 of the 100 000 body bytes announced, then nothing.
  const head = [
    "POST /v1/traces HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    `Content-Type: ${PROTOBUF}`,
    "Content-Length: 100000",
    "X-TelemetryFlow-Key-ID: tfk_alpha",
    `X-TelemetryFlow-Key-Secret: ${SECRET_B}`,
    "",
    "",
  ].join("\r\n");
  await conn.write(new TextEncoder().encode(head));
  await conn.write(new Uint8Array(10));
  const buffer = new Uint8Array(4096);
  let text = "";
  const deadline = Date.now() + 5_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    while (!text.includes("\r\n\r\n")) {
      const remaining = deadline - Date.now();
      assert.ok(remaining > 0, "a 401 within 5 s while the body stalls");
      const n = await Promise.race([
        conn.read(buffer),
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), remaining)),
      ]);
      clearTimeout(timer);
      assert.ok(n !== "timeout", "a 401 within 5 s while the body stalls");
      assert.ok(n !== null, `the connection stayed open until the answer (got ${text})`);
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  assert.match(text, /^HTTP\/1\.1 401 /);
  assert.equal(payloads(collector.kit).length, 0);
});

Deno.test("a collector with apikeyauth checks gRPC metadata: UNAUTHENTICATED or accepted", async () => {
  await using collector = await startCollector();
  const client = new GrpcClient({
    target: `127.0.0.1:${collector.port("otlp", "grpc")}`,
    tls: undefined,
  });
  try {
    const body = encodeTracesRequest(traces("over-grpc"));
    for (
      const metadata of [
        keyHeaders("tfk_alpha", SECRET_B),
        keyHeaders("tfk_nobody", SECRET_A),
        {},
      ]
    ) {
      await assert.rejects(
        client.unary(TRACES_METHOD, body, { metadata, timeoutMs: 5_000 }),
        (error: unknown) => {
          assert.ok(error instanceof GrpcCallError);
          assert.equal(error.code, 16, error.message);
          assert.match(error.details, /^(Invalid|Missing) API key/);
          return true;
        },
      );
    }
    assert.equal(payloads(collector.kit).length, 0, "nothing reached the pipeline");

    await client.unary(TRACES_METHOD, body, {
      metadata: {
        ...keyHeaders("tfk_alpha", SECRET_A),
        "x-tenant-id": "evil-corp",
        "x-scope-orgid": "evil-corp",
      },
      timeoutMs: 5_000,
    });
    const [payload] = payloads(collector.kit);
    assert.ok(payload !== undefined);
    assert.deepEqual(stamped(payload), { tenant: "acme", workspace: "ws-1" });
    assert.equal(payload.client.auth.get("key.id"), "tfk_alpha");
    assert.deepEqual(payload.client.metadata.get("x-tenant-id"), ["acme"]);
    assert.deepEqual(payload.client.metadata.get("x-scope-orgid"), ["acme"]);
    assert.equal(payload.client.metadata.has("x-telemetryflow-key-secret"), false);
  } finally {
    client.close();
  }
});

/** A `headersauth` extension (test fixture) holding key `tfk_alpha`. */
const HEADERSAUTH_BLOCK = `
  headersauth:
    headers:
      X-TelemetryFlow-Key-ID: tfk_alpha
      X-TelemetryFlow-Key-Secret: ${SECRET_A}`;

/**
 * The agent: an open otlp receiver, exporting traces over otlphttp and logs over otlp, both
 * authenticated by extension `authenticator`, defined by `extensionsBlock`.
 */
function agentYaml(
  collector: RunningService,
  authenticator: string,
  extensionsBlock = HEADERSAUTH_BLOCK,
): string {
  const http = collector.port("otlp", "http");
  const grpc = collector.port("otlp", "grpc");
  return `
extensions:${extensionsBlock}
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${http}
    # The authenticator's headers win over static ones of the same name.
    headers: { x-telemetryflow-key-secret: stale }
    auth: { authenticator: ${authenticator} }
    sending_queue: { enabled: false }
    retry_on_failure: { enabled: false }
  otlp:
    endpoint: 127.0.0.1:${grpc}
    tls: { insecure: true }
    auth: { authenticator: ${authenticator} }
    sending_queue: { enabled: false }
    retry_on_failure: { enabled: false }
service:
  extensions: [${authenticator}]
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp] }
    logs: { receivers: [otlp], exporters: [otlp] }
`;
}

async function postToAgent(agent: RunningService, signal: "traces" | "logs", name: string) {
  const body = signal === "traces"
    ? encodeTracesRequest(traces(name))
    : encodeLogsRequest(logs(name));
  const res = await fetch(`http://127.0.0.1:${agent.port("otlp", "http")}/v1/${signal}`, {
    method: "POST",
    headers: { "content-type": PROTOBUF },
    body: body as Uint8Array<ArrayBuffer>,
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("an agent's otlphttp and otlp exporters send the client authenticator's key", async () => {
  await using collector = await startCollector();
  const auth = headersAuthKit();
  await using agent = await startService(agentYaml(collector, "headersauth"), {
    kit: kitWith(auth.factory),
  });

  assert.equal(await postToAgent(agent, "traces", "via-otlphttp"), 200);
  assert.equal(await postToAgent(agent, "logs", "via-otlp"), 200);
  const got = payloads(collector.kit);
  assert.equal(got.length, 2);
  for (const payload of got) {
    assert.equal(payload.client.auth.get("key.id"), "tfk_alpha");
    assert.deepEqual(stamped(payload), { tenant: "acme", workspace: "ws-1" });
  }
  assert.equal(got[0]!.signal, "traces");
  assert.equal(got[1]!.signal, "logs");
  const callsBefore = auth.calls;
  assert.ok(callsBefore >= 2, "headers() is read per request");

  // Rotation: the next request carries the new key.
  auth.rotate(keyHeaders("tfk_bravo", SECRET_B));
  assert.equal(await postToAgent(agent, "traces", "rotated-http"), 200);
  assert.equal(await postToAgent(agent, "logs", "rotated-grpc"), 200);
  const rotated = payloads(collector.kit).slice(2);
  assert.deepEqual(rotated.map((p) => p.client.auth.get("tenant.id")), ["globex", "globex"]);
  const rotatedLog = (rotated[1]!.read() as LogsData).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  assert.deepEqual(rotatedLog.body, "rotated-grpc");

  // A revoked key: the collector refuses (permanently), so the agent's receiver says 400.
  auth.rotate(keyHeaders("tfk_bravo", SECRET_A));
  assert.equal(await postToAgent(agent, "traces", "refused-http"), 400);
  assert.equal(await postToAgent(agent, "logs", "refused-grpc"), 400);
  assert.equal(payloads(collector.kit).length, 4, "nothing more reached the collector");
  assert.ok(auth.calls >= callsBefore + 4);
});

Deno.test("an exporter whose auth names no client authenticator fails to start clearly", async () => {
  await using collector = await startCollector();
  const yaml = agentYaml(
    collector,
    "headersauth",
    `${HEADERSAUTH_BLOCK}
  apikeyauth:
    keys: [{ id: k, secret: s, workspace_id: w, tenant_id: t }]`,
  ).replace(
    "auth: { authenticator: headersauth }\n    sending_queue",
    "auth: { authenticator: apikeyauth }\n    sending_queue",
  ).replace("extensions: [headersauth]", "extensions: [headersauth, apikeyauth]");
  await assert.rejects(
    startService(yaml, { kit: kitWith(headersAuthKit().factory) }),
    /Cannot start exporter "otlphttp": Cannot use auth\.authenticator "apikeyauth": the extension "apikeyauth" is not a client authenticator/,
  );
});

/** A fake TelemetryFlow API that accepts every registration and heartbeat. */
function fakePlatform(): { url: string; calls: string[]; [Symbol.asyncDispose](): Promise<void> } {
  const calls: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    calls.push(`${req.method} ${new URL(req.url).pathname}`);
    return Response.json({ agent_id: "agent-7", status: "ok" });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    calls,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("an agent authenticated by the telemetryflow extension sends its key and agent ID", async () => {
  await using collector = await startCollector();
  await using platform = fakePlatform();
  const block = `
  telemetryflow:
    endpoint: ${platform.url}
    api_key_id: tfk_alpha
    api_key_secret: ${SECRET_A}
    agent: { id: agent-7 }
    heartbeat: { include_system_info: false }`;
  await using agent = await startService(agentYaml(collector, "telemetryflow", block), {
    kit: kitWith(asAny(telemetryflowFactory)),
  });
  assert.equal(await postToAgent(agent, "traces", "via-otlphttp"), 200);
  assert.equal(await postToAgent(agent, "logs", "via-otlp"), 200);
  const got = payloads(collector.kit);
  assert.deepEqual(got.map((p) => p.signal), ["traces", "logs"]);
  for (const payload of got) {
    assert.equal(payload.client.auth.get("key.id"), "tfk_alpha");
    assert.deepEqual(stamped(payload), { tenant: "acme", workspace: "ws-1" });
    assert.deepEqual(payload.client.metadata.get("x-telemetryflow-agent-id"), ["agent-7"]);
  }
});
