import assert from "node:assert/strict";
import { otlpConfigSchema } from "../../../../components/receiver/otlp/config.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function issues(input: unknown): string[] {
  const r = otlpConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

Deno.test("otlp receiver config enables a protocol given with no value, with the Collector's defaults", () => {
  const c = otlpConfigSchema.parse({ protocols: { grpc: null, http: null } });
  assert.deepEqual(c.protocols.grpc, {
    endpoint: "0.0.0.0:4317",
    transport: "tcp",
    max_recv_msg_size_mib: 4,
    max_concurrent_streams: 0,
    include_metadata: false,
  });
  assert.deepEqual(c.protocols.http, {
    endpoint: "0.0.0.0:4318",
    traces_url_path: "/v1/traces",
    metrics_url_path: "/v1/metrics",
    logs_url_path: "/v1/logs",
    include_metadata: false,
    max_request_body_size: 20 * 1024 * 1024,
    read_timeout: 0,
    read_header_timeout: 60_000,
    write_timeout: 30_000,
  });
});

Deno.test("otlp receiver config enables only the protocols present", () => {
  const c = otlpConfigSchema.parse({ protocols: { http: null } });
  assert.equal(c.protocols.grpc, undefined);
  assert.ok(c.protocols.http !== undefined);
});

Deno.test("otlp receiver config requires at least one protocol", () => {
  assert.deepEqual(issues({}), ['protocols: must enable at least one protocol: "grpc" or "http"']);
  assert.deepEqual(issues({ protocols: {} }), [
    'protocols: must enable at least one protocol: "grpc" or "http"',
  ]);
});

Deno.test("otlp receiver config rejects unknown keys and bad values", () => {
  assert.deepEqual(issues({ protocols: { http: { endpont: "x:1" } } }), [
    'protocols.http: Unrecognized key: "endpont"',
  ]);
  assert.equal(issues({ protocols: { grpc: { endpoint: "nope" } } }).length, 1);
  assert.equal(issues({ protocols: { http: { max_request_body_size: "lots" } } }).length, 1);
  assert.equal(issues({ protocols: { grpc: { tls: { cert_file: "c.pem" } } } }).length, 1);
  assert.equal(issues({ protocols: { grpc: { auth: { authenticator: 3 } } } }).length, 1);
  assert.ok(
    issues({ protocols: { thrift: null } }).includes('protocols: Unrecognized key: "thrift"'),
  );
});

Deno.test("otlp receiver config takes every documented key", () => {
  const c = otlpConfigSchema.parse({
    protocols: {
      grpc: {
        endpoint: "localhost:4317",
        max_recv_msg_size_mib: 16,
        max_concurrent_streams: 100,
        include_metadata: true,
        keepalive: {
          server_parameters: { max_connection_idle: "11s", time: "30s", timeout: "5s" },
          enforcement_policy: { min_time: "10s", permit_without_stream: true },
        },
        tls: { cert_file: "c.pem", key_file: "k.pem" },
        auth: { authenticator: "bearertokenauth" },
      },
      http: {
        endpoint: "[::1]:4318",
        traces_url_path: "/t",
        metrics_url_path: "m",
        logs_url_path: "/l",
        cors: { allowed_origins: ["https://*.example.com"], allowed_headers: ["*"], max_age: 7200 },
        max_request_body_size: "4MiB",
        include_metadata: true,
        auth: { authenticator: "oidc" },
      },
    },
  });
  assert.equal(c.protocols.grpc?.keepalive?.server_parameters?.max_connection_idle, 11_000);
  assert.equal(c.protocols.http?.metrics_url_path, "/m");
  assert.equal(c.protocols.http?.max_request_body_size, 4 * 1024 * 1024);
  assert.equal(c.protocols.http?.cors?.max_age, 7200);
});
