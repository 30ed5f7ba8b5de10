import assert from "node:assert/strict";
import type { Host } from "../../../../components/component.ts";
import { headersSetterConfigSchema } from "../../../../components/extension/headers_setter/config.ts";
import { headersSetterFactory } from "../../../../components/extension/headers_setter/factory.ts";
import { isPermanent } from "../../../../lib/consumer/consumer.ts";
import { type ClientAuthenticator, clientAuthenticatorOf } from "../../../../lib/net/auth.ts";
import { withAuthHeaders } from "../../../../lib/net/client_auth.ts";
import { type ClientInfo, NO_CLIENT } from "../../../../lib/pdata/payload.ts";
import { createLogger } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function issues(value: unknown): string[] {
  const r = headersSetterConfigSchema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

async function authenticator(config: unknown): Promise<ClientAuthenticator> {
  const extension = headersSetterFactory.create({
    id: "headers_setter",
    config: headersSetterConfigSchema.parse(config),
    logger: createLogger({ level: "error", write: () => {} }),
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  });
  const host: Host = { getExtension: () => extension, status: () => "running" };
  await extension.start(host);
  return clientAuthenticatorOf(host, "headers_setter");
}

function client(metadata: Record<string, string[]>, auth: Record<string, string> = {}): ClientInfo {
  return { metadata: new Map(Object.entries(metadata)), auth: new Map(Object.entries(auth)) };
}

Deno.test("headers_setter config takes the Collector's keys with action upsert by default", () => {
  const c = headersSetterConfigSchema.parse({
    headers: [{ key: "X-Scope-OrgID", from_context: "tenant_id", default_value: "anon" }],
  });
  assert.deepEqual(c.headers[0], {
    key: "X-Scope-OrgID",
    action: "upsert",
    from_context: "tenant_id",
    default_value: "anon",
  });
});

Deno.test("headers_setter config refuses entries without exactly one source", () => {
  assert.deepEqual(issues({}), ["headers: Invalid input: expected array, received undefined"]);
  assert.deepEqual(issues({ headers: [] }), ["headers: missing headers configuration"]);
  assert.deepEqual(issues({ headers: [{ key: "X-A" }] }), [
    "headers.0.value: missing header source, must be 'from_context', 'from_attribute' or 'value'",
  ]);
  assert.deepEqual(issues({ headers: [{ key: "X-A", value: "1", from_context: "a" }] }), [
    "headers.0.from_context: invalid header source, must be one of 'from_context', " +
    "'from_attribute' or 'value'",
  ]);
  assert.deepEqual(issues({ headers: [{ key: "X-A", value: "1", default_value: "2" }] }), [
    "headers.0.default_value: cannot be used with value (only with from_context or from_attribute)",
  ]);
  assert.deepEqual(issues({ headers: [{ key: "X-A", action: "delete", value: "1" }] }), [
    "headers.0.value: is not used by action delete",
  ]);
  assert.deepEqual(issues({ headers: [{ key: "bad name", value: "1" }] }), [
    "headers.0.key: must be an HTTP header name",
  ]);
  assert.deepEqual(issues({ headers: [{ key: "X-A", action: "replace", value: "1" }] }).length, 1);
  // Keys of later Collector versions tfo does not implement are refused, not ignored.
  assert.equal(issues({ headers: [{ key: "X-A", value_file: "/tmp/x" }] }).length, 2);
  assert.equal(issues({ headers: [{ key: "X-A", value: "1" }], additional_auth: "x" }).length, 1);
});

Deno.test("headers_setter sets headers from the request context of each request's data", async () => {
  const auth = await authenticator({
    headers: [
      { key: "X-Tenant-Id", from_context: "X-Tenant-Id" },
      { key: "X-Workspace-Id", from_attribute: "workspace.id", default_value: "none" },
      { key: "X-Static", value: "tfo" },
    ],
  });
  const a = client({ "x-tenant-id": ["acme"] }, { "workspace.id": "ws-1" });
  const b = client({ "x-tenant-id": ["globex"] });
  assert.deepEqual(withAuthHeaders({ "User-Agent": "tfo" }, auth, "ctx", a), {
    "User-Agent": "tfo",
    "X-Tenant-Id": "acme",
    "X-Workspace-Id": "ws-1",
    "X-Static": "tfo",
  });
  assert.deepEqual(withAuthHeaders({}, auth, "ctx", b), {
    "X-Tenant-Id": "globex",
    "X-Workspace-Id": "none",
    "X-Static": "tfo",
  });
  // No value and no default: the header is not sent at all.
  assert.deepEqual(withAuthHeaders({}, auth, "ctx", NO_CLIENT), {
    "X-Workspace-Id": "none",
    "X-Static": "tfo",
  });
  assert.deepEqual(auth.headers(a), withAuthHeaders({}, auth, "ctx", a));
});

Deno.test("headers_setter actions insert, update, upsert and delete, case-insensitively", async () => {
  const auth = await authenticator({
    headers: [
      { key: "X-Insert", value: "new", action: "insert" },
      { key: "X-Insert-Absent", value: "new", action: "insert" },
      { key: "X-Update", value: "new", action: "update" },
      { key: "X-Update-Absent", value: "new", action: "update" },
      { key: "X-Upsert", value: "new", action: "upsert" },
      { key: "X-Delete", action: "delete" },
    ],
  });
  const base = {
    "x-insert": "old",
    "x-update": "old",
    "X-UPSERT": "old",
    "x-delete": "secret",
    "X-Other": "kept",
  };
  assert.deepEqual(withAuthHeaders(base, auth, "ctx"), {
    "x-insert": "old",
    "X-Insert-Absent": "new",
    "X-Update": "new",
    "X-Upsert": "new",
    "X-Other": "kept",
  });
  assert.equal(base["x-delete"], "secret", "the exporter's own headers are not changed");
});

Deno.test("headers_setter fails a request permanently when the context has several values", async () => {
  const auth = await authenticator({ headers: [{ key: "X-Tenant-Id", from_context: "tenant" }] });
  assert.throws(
    () => withAuthHeaders({}, auth, "Cannot export traces to x", client({ tenant: ["a", "b"] })),
    (error: Error) => {
      assert.equal(
        error.message,
        'Cannot export traces to x: the client authenticator failed: 2 values of "tenant" found ' +
          'in the request context, cannot determine which one to use for header "X-Tenant-Id"',
      );
      assert.equal(isPermanent(error), true);
      return true;
    },
  );
});
