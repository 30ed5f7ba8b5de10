/**
 * Per-tenant rate limits on the otlp receiver, in-process: six tenants with API keys share one
 * receiver whose `rate_limit` gives each a bucket of 100 spans refilled at 5 per second. One
 * tenant sends ten times its bucket at once, over HTTP and gRPC, and gets 429 with Retry-After and
 * `RESOURCE_EXHAUSTED`; the five others, within their limit, are never refused. Self-metrics
 * count the refusals and the accepted spans per tenant. (Latency under this load is measured in
 * `bench/tenancy_rate_limit.ts`, not asserted here.)
 */
import assert from "node:assert/strict";
import { encodeTracesRequest } from "../../lib/otlp/mod.ts";
import {
  clientHeaders,
  keysYaml,
  tenantClient,
  tenants,
  tenantTraces,
} from "../fixtures/tenancy.ts";
import { recordedItems, startService } from "../fixtures/interop/services.ts";

const TENANTS = tenants(6);
const NOISY = TENANTS[0]!;
const QUIET = TENANTS.slice(1);

const YAML = `
extensions:
  apikeyauth:
    keys:
${keysYaml(TENANTS, "      ")}
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0", auth: { authenticator: apikeyauth } }
      http: { endpoint: "127.0.0.1:0", auth: { authenticator: apikeyauth } }
    rate_limit:
      from_context: auth.tenant.id
      items_per_second: 5
      burst_seconds: 20
    tenant_metrics:
      enabled: true
      from_context: auth.tenant.id
exporters:
  recorder:
service:
  extensions: [apikeyauth]
  pipelines:
    traces: { receivers: [otlp], exporters: [recorder] }
`;

/** The sum of a metric's series whose labels include `labels`, from Prometheus text. */
function metricSum(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

Deno.test("a tenant at 10x its rate limit gets 429 and RESOURCE_EXHAUSTED; five others none", async () => {
  await using collector = await startService(YAML);
  const httpPort = collector.port("otlp", "http");
  const client = tenantClient(httpPort, collector.port("otlp", "grpc"));
  const own = (t: typeof NOISY) => ({ tenant: t.tenant, workspace: t.workspace });
  try {
    // 20 requests of 50 spans = 1,000 spans against a bucket of 100, half over each transport.
    const noisy = Promise.all(
      Array.from({ length: 20 }, (_, r) => client.send(NOISY, own(NOISY), r, 50, r % 2 === 1)),
    );
    // Each quiet tenant: 5 requests of 10 spans = 50 spans, half its bucket, whatever the timing.
    const quiet = Promise.all(QUIET.map(async (t) => {
      const codes: number[] = [];
      for (let r = 0; r < 5; r++) codes.push(await client.send(t, own(t), r, 10, r % 2 === 1));
      return codes;
    }));
    const [noisyCodes, quietCodes] = await Promise.all([noisy, quiet]);

    quietCodes.forEach((codes, i) =>
      assert.deepEqual(codes, [200, 0, 200, 0, 200], `${QUIET[i]!.tenant} was never refused`)
    );
    const httpCodes = noisyCodes.filter((_, r) => r % 2 === 0);
    const grpcCodes = noisyCodes.filter((_, r) => r % 2 === 1);
    assert.ok(httpCodes.every((c) => c === 200 || c === 429), `${httpCodes}`);
    assert.ok(grpcCodes.every((c) => c === 0 || c === 8), `${grpcCodes}`);
    const refused = noisyCodes.filter((c) => c === 429 || c === 8).length;
    // The bucket holds 100 spans and refills 5 a second: 2 requests get in at once, one more per
    // 10 s the test takes.
    assert.ok(refused >= 10, `the noisy tenant was refused ${refused} times of 20`);
    assert.ok(httpCodes.includes(429) && grpcCodes.includes(8), `${noisyCodes}`);

    // An HTTP refusal says when to come back.
    const res = await fetch(`http://127.0.0.1:${httpPort}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", ...clientHeaders(NOISY, own(NOISY)) },
      body: encodeTracesRequest(tenantTraces(NOISY, own(NOISY), 99, 50)) as Uint8Array<
        ArrayBuffer
      >,
    });
    await res.body?.cancel();
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("retry-after")) >= 1, `${res.headers.get("retry-after")}`);

    const accepted = noisyCodes.length - refused;
    assert.equal(
      recordedItems(collector.kit, "recorder", "traces"),
      QUIET.length * 50 + accepted * 50,
    );
    const text = collector.service.registry.render();
    assert.equal(
      metricSum(text, "tfo_receiver_rate_limited_requests", { tenant: NOISY.tenant }),
      refused + 1,
    );
    // Requests refused before their body was read (the tenant had no token left at all) count as
    // requests only; those refused after it count their spans too, as refused.
    const limitedSpans = metricSum(text, "tfo_receiver_rate_limited_spans", {
      tenant: NOISY.tenant,
    });
    assert.ok(limitedSpans % 50 === 0 && limitedSpans <= (refused + 1) * 50, `${limitedSpans}`);
    assert.equal(
      metricSum(text, "tfo_receiver_tenant_refused_spans", { tenant: NOISY.tenant }),
      limitedSpans,
    );
    assert.equal(
      metricSum(text, "tfo_receiver_tenant_accepted_spans", { tenant: NOISY.tenant }),
      accepted * 50,
    );
    for (const t of QUIET) {
      assert.equal(metricSum(text, "tfo_receiver_tenant_accepted_spans", { tenant: t.tenant }), 50);
      assert.equal(metricSum(text, "tfo_receiver_rate_limited_spans", { tenant: t.tenant }), 0);
    }
    assert.equal(
      metricSum(text, "tfo_receiver_tenant_accepted_spans", {
        tenant: QUIET[0]!.tenant,
        transport: "grpc",
      }),
      20,
    );
  } finally {
    client.close();
  }
});
