/**
 * Routing by the authenticated tenant, end to end in-process: an otlp receiver guarded by
 * `apikeyauth` feeds a `routing` connector whose table reads `request["auth.tenant.id"]`; each
 * key's traces reach its tenant's pipeline, and a client claiming another tenant in a header does
 * not get there.
 */
import assert from "node:assert/strict";
import { encodeTracesRequest } from "../../../../lib/otlp/mod.ts";
import { newResource, newScope, newSpan } from "../../../../lib/pdata/new.ts";
import type { TracesData } from "../../../../lib/pdata/types.ts";
import { createTestKit, spanNamesOf } from "../../../fixtures/graph_kit.ts";
import { recorded, startService } from "../../../fixtures/interop/services.ts";

const YAML = `
extensions:
  apikeyauth:
    keys:
      - { id: tfk_alpha, secret: tfs_alpha_secret_value_1, workspace_id: ws-1, tenant_id: acme }
      - { id: tfk_bravo, secret: tfs_bravo_secret_value_2, workspace_id: ws-2, tenant_id: globex }
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0", include_metadata: true, auth: { authenticator: apikeyauth } }
connectors:
  routing:
    default_pipelines: [traces/other]
    table:
      - context: request
        condition: request["auth.tenant.id"] == "acme"
        pipelines: [traces/acme]
      - context: request
        condition: request["x-team"] == "blue"
        pipelines: [traces/blue]
exporters:
  recorder/acme:
  recorder/blue:
  recorder/other:
service:
  extensions: [apikeyauth]
  pipelines:
    traces/in: { receivers: [otlp], exporters: [routing] }
    traces/acme: { receivers: [routing], exporters: [recorder/acme] }
    traces/blue: { receivers: [routing], exporters: [recorder/blue] }
    traces/other: { receivers: [routing], exporters: [recorder/other] }
`;

function traces(name: string): TracesData {
  return {
    resourceSpans: [{
      resource: newResource({ attributes: [{ key: "service.name", value: "client" }] }),
      schemaUrl: "",
      scopeSpans: [{ scope: newScope({ name: "t" }), schemaUrl: "", spans: [newSpan({ name })] }],
    }],
  };
}

Deno.test("routing sends each authenticated tenant's traces to its pipeline; a claimed tenant header does not count", async () => {
  const kit = createTestKit();
  await using svc = await startService(YAML, { kit });
  const port = svc.port("otlp", "http");
  const post = async (name: string, headers: Record<string, string>) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", ...headers },
      body: encodeTracesRequest(traces(name)) as Uint8Array<ArrayBuffer>,
    });
    await res.body?.cancel();
    assert.equal(res.status, 200, name);
  };
  const alpha = {
    "x-telemetryflow-key-id": "tfk_alpha",
    "x-telemetryflow-key-secret": "tfs_alpha_secret_value_1",
  };
  const bravo = {
    "x-telemetryflow-key-id": "tfk_bravo",
    "x-telemetryflow-key-secret": "tfs_bravo_secret_value_2",
  };
  await post("from-acme", alpha);
  await post("bravo-claims-acme", { ...bravo, "x-tenant-id": "acme", "auth.tenant.id": "acme" });
  await post("bravo-blue", { ...bravo, "x-team": "blue" });
  const names = (id: string) => recorded(kit, id, "traces").flatMap(spanNamesOf);
  assert.deepEqual(names("recorder/acme"), ["from-acme"]);
  assert.deepEqual(names("recorder/blue"), ["bravo-blue"]);
  assert.deepEqual(names("recorder/other"), ["bravo-claims-acme"]);
});
