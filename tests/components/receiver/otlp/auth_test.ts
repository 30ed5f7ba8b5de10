import assert from "node:assert/strict";
import { authenticatedClient } from "../../../../components/receiver/otlp/_auth.ts";

const facts = new Map([["key.id", "tfk_a"], ["tenant.id", "acme"], ["workspace.id", "ws-1"]]);

function headers(h: Record<string, string>): Map<string, string[]> {
  return new Map(Object.entries(h).map(([k, v]) => [k, [v]]));
}

Deno.test("authenticated metadata drops credentials and takes the tenant from the key", () => {
  const client = authenticatedClient(
    headers({
      "x-telemetryflow-key-id": "tfk_a",
      "x-telemetryflow-key-secret": "tfs_1",
      "x-api-key-secret": "tfs_2",
      "x-api-key": "k",
      "authorization": "Bearer a:b",
      "cookie": "c=1",
      "x-auth-token": "t",
      "tenant-id": "evil",
      "x-telemetryflow-tenant-id": "evil",
      "x-scope-orgid": "evil",
      "x-telemetryflow-workspace-id": "ws-evil",
      "user-agent": "sdk",
    }),
    facts,
    true,
    "127.0.0.1:5000",
  );
  assert.deepEqual(Object.fromEntries(client.metadata), {
    "x-telemetryflow-key-id": ["tfk_a"],
    "tenant-id": ["acme"],
    "x-telemetryflow-tenant-id": ["acme"],
    "x-scope-orgid": ["acme"],
    "x-telemetryflow-workspace-id": ["ws-1"],
    "user-agent": ["sdk"],
    "x-tenant-id": ["acme"],
    "x-workspace-id": ["ws-1"],
  });
  assert.equal(client.auth, facts);
  assert.equal(client.address, "127.0.0.1:5000");
});

Deno.test("authenticated metadata is empty without include_metadata, and claims without facts go", () => {
  const off = authenticatedClient(headers({ "x-tenant-id": "evil" }), facts, false, "a:1");
  assert.equal(off.metadata.size, 0);
  assert.equal(off.auth.get("tenant.id"), "acme");
  const noTenant = authenticatedClient(
    headers({ "x-tenant-id": "evil", "x-workspace-id": "w", "x-other": "o" }),
    new Map([["key.id", "k"]]),
    true,
    "a:1",
  );
  assert.deepEqual(Object.fromEntries(noTenant.metadata), { "x-other": ["o"] });
});
