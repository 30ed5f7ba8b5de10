/**
 * The span-derived connectors in a running service: one traces pipeline feeds `span_metrics`,
 * `count` and `servicegraph`, whose metrics pipelines end in recorders; the data arrives encoded,
 * as from a receiver.
 */
import assert from "node:assert/strict";
import { OTLP_SIGNALS } from "../../../lib/otlp/signals.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { MetricsData } from "../../../lib/pdata/types.ts";
import { createTestKit } from "../../fixtures/graph_kit.ts";
import { recorded, startService, waitFor } from "../../fixtures/interop/services.ts";
import { mixedTraces } from "./_span_data.ts";

const YAML = `
receivers:
  testrcv:
exporters:
  recorder/sm:
  recorder/count:
  recorder/sg:
connectors:
  spanmetrics:
    aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA
    metrics_flush_interval: 100ms
  count:
  servicegraph:
    metrics_flush_interval: 0
    store: { ttl: 100ms }
    store_expiration_loop: 100ms
service:
  pipelines:
    traces: { receivers: [testrcv], exporters: [spanmetrics, count, servicegraph] }
    metrics/sm: { receivers: [spanmetrics], exporters: [recorder/sm] }
    metrics/count: { receivers: [count], exporters: [recorder/count] }
    metrics/sg: { receivers: [servicegraph], exporters: [recorder/sg] }
`;

function names(data: MetricsData[]): string[] {
  return [
    ...new Set(
      data.flatMap((d) =>
        d.resourceMetrics.flatMap((rm) =>
          rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name))
        )
      ),
    ),
  ].sort();
}

function sumOf(data: MetricsData[], name: string): bigint {
  let total = 0n;
  for (const d of data) {
    for (const rm of d.resourceMetrics) {
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          if (m.name !== name || m.data?.type !== "sum") continue;
          for (const p of m.data.dataPoints) total += BigInt(p.value ?? 0);
        }
      }
    }
  }
  return total;
}

Deno.test("span_metrics, count and servicegraph run side by side on one traces pipeline", async () => {
  const kit = createTestKit();
  await using svc = await startService(YAML, { kit });
  const bytes = OTLP_SIGNALS.traces.encodeProto(mixedTraces());
  await kit.receivers.get("testrcv")!.push(
    Payload.fromProto("traces", bytes, OTLP_SIGNALS.traces.proto),
  );
  await waitFor("span metrics", () => recorded(kit, "recorder/sm", "metrics").length > 0, 10_000);
  const sm = recorded(kit, "recorder/sm", "metrics");
  assert.deepEqual(names(sm), ["traces.span.metrics.calls", "traces.span.metrics.duration"]);
  // 180 spans with service.name; sampled ones count more (th:8 counts 2, th:c counts 4).
  assert.ok(sumOf(sm, "traces.span.metrics.calls") > 180n);
  const count = recorded(kit, "recorder/count", "metrics");
  // Every span, the one without service.name included.
  assert.equal(sumOf(count, "trace.span.count"), 181n);
  // No span pair matches in the mixed traces: after store.ttl the edges become virtual nodes
  // (root server spans get the client "user"); with metrics_flush_interval 0 they are sent with
  // the next batch.
  const empty = { resourceSpans: [] };
  await waitFor("service graph edges", async () => {
    await kit.receivers.get("testrcv")!.push(Payload.of("traces", empty));
    return recorded(kit, "recorder/sg", "metrics").length > 0;
  }, 10_000);
  const sg = recorded(kit, "recorder/sg", "metrics").at(-1)!;
  assert.equal(sg.resourceMetrics[0]?.scopeMetrics[0]?.scope.name, "traces_service_graph");
  const total = sg.resourceMetrics[0]!.scopeMetrics[0]!.metrics.find((m) =>
    m.name === "traces_service_graph_request_total"
  );
  assert.ok(total?.data?.type === "sum");
  const clients = total.data.dataPoints.map((p) =>
    p.attributes.find((kv) => kv.key === "client")?.value
  );
  assert.ok(clients.includes("user"), JSON.stringify(clients));
  void svc;
});
