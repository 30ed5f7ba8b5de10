import assert from "node:assert/strict";
import type { Component, Kind } from "../../components/component.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import type { GraphNode } from "../../pipelines/graph.ts";
import { drainNodes } from "../../pipelines/_lifecycle.ts";

function node(kind: Kind, id: string, events: string[], stopMs = 0): GraphNode {
  const component: Component = {
    start: () => Promise.resolve(),
    async shutdown() {
      events.push(`${id} stopping`);
      await new Promise((r) => setTimeout(r, stopMs));
      events.push(`${id} stopped`);
    },
  };
  return { kind, id, component, spec: { factory: {} as never, config: {}, signals: [] } };
}

Deno.test("a drain stops every receiver first and waits for them before processors, exporters and extensions", async () => {
  const events: string[] = [];
  // Start order: extensions, exporters, processors, receivers last.
  const nodes = [
    node("extension", "file_storage", events),
    node("exporter", "otlp", events),
    node("processor", "batch", events),
    node("receiver", "otlp", events, 30),
    node("receiver", "hostmetrics", events, 60),
  ];
  assert.equal(await drainNodes(nodes, Date.now() + 5000, NOOP_LOGGER), true);
  const at = (e: string) => events.indexOf(e);
  assert.ok(at("batch stopping") > at("otlp stopped"), events.join(", "));
  assert.ok(at("batch stopping") > at("hostmetrics stopped"), events.join(", "));
  assert.ok(at("otlp stopping") < at("hostmetrics stopped"), "receivers stop together");
  assert.deepEqual(
    events.filter((e) => e.endsWith("stopping")).slice(2),
    ["batch stopping", "otlp stopping", "file_storage stopping"],
  );
});
