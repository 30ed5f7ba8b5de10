import assert from "node:assert/strict";
import { asFactory, type Factory } from "../../components/component.ts";
import { batchFactory } from "../../components/processor/batch/factory.ts";
import { forwardFactory } from "../../components/connector/forward/factory.ts";
import { routingFactory } from "../../components/connector/routing/factory.ts";
import { loadConfig, type ResolvedConfig } from "../../pipelines/config.ts";
import { validateConfig } from "../../pipelines/validate.ts";
import { Service } from "../../pipelines/service.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import { createTestKit, tracesPayload } from "../fixtures/graph_kit.ts";

async function configFrom(yaml: string, factories: readonly Factory[]): Promise<ResolvedConfig> {
  const { raw, diagnostics } = await loadConfig({
    files: [],
    texts: [{ name: "test.yaml", text: yaml }],
  });
  assert.deepEqual(diagnostics.filter((d) => d.severity === "error"), []);
  const result = validateConfig(raw!, factories);
  assert.deepEqual(result.diagnostics.filter((d) => d.severity === "error"), []);
  return result.config!;
}

async function startService(yaml: string) {
  const kit = createTestKit();
  const factories = [
    ...kit.factories,
    asFactory(batchFactory),
    asFactory(forwardFactory),
    asFactory(routingFactory),
  ];
  const service = new Service({
    config: await configFrom(yaml, factories),
    logger: NOOP_LOGGER,
    buildInfo: { command: "tfo", version: "test" },
  });
  await service.start();
  return { service, kit };
}

/** Items counted per drawn edge, only edges that carried something. */
function carried(service: Service): Record<string, number> {
  const drawn = new Set(service.view().graph().edges.map((e) => e.key));
  const out: Record<string, number> = {};
  for (const [key, count] of service.view().edgeCounts()) {
    assert.ok(drawn.has(key), `counted edge ${key} is drawn`);
    if (count.items > 0) out[key] = count.items;
  }
  return out;
}

Deno.test("edges out of a routing connector are counted per routed pipeline and drawn", async () => {
  const { service, kit } = await startService(`
receivers:
  testrcv:
processors:
  renamer/prod:
    suffix: "+p"
exporters:
  recorder/prod:
  recorder/other:
connectors:
  routing:
    default_pipelines: [traces/other]
    table:
      - context: span
        condition: name == "prod"
        pipelines: [traces/prod]
service:
  pipelines:
    traces/in: { receivers: [testrcv], exporters: [routing] }
    traces/prod: { receivers: [routing], processors: [renamer/prod], exporters: [recorder/prod] }
    traces/other: { receivers: [routing], exporters: [recorder/other] }
`);
  try {
    await kit.receivers.get("testrcv")!.push(tracesPayload("prod", "a", "b"));
    await kit.receivers.get("testrcv")!.push(tracesPayload("prod"));
    assert.deepEqual(kit.recordings.get("recorder/prod")!.spanNames, ["prod+p", "prod+p"]);
    assert.deepEqual(kit.recordings.get("recorder/other")!.spanNames, ["a", "b"]);
    assert.deepEqual(carried(service), {
      "receiver:testrcv->connector:routing:traces": 4,
      "connector:routing->processor:traces/prod:renamer/prod:traces": 2,
      "processor:traces/prod:renamer/prod->exporter:recorder/prod:traces": 2,
      "connector:routing->exporter:recorder/other:traces": 2,
    });
  } finally {
    await service.shutdown();
  }
});

Deno.test("a forward connector feeding two pipelines counts both edges", async () => {
  const { service, kit } = await startService(`
receivers:
  testrcv:
exporters:
  recorder/a:
  recorder/b:
connectors:
  forward:
service:
  pipelines:
    traces/in: { receivers: [testrcv], exporters: [forward] }
    traces/a: { receivers: [forward], exporters: [recorder/a] }
    traces/b: { receivers: [forward], processors: [], exporters: [recorder/b] }
`);
  try {
    await kit.receivers.get("testrcv")!.push(tracesPayload("x", "y"));
    assert.deepEqual(carried(service), {
      "receiver:testrcv->connector:forward:traces": 2,
      "connector:forward->exporter:recorder/a:traces": 2,
      "connector:forward->exporter:recorder/b:traces": 2,
    });
  } finally {
    await service.shutdown();
  }
});
