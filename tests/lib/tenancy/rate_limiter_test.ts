import assert from "node:assert/strict";
import type { Clock } from "../../../lib/clock.ts";
import { rateLimitSchema, tenantMetricsSchema } from "../../../lib/tenancy/config.ts";
import { createRateLimiter } from "../../../lib/tenancy/rate_limiter.ts";
import { otlpConfigSchema } from "../../../components/receiver/otlp/config.ts";
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return {
    now: () => now,
    setTimer: () => 0,
    clearTimer: () => {},
    advance(ms) {
      now += ms;
    },
  };
}

function limiter(config: Record<string, unknown>) {
  const clock = fakeClock();
  return { clock, limiter: createRateLimiter(rateLimitSchema.parse(config), clock) };
}

Deno.test("rate limiter admits a tenant's burst, then refuses with the wait until enough refills", () => {
  const { clock, limiter: l } = limiter({ items_per_second: 100 });
  assert.deepEqual(l.admit("a", 60, 0), { admitted: true });
  assert.deepEqual(l.admit("a", 40, 0), { admitted: true });
  assert.deepEqual(l.admit("a", 50, 0), { admitted: false, retryAfterMs: 500, limit: "items" });
  clock.advance(250);
  assert.deepEqual(l.admit("a", 50, 0), { admitted: false, retryAfterMs: 250, limit: "items" });
  clock.advance(250);
  assert.deepEqual(l.admit("a", 50, 0), { admitted: true });
  // Refills stop at one burst: a long pause does not bank more than burst_seconds of rate.
  clock.advance(60_000);
  assert.deepEqual(l.admit("a", 100, 0), { admitted: true });
  assert.equal(l.admit("a", 1, 0).admitted, false);
});

Deno.test("rate limiter keeps tenants apart: one over its limit leaves the others untouched", () => {
  const { limiter: l } = limiter({ items_per_second: 10 });
  for (let i = 0; i < 100; i++) l.admit("noisy", 10, 0);
  for (const t of ["b", "c", "d", "e", "f"]) {
    assert.deepEqual(l.admit(t, 10, 0), { admitted: true });
  }
  assert.equal(l.size, 6);
});

Deno.test("rate limiter limits bytes, applies overrides key by key, and admits a huge request once full", () => {
  const { clock, limiter: l } = limiter({
    items_per_second: 1000,
    bytes_per_second: 1000,
    burst_seconds: 2,
    overrides: { big: { bytes_per_second: 0 } },
  });
  assert.deepEqual(l.admit("a", 1, 1500), { admitted: true });
  assert.deepEqual(l.admit("a", 1, 1000), { admitted: false, retryAfterMs: 500, limit: "bytes" });
  // "big" has no byte limit but keeps the default item limit (2000 items a burst).
  assert.deepEqual(l.admit("big", 2000, 10_000_000), { admitted: true });
  assert.equal(l.admit("big", 1, 0).admitted, false);
  // A request larger than the whole bucket gets in when the bucket is full, and leaves it in debt.
  clock.advance(2000);
  assert.deepEqual(l.admit("a", 1, 5000), { admitted: true });
  assert.deepEqual(l.admit("a", 1, 1), { admitted: false, retryAfterMs: 3001, limit: "bytes" });
});

Deno.test("rate limiter forgets the least recently seen tenant beyond max_tenants", () => {
  const { limiter: l } = limiter({ items_per_second: 1, max_tenants: 2 });
  l.admit("a", 1, 0);
  l.admit("b", 1, 0);
  assert.equal(l.admit("a", 1, 0).admitted, false); // a is now the most recently seen
  l.admit("c", 1, 0); // forgets b
  assert.equal(l.size, 2);
  assert.equal(l.admit("b", 1, 0).admitted, true, "b starts over with a full bucket");
  assert.equal(l.admit("a", 1, 0).admitted, true, "a was forgotten when b came back");
});

function issues(schema: { safeParse(v: unknown): unknown }, value: unknown): string[] {
  const r = schema.safeParse(value) as {
    success: boolean;
    error?: { issues: { path: PropertyKey[]; message: string }[] };
  };
  return r.success ? [] : r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

Deno.test("rate_limit and tenant_metrics config: defaults and refusals", () => {
  assert.deepEqual(rateLimitSchema.parse({ items_per_second: 5 }), {
    from_context: "x-tenant-id",
    items_per_second: 5,
    bytes_per_second: 0,
    burst_seconds: 1,
    max_tenants: 10000,
    overrides: {},
  });
  assert.deepEqual(tenantMetricsSchema.parse({}), {
    enabled: false,
    from_context: "x-tenant-id",
    max_tenants: 1000,
  });
  assert.deepEqual(issues(rateLimitSchema, {}), [
    "items_per_second: sets no limit: give items_per_second or bytes_per_second (or an override)",
  ]);
  assert.equal(issues(rateLimitSchema, { items_per_second: -1 }).length, 2);
  assert.deepEqual(issues(rateLimitSchema, { items_per_second: 1, per_tenant: {} }), [
    ': Unrecognized key: "per_tenant"',
  ]);
  // A metadata key needs include_metadata on every protocol; an auth attribute does not.
  assert.deepEqual(
    issues(otlpConfigSchema, {
      protocols: { http: { include_metadata: true }, grpc: {} },
      rate_limit: { items_per_second: 1 },
      tenant_metrics: { enabled: true, from_context: "auth.tenant.id" },
    }),
    [
      'rate_limit.from_context: reads request metadata ("x-tenant-id"), which every protocol ' +
      "must keep: set include_metadata: true, or name an authenticator attribute (auth.tenant.id)",
    ],
  );
});

Deno.test("rate limiter check answers like admit without charging the bucket", () => {
  const { limiter: l } = limiter({ items_per_second: 10, bytes_per_second: 100 });
  assert.deepEqual(l.check("a", 10, 100), { admitted: true });
  assert.deepEqual(l.check("a", 10, 100), { admitted: true });
  assert.deepEqual(l.admit("a", 10, 50), { admitted: true });
  assert.deepEqual(l.check("a", 1, 0), { admitted: false, retryAfterMs: 100, limit: "items" });
  assert.deepEqual(l.check("a", 0, 60), { admitted: false, retryAfterMs: 100, limit: "bytes" });
});

Deno.test("metadata_from_resource: refused with an authenticator, and it feeds from_context keys", () => {
  assert.deepEqual(
    issues(otlpConfigSchema, {
      protocols: { http: { auth: { authenticator: "apikeyauth" } } },
      metadata_from_resource: { "x-tenant-id": "telemetryflow.tenant.id" },
    }),
    [
      "metadata_from_resource: cannot be used with an authenticator: the authenticated tenant " +
      "must win over what the data claims (read it with from_context: auth.tenant.id instead)",
    ],
  );
  // A key set from resources needs no include_metadata.
  assert.deepEqual(
    issues(otlpConfigSchema, {
      protocols: { http: {} },
      metadata_from_resource: { "X-Tenant-Id": "telemetryflow.tenant.id" },
      rate_limit: { items_per_second: 1, from_context: "metadata.x-tenant-id" },
    }),
    [],
  );
  assert.deepEqual(
    issues(otlpConfigSchema, {
      protocols: { http: {} },
      metadata_from_resource: { "bad key": "a" },
    }),
    ["metadata_from_resource.bad key: must be keyed by a metadata (header) name"],
  );
});
