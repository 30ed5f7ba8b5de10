/** The `loadbalancing` exporter's config: defaults, and what it refuses with a clear message. */
import assert from "node:assert/strict";
import { loadBalancingConfigSchema } from "../../../../components/exporter/loadbalancing/config.ts";
import { loadBalancingExporterFactory } from "../../../../components/exporter/loadbalancing/factory.ts";
import { settingsFor } from "../otlp/_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function issues(input: unknown): string[] {
  const r = loadBalancingConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

const STATIC = { static: { hostnames: ["a:4317"] } };

Deno.test("loadbalancing defaults: top-level resilience off, per-backend otlp defaults on", () => {
  const c = loadBalancingConfigSchema.parse({ resolver: STATIC });
  assert.equal(c.routing_key, undefined);
  assert.equal(c.timeout, 0);
  assert.equal(c.retry_on_failure.enabled, false);
  assert.equal(c.sending_queue.enabled, false);
  assert.equal(c.protocol.otlp.sending_queue.enabled, true);
  assert.equal(c.protocol.otlp.retry_on_failure.enabled, true);
  assert.equal(c.protocol.otlp.timeout, 5000);
  const dns = loadBalancingConfigSchema.parse({ resolver: { dns: { hostname: "lb" } } });
  assert.deepEqual(dns.resolver.dns, { hostname: "lb", port: 4317, interval: 5000, timeout: 1000 });
});

Deno.test("loadbalancing refuses what tfo does not implement, and malformed resolvers", () => {
  const cases: [unknown, RegExp][] = [
    [{ resolver: {} }, /resolver: needs a resolver/],
    [{ resolver: { ...STATIC, dns: { hostname: "x" } } }, /only one of static and dns/],
    [{ resolver: { k8s: { service: "x" } } }, /resolver.k8s: is not supported/],
    [{ resolver: { aws_cloud_map: {} } }, /resolver.aws_cloud_map: is not supported/],
    [{ resolver: STATIC, routing_key: "attributes" }, /routing_key: attributes routing/],
    [{ resolver: STATIC, routing_key: "span" }, /routing_key/],
    [{ resolver: STATIC, routing_attributes: ["a"] }, /routing_attributes/],
    [{ resolver: { static: { hostnames: [] } } }, /hostnames/],
    [{ resolver: { static: { hostnames: ["a:99999"] } } }, /port over 65535/],
    [{ resolver: { static: { hostnames: ["http://a:1"] } } }, /host:port/],
    [{ resolver: { dns: { hostname: "x", port: 0 } } }, /resolver.dns.port/],
    [{ resolver: STATIC, protocol: { otlp: { endpoint: "a:1" } } }, /endpoint/],
    [
      { resolver: STATIC, protocol: { otlp: { sending_queue: { storage: "file_storage" } } } },
      /protocol.otlp.sending_queue.storage: is not supported/,
    ],
  ];
  for (const [input, expected] of cases) {
    const found = issues(input);
    assert.ok(found.some((i) => expected.test(i)), `${JSON.stringify(input)} gave ${found}`);
  }
});

Deno.test("a routing key that does not apply to a signal fails the exporter's creation", () => {
  const config = loadBalancingConfigSchema.parse({ resolver: STATIC, routing_key: "traceID" });
  assert.throws(
    () =>
      loadBalancingExporterFactory.create(settingsFor("loadbalancing", config).settings, [
        "metrics",
      ]),
    /routing_key "traceID" does not apply to metrics/,
  );
  const metric = loadBalancingConfigSchema.parse({ resolver: STATIC, routing_key: "metric" });
  assert.throws(
    () => loadBalancingExporterFactory.create(settingsFor("lb", metric).settings, ["traces"]),
    /does not apply to traces: use one of traceID, service/,
  );
});
