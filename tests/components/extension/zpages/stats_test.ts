import assert from "node:assert/strict";
import { createStatsClock } from "../../../../components/extension/zpages/_stats.ts";
import type { EdgeCount, GraphView, ServiceView } from "../../../../lib/component/view.ts";

function fakeView(counts: Map<string, EdgeCount>, metrics = ""): ServiceView {
  const graph: GraphView = {
    nodes: [{ key: "exporter:otlp", kind: "exporter", id: "otlp", type: "otlp_grpc" }],
    edges: [],
    pipelines: [],
    components: new Map(),
    extensions: [],
  };
  return {
    status: () => "running",
    readySince: () => 0,
    graph: () => graph,
    edgeCounts: () => counts,
    logs: () => [],
    lastFailure: () => undefined,
    metricsText: () => metrics,
    tap: () => () => {},
  };
}

Deno.test("a new stats clock counts rates from its start, not from the service's", async () => {
  const counts = new Map([["a->b:traces", { items: 1_000_000, refused: 10, refusedBatches: 1 }]]);
  const frame = createStatsClock(fakeView(counts), () => 1);
  counts.get("a->b:traces")!.items += 100;
  // At once: no window to compute a rate over, so no spike from the totals.
  const first = frame();
  assert.equal(first.edges["a->b:traces"]!.itemsPerSecond, 0);
  assert.equal(first.edges["a->b:traces"]!.items, 1_000_100);
  await new Promise((resolve) => setTimeout(resolve, 120));
  const second = frame().edges["a->b:traces"]!;
  // The 100 items since the clock started, over at least 120 ms (at most the time this took).
  assert.ok(
    second.itemsPerSecond > 0 && second.itemsPerSecond <= 100 / 0.12,
    `${second.itemsPerSecond}`,
  );
  assert.equal(second.refusedPerSecond, 0);
});

Deno.test("a stats frame carries an exporter's queue age from the metrics", () => {
  const metrics = [
    'otelcol_exporter_queue_size{exporter="otlp",data_type="traces"} 3',
    'otelcol_exporter_queue_capacity{exporter="otlp",data_type="traces"} 1000',
    'tfo_exporter_queue_bytes{exporter="otlp",data_type="traces"} 4096',
    'tfo_exporter_queue_oldest_item_age{exporter="otlp",data_type="traces"} 12.5',
    "",
  ].join("\n");
  const node = createStatsClock(fakeView(new Map(), metrics), () => 1)().nodes["exporter:otlp"];
  assert.deepEqual(
    { size: node?.queueSize, bytes: node?.queueBytes, age: node?.queueAgeSeconds },
    { size: 3, bytes: 4096, age: 12.5 },
  );
});
