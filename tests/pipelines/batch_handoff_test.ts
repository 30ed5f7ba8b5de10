import assert from "node:assert/strict";
import { BUILTIN_FACTORIES } from "../../components/builtin_factories.ts";
import { loadAndValidateConfig } from "../../pipelines/validate.ts";
import { formatDiagnostic } from "../../pipelines/diagnostics.ts";
import { planBatchHandoff, processorKey } from "../../pipelines/_batch_handoff.ts";
import { buildGraph } from "../../pipelines/graph.ts";
import {
  HANDED_BATCHES,
  queueBatchSettings,
  type SendingQueueConfig,
} from "../../lib/exporterhelper/exporter_helper.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../lib/telemetry/metrics.ts";

async function load(text: string) {
  const { config, diagnostics } = await loadAndValidateConfig(
    { files: [], texts: [{ name: "c.yaml", text }], env: {}, set: [] },
    BUILTIN_FACTORIES,
  );
  assert.ok(config, diagnostics.map(formatDiagnostic).join("\n"));
  const batchWarnings = diagnostics.filter((d) =>
    !d.message.includes("defined but") && !d.message.includes("is an old name")
  );
  return { config, warnings: batchWarnings.map(formatDiagnostic) };
}

const COMPONENTS = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
processors:
  batch:
    timeout: 10s
    send_batch_size: 8192
    send_batch_max_size: 10000
    metadata_keys: [X-Tenant]
  batch/fast:
    timeout: 1s
  memory_limiter:
    check_interval: 1s
    limit_mib: 512
exporters:
  otlp:
    endpoint: 127.0.0.1:14317
  otlphttp:
    endpoint: http://127.0.0.1:14318
  otlphttp/own:
    endpoint: http://127.0.0.1:14318
    sending_queue:
      batch:
        flush_timeout: 2s
  otlp/direct:
    endpoint: 127.0.0.1:14317
    sending_queue:
      enabled: false
  debug: {}
connectors:
  forward: {}
`;

Deno.test("a last batch processor before queued exporters hands its settings to their queues", async () => {
  const { config, warnings } = await load(`${COMPONENTS}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp, otlphttp, otlphttp/own]
`);
  assert.deepEqual(warnings, []);
  const plan = planBatchHandoff(config);
  assert.ok(plan.handedOff.has(processorKey("traces", 1)));
  const settings = {
    flushTimeoutMs: 10_000,
    minSize: 8192,
    maxSize: 10_000,
    sizer: "items",
    metadataKeys: ["x-tenant"],
  };
  assert.deepEqual(plan.exporterBatches.get("otlp"), { traces: settings });
  assert.deepEqual(plan.exporterBatches.get("otlphttp"), { traces: settings });
  assert.equal(plan.exporterBatches.has("otlphttp/own"), false, "its own batch settings win");
});

Deno.test("tfo validate warns, with the position, where a batch processor cannot be durable", async () => {
  const { config, warnings } = await load(`${COMPONENTS}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch, memory_limiter]
      exporters: [otlp]
    traces/debug:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp, debug]
    traces/direct:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp/direct]
    traces/connector:
      receivers: [otlp]
      processors: [batch]
      exporters: [forward]
    traces/after:
      receivers: [forward]
      exporters: [otlp]
`);
  const plan = planBatchHandoff(config);
  assert.deepEqual(
    [...plan.handedOff],
    [processorKey("traces/debug", 0)],
    "debug takes data as is",
  );
  assert.equal(warnings.length, 3, warnings.join("\n"));
  const patterns = [
    /traces\/direct.*exporter "otlp\/direct" has its sending_queue disabled/,
    /traces\/connector.*connector "forward" follows it/,
    /pipeline "traces", position 1 of 2.*processor "memory_limiter" follows it/,
  ];
  for (const pattern of patterns) {
    assert.ok(warnings.some((w) => pattern!.test(w)), `${pattern}\n${warnings.join("\n")}`);
  }
  assert.ok(warnings.every((w) => /lost on a crash/.test(w) && /^c\.yaml:\d+:\d+/.test(w)));
});

Deno.test("an exporter shared by pipelines with different batch settings takes the first and warns", async () => {
  const { config, warnings } = await load(`${COMPONENTS}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp]
    traces/2:
      receivers: [otlp]
      processors: [batch/fast]
      exporters: [otlp]
    logs:
      receivers: [otlp]
      processors: [batch/fast]
      exporters: [otlp]
`);
  const plan = planBatchHandoff(config);
  assert.equal(plan.exporterBatches.get("otlp")?.traces?.flushTimeoutMs, 10_000);
  assert.equal(plan.exporterBatches.get("otlp")?.logs?.flushTimeoutMs, 1000, "per signal");
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0]!, /traces\/2.*already batches traces/);
});

Deno.test("the graph gives a handed-off batch processor's settings to the exporter's queue config", async () => {
  const { config } = await load(`${COMPONENTS}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp]
    metrics:
      receivers: [otlp]
      processors: [batch, memory_limiter]
      exporters: [otlp]
`);
  const graph = buildGraph(config, {
    logger: NOOP_LOGGER,
    registry: new MetricRegistry(),
    buildInfo: { command: "tfo", version: "test" },
  });
  const exporter = graph.nodes.find((n) => n.kind === "exporter" && n.id === "otlp")!;
  const queue = (exporter.spec.config as { sending_queue: SendingQueueConfig }).sending_queue;
  assert.deepEqual((queue as unknown as Record<string, unknown>)[HANDED_BATCHES], {
    traces: {
      flushTimeoutMs: 10_000,
      minSize: 8192,
      maxSize: 10_000,
      sizer: "items",
      metadataKeys: ["x-tenant"],
    },
  });
  assert.equal(queueBatchSettings(queue, "traces")?.flushTimeoutMs, 10_000);
  assert.equal(
    queueBatchSettings(queue, "metrics"),
    undefined,
    "metrics keep their batch processor (a processor follows it)",
  );
});
