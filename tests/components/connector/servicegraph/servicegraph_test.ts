/**
 * The `servicegraph` connector on fake time: client/server pairs, database and messaging edges,
 * virtual nodes, failures, dimensions, the store's bound and expiry, stale series.
 */
import assert from "node:assert/strict";
import { servicegraphConfigSchema } from "../../../../components/connector/servicegraph/config.ts";
import { createServicegraphConnector } from "../../../../components/connector/servicegraph/factory.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newSpan } from "../../../../lib/pdata/new.ts";
import type {
  HistogramDataPoint,
  KeyValue,
  Metric,
  MetricsData,
  NumberDataPoint,
  Span,
  TracesData,
} from "../../../../lib/pdata/types.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { FakeClock } from "../../../fixtures/fake_clock.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const MS = 1_000_000n;
const id = (n: number, len: number) => new Uint8Array(len).fill(n);

function resource(
  service: string,
  spans: Span[],
  attrs: KeyValue[] = [],
): TracesData["resourceSpans"][0] {
  return {
    resource: {
      attributes: [{ key: "service.name", value: service }, ...attrs],
      droppedAttributesCount: 0,
    },
    scopeSpans: [{
      scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
      spans,
      schemaUrl: "",
    }],
    schemaUrl: "",
  };
}

function span(
  kind: number,
  trace: number,
  spanId: number,
  parent: number,
  ms: number,
  init: Partial<Span> = {},
): Span {
  return newSpan({
    kind,
    traceId: id(trace, 16),
    spanId: id(spanId, 8),
    parentSpanId: parent === 0 ? new Uint8Array(0) : id(parent, 8),
    startTimeUnixNano: 1000n * MS,
    endTimeUnixNano: 1000n * MS + BigInt(ms) * MS,
    ...init,
  });
}

function setup(config: Record<string, unknown>) {
  const clock = new FakeClock();
  const out: MetricsData[] = [];
  const registry = new MetricRegistry();
  const c = createServicegraphConnector(servicegraphConfigSchema.parse(config), {
    mutatesData: false,
    consume: (p) => {
      out.push(p.read());
      return Promise.resolve();
    },
  }, { clock, meter: registry.meter() });
  const send = (...rs: TracesData["resourceSpans"]) =>
    c.consumers.traces!.consume(Payload.of("traces", { resourceSpans: rs }));
  return { clock, out, c, send, registry };
}

function metric(d: MetricsData | undefined, name: string): Metric | undefined {
  return d?.resourceMetrics[0]?.scopeMetrics[0]?.metrics.find((m) => m.name === name);
}

function attrs(p: { attributes: KeyValue[] }): Record<string, unknown> {
  return Object.fromEntries(p.attributes.map((kv) => [kv.key, kv.value]));
}

Deno.test("servicegraph pairs a client span with its server span into one edge", async () => {
  const { clock, out, c, send, registry } = setup({
    metrics_flush_interval: "1s",
    dimensions: ["http.method"],
  });
  await c.start({} as never);
  await send(
    resource("frontend", [
      span(3, 1, 10, 0, 30, { attributes: [{ key: "http.method", value: "GET" }] }),
      span(3, 2, 20, 0, 50, { status: { code: 2, message: "" } }),
    ]),
  );
  await send(resource("backend", [span(2, 1, 11, 10, 20), span(2, 2, 21, 20, 40)]));
  await clock.advance(1000);
  const total = metric(out.at(-1), "traces_service_graph_request_total")!.data!
    .dataPoints as NumberDataPoint[];
  assert.equal(total.length, 2);
  const ok = total.find((p) => attrs(p).failed === false)!;
  assert.deepEqual(attrs(ok), {
    client: "frontend",
    server: "backend",
    connection_type: "",
    failed: false,
    "client_http.method": "GET",
  });
  assert.equal(ok.value, 1n);
  const failed = metric(out.at(-1), "traces_service_graph_request_failed_total")!.data!
    .dataPoints as NumberDataPoint[];
  assert.equal(failed.length, 1);
  assert.equal(attrs(failed[0]!).failed, true);
  const server = metric(out.at(-1), "traces_service_graph_request_server")!;
  assert.equal(server.unit, "s");
  const sp = (server.data!.dataPoints as HistogramDataPoint[]).find((p) =>
    attrs(p).failed === false
  )!;
  assert.equal(sp.sum, 0.02);
  const client = metric(out.at(-1), "traces_service_graph_request_client")!.data!
    .dataPoints as HistogramDataPoint[];
  assert.equal(client.find((p) => attrs(p).failed === false)!.sum, 0.03);
  assert.equal(registry.value("otelcol_connector_servicegraph_total_edges"), 2);
  await c.shutdown();
});

Deno.test("servicegraph: a client span with db.name is a database edge by itself; producer/consumer is messaging", async () => {
  const { clock, out, c, send } = setup({ metrics_flush_interval: "1s" });
  await c.start({} as never);
  await send(
    resource("api", [
      span(3, 1, 10, 0, 5, { attributes: [{ key: "db.name", value: "orders" }] }),
      span(4, 2, 20, 0, 5),
    ]),
    resource("worker", [span(5, 2, 21, 20, 7)]),
  );
  await clock.advance(1000);
  const total = metric(out.at(-1), "traces_service_graph_request_total")!.data!
    .dataPoints as NumberDataPoint[];
  const edges = total.map((p) =>
    `${attrs(p).client}->${attrs(p).server}:${attrs(p).connection_type}`
  ).sort();
  assert.deepEqual(edges, ["api->orders:database", "api->worker:messaging_system"]);
  await c.shutdown();
});

Deno.test("servicegraph: unpaired edges expire into virtual nodes (user for roots, the peer for clients)", async () => {
  const { clock, out, c, send, registry } = setup({
    metrics_flush_interval: "10s",
    store: { ttl: "2s" },
    virtual_node_extra_label: true,
  });
  await c.start({} as never);
  await send(
    resource("gateway", [span(2, 1, 10, 0, 5)]),
    resource("api", [
      span(3, 2, 20, 0, 5, { attributes: [{ key: "peer.service", value: "payments" }] }),
      span(3, 3, 30, 0, 5),
      span(2, 4, 40, 39, 5),
    ]),
  );
  await clock.advance(10_000);
  const total = metric(out.at(-1), "traces_service_graph_request_total")!.data!
    .dataPoints as NumberDataPoint[];
  const edges = total.map((p) => `${attrs(p).client}->${attrs(p).server}:${attrs(p).virtual_node}`)
    .sort();
  // The server span with a parent that never came is dropped.
  assert.deepEqual(edges, ["api->payments:server", "api->unknown:server", "user->gateway:client"]);
  assert.ok(total.every((p) => attrs(p).connection_type === "virtual_node"));
  assert.equal(registry.value("otelcol_connector_servicegraph_expired_edges"), 4);
  await c.shutdown();
});

Deno.test("servicegraph bounds its store by max_items and counts the dropped spans", async () => {
  const { c, send, registry } = setup({ store: { max_items: 3 } });
  await c.start({} as never);
  await send(resource("a", [1, 2, 3, 4, 5].map((i) => span(3, i, i, 0, 1))));
  assert.equal(registry.value("otelcol_connector_servicegraph_dropped_spans"), 2);
  await c.shutdown();
});

Deno.test("servicegraph removes series not updated for 15 minutes", async () => {
  const { clock, out, c, send } = setup({ metrics_flush_interval: "1m", cache_loop: "1m" });
  await c.start({} as never);
  await send(resource("a", [span(3, 1, 1, 0, 1)]), resource("b", [span(2, 1, 2, 1, 1)]));
  await clock.advance(60_000);
  assert.equal(out.length, 1);
  await clock.advance(16 * 60_000);
  const sent = out.length;
  await clock.advance(5 * 60_000);
  assert.equal(out.length, sent, "no series left, nothing sent");
  await c.shutdown();
});

Deno.test("servicegraph flushes after every batch with metrics_flush_interval 0, and exponential histograms", async () => {
  const { out, c, send } = setup({ metrics_flush_interval: 0, exponential_histogram_max_size: 20 });
  await c.start({} as never);
  await send(resource("a", [span(3, 1, 1, 0, 1)]), resource("b", [span(2, 1, 2, 1, 3)]));
  assert.equal(out.length, 1);
  const m = metric(out[0], "traces_service_graph_request_server")!;
  assert.equal(m.data?.type, "exponentialHistogram");
  assert.equal(m.data.dataPoints[0]!.count, 1n);
  await c.shutdown();
});

Deno.test("servicegraph config: the Collector's checks", () => {
  const r = servicegraphConfigSchema.safeParse({
    latency_histogram_buckets: ["1s"],
    exponential_histogram_max_size: 10,
  });
  assert.ok(!r.success);
  assert.ok(!servicegraphConfigSchema.safeParse({ metrics_exporter: "x" }).success);
  const d = servicegraphConfigSchema.parse({});
  assert.equal(d.store.ttl, 2000);
  assert.equal(d.store.max_items, 1000);
  assert.equal(d.metrics_flush_interval, 60_000);
  assert.deepEqual(d.virtual_node_peer_attributes, ["peer.service", "db.name", "db.system"]);
  assert.deepEqual(
    servicegraphConfigSchema.parse({ latency_histogram_buckets: ["100ms", "1s"] })
      .latency_histogram_buckets,
    [0.1, 1],
  );
});
