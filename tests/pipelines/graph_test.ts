import assert from "node:assert/strict";
import { asFactory, type Exporter, type Factory } from "../../components/component.ts";
import { batchFactory } from "../../components/processor/batch/factory.ts";
import { forwardFactory } from "../../components/connector/forward/factory.ts";
import { otlpReceiverFactory } from "../../components/receiver/otlp/factory.ts";
import { loadConfig, type ResolvedConfig } from "../../pipelines/config.ts";
import { validateConfig } from "../../pipelines/validate.ts";
import { Service, StartError } from "../../pipelines/service.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../lib/telemetry/metrics.ts";
import type { Consumer } from "../../lib/consumer/consumer.ts";
import { createTestKit, type TestKit, tracesPayload } from "../fixtures/graph_kit.ts";
import { freePort } from "../fixtures/interop/services.ts";

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

async function startService(yaml: string, kit: TestKit = createTestKit()) {
  const factories = [...kit.factories, asFactory(batchFactory), asFactory(forwardFactory)];
  const registry = new MetricRegistry();
  const service = new Service({
    config: await configFrom(yaml, factories),
    logger: NOOP_LOGGER,
    registry,
    buildInfo: { command: "tfo", version: "test" },
  });
  await service.start();
  return { service, kit, registry };
}

Deno.test("a receiver listed in two pipelines is one instance feeding both", async () => {
  const { service, kit } = await startService(`
receivers:
  testrcv:
exporters:
  recorder/a:
  recorder/b:
service:
  pipelines:
    traces/one: { receivers: [testrcv], exporters: [recorder/a] }
    traces/two: { receivers: [testrcv], exporters: [recorder/b] }
`);
  assert.equal(kit.events.filter((e) => e === "start receiver/testrcv").length, 1);
  await kit.receivers.get("testrcv")!.push(tracesPayload("s1", "s2"));
  assert.deepEqual(kit.recordings.get("recorder/a")!.spanNames, ["s1", "s2"]);
  assert.deepEqual(kit.recordings.get("recorder/b")!.spanNames, ["s1", "s2"]);
  await service.shutdown();
});

Deno.test("fan-out gives a mutating exporter its own copy: the read-only exporter sees unmodified data", async () => {
  const { service, kit } = await startService(`
receivers:
  testrcv:
exporters:
  recorder/reader:
  recorder/writer:
    mutate: true
service:
  pipelines:
    traces: { receivers: [testrcv], exporters: [recorder/writer, recorder/reader] }
`);
  const payload = tracesPayload("span");
  await kit.receivers.get("testrcv")!.push(payload);
  assert.deepEqual(kit.recordings.get("recorder/writer")!.spanNames, [
    "span!mutated-by-recorder/writer",
  ]);
  assert.deepEqual(kit.recordings.get("recorder/reader")!.spanNames, ["span"]);
  const seenByReader = kit.recordings.get("recorder/reader")!.payloads[0]!;
  assert.equal(seenByReader, payload, "the reader shares the original, uncopied");
  assert.equal(payload.read().resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name, "span");
  await service.shutdown();
});

Deno.test("a receiver shared by a mutating and a read-only pipeline keeps the read-only one intact", async () => {
  const { service, kit } = await startService(`
receivers:
  testrcv:
processors:
  renamer:
    suffix: "+renamed"
exporters:
  recorder/plain:
  recorder/renamed:
service:
  pipelines:
    traces/plain: { receivers: [testrcv], exporters: [recorder/plain] }
    traces/renamed: { receivers: [testrcv], processors: [renamer], exporters: [recorder/renamed] }
`);
  await kit.receivers.get("testrcv")!.push(tracesPayload("x"));
  assert.deepEqual(kit.recordings.get("recorder/plain")!.spanNames, ["x"]);
  assert.deepEqual(kit.recordings.get("recorder/renamed")!.spanNames, ["x+renamed"]);
  await service.shutdown();
});

Deno.test("a forward connector carries traces from one traces pipeline into another", async () => {
  const { service, kit } = await startService(`
receivers:
  testrcv:
processors:
  renamer/in:
    suffix: "+in"
  renamer/out:
    suffix: "+out"
exporters:
  recorder/first:
  recorder/second:
connectors:
  forward:
service:
  pipelines:
    traces/in: { receivers: [testrcv], processors: [renamer/in], exporters: [recorder/first, forward] }
    traces/out: { receivers: [forward], processors: [renamer/out], exporters: [recorder/second] }
`);
  await kit.receivers.get("testrcv")!.push(tracesPayload("t"));
  assert.deepEqual(kit.recordings.get("recorder/first")!.spanNames, ["t+in"]);
  assert.deepEqual(kit.recordings.get("recorder/second")!.spanNames, ["t+in+out"]);
  await service.shutdown();
});

Deno.test("components start downstream first and stop upstream first", async () => {
  const { service, kit } = await startService(`
receivers:
  testrcv:
processors:
  renamer/1:
  renamer/2:
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [testrcv], processors: [renamer/1, renamer/2], exporters: [recorder] }
`);
  await service.shutdown();
  assert.deepEqual(kit.events, [
    "start exporter/recorder",
    "start processor/renamer/2",
    "start processor/renamer/1",
    "start receiver/testrcv",
    "stop receiver/testrcv",
    "stop processor/renamer/1",
    "stop processor/renamer/2",
    "stop exporter/recorder",
  ]);
});

Deno.test("a component that cannot start is named, and what started is stopped again", async () => {
  const kit = createTestKit();
  const factories = [...kit.factories];
  const service = new Service({
    config: await configFrom(
      `
receivers:
  testrcv:
    fail_start: true
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [testrcv], exporters: [recorder] }
`,
      factories,
    ),
    logger: NOOP_LOGGER,
    buildInfo: { command: "tfo", version: "test" },
  });
  await assert.rejects(service.start(), (error: unknown) => {
    assert.ok(error instanceof StartError);
    assert.match(error.message, /Cannot start receiver "testrcv": address already in use/);
    return true;
  });
  assert.deepEqual(kit.events, [
    "start exporter/recorder",
    "start receiver/testrcv",
    "stop receiver/testrcv",
    "stop exporter/recorder",
  ]);
  assert.equal(service.status, "stopped");
});

Deno.test("a start error names the component once, even when the component named itself", async () => {
  const kit = createTestKit();
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  const service = new Service({
    config: await configFrom(
      `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [recorder] }
`,
      [...kit.factories, asFactory(otlpReceiverFactory)],
    ),
    logger: NOOP_LOGGER,
    buildInfo: { command: "tfo", version: "test" },
  });
  try {
    await assert.rejects(service.start(), (error: unknown) => {
      assert.ok(error instanceof StartError);
      assert.equal(
        error.message,
        `Cannot start receiver "otlp": cannot listen on 127.0.0.1:${port}: address already in use`,
      );
      return true;
    });
  } finally {
    busy.close();
  }
});

Deno.test("the service's beforeReceivers hook runs once, after the exporters started and before a receiver listens", async () => {
  const kit = createTestKit();
  const port = freePort();
  const listening = () =>
    Deno.connect({ hostname: "127.0.0.1", port }).then((c) => (c.close(), true), () => false);
  const seen: { listening: boolean; exporterTakes: boolean }[] = [];
  const service = new Service({
    config: await configFrom(
      `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [recorder] }
    logs: { receivers: [otlp], exporters: [recorder] }
`,
      [...kit.factories, asFactory(otlpReceiverFactory)],
    ),
    logger: NOOP_LOGGER,
    buildInfo: { command: "tfo", version: "test" },
    beforeReceivers: async () => {
      const exporter = service.graph!.nodes.find((n) => n.kind === "exporter")!;
      const traces = (exporter.component as Exporter).consumers.traces as Consumer<"traces">;
      const exporterTakes = await traces.consume(tracesPayload("early")).then(
        () => true,
        () => false,
      );
      seen.push({ listening: await listening(), exporterTakes });
    },
  });
  await service.start();
  try {
    assert.deepEqual(seen, [{ listening: false, exporterTakes: true }]);
    assert.ok(await listening(), "the receiver listens once started");
  } finally {
    await service.shutdown();
  }
});

Deno.test("self-telemetry counts accepted, processed, sent and failed items per component", async () => {
  const { service, kit, registry } = await startService(`
receivers:
  testrcv:
processors:
  batch:
    timeout: 0
exporters:
  recorder/ok:
  recorder/broken:
    fail: permanent
service:
  pipelines:
    traces/ok: { receivers: [testrcv], processors: [batch], exporters: [recorder/ok] }
    traces/broken: { receivers: [testrcv], exporters: [recorder/broken] }
`);
  await assert.rejects(kit.receivers.get("testrcv")!.push(tracesPayload("a", "b", "c")));
  assert.equal(
    registry.value("otelcol_receiver_refused_spans", { receiver: "testrcv", transport: "" }),
    3,
  );
  assert.equal(registry.value("otelcol_exporter_sent_spans", { exporter: "recorder/ok" }), 3);
  assert.equal(
    registry.value("otelcol_exporter_send_failed_spans", { exporter: "recorder/broken" }),
    3,
  );
  assert.equal(
    registry.value("otelcol_processor_incoming_items", {
      processor: "batch",
      otel_signal: "traces",
    }),
    3,
  );
  assert.equal(
    registry.value("otelcol_processor_outgoing_items", {
      processor: "batch",
      otel_signal: "traces",
    }),
    3,
  );
  await service.shutdown();
});

Deno.test("shutdown drains data held by the batch processor to the exporter", async () => {
  const { service, kit } = await startService(`
receivers:
  testrcv:
processors:
  batch:
    timeout: 1h
exporters:
  recorder:
    delay_ms: 20
service:
  pipelines:
    traces: { receivers: [testrcv], processors: [batch], exporters: [recorder] }
`);
  const accepted = kit.receivers.get("testrcv")!.push(tracesPayload("held"));
  assert.deepEqual(kit.recordings.get("recorder")!.spanNames, []);
  await service.shutdown();
  await accepted;
  assert.deepEqual(kit.recordings.get("recorder")!.spanNames, ["held"]);
});
