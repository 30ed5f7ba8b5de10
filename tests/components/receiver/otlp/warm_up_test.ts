/**
 * The otlp receiver's warm-up at start (`_warm_up.ts`): it runs each signal's receive path on
 * requests of its own — over loopback, through throwaway servers of each protocol — and none of
 * that reaches the pipeline or the receiver's metrics.
 */
import assert from "node:assert/strict";
import { createOtlpReceiver } from "../../../../components/receiver/otlp/factory.ts";
import { otlpConfigSchema } from "../../../../components/receiver/otlp/config.ts";
import type { SignalConsumers } from "../../../../lib/consumer/consumer.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { collectingLogger, recorder, startHarness, testHost, tracesProto } from "./_helpers.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** The fields of the receiver's "Warmed up the receive path" log line. */
function warmUpLine(lines: readonly string[]): Record<string, unknown> {
  const line = lines.find((l) => l.includes("Warmed up the receive path"));
  assert.ok(line !== undefined, `no warm-up line in:\n${lines.join("\n")}`);
  return JSON.parse(line) as Record<string, unknown>;
}

Deno.test("otlp receiver's warm-up at start hands nothing to the pipeline", async () => {
  await using harness = await startHarness();
  for (const signal of ["traces", "metrics", "logs"] as const) {
    assert.equal(harness.sinks[signal].payloads.length, 0, `${signal}: nothing consumed`);
  }
  // The first real request is received as usual.
  const response = await fetch(`${harness.httpBase}/v1/traces`, {
    method: "POST",
    body: tracesProto("first"),
    headers: { "content-type": "application/x-protobuf" },
  });
  await response.body?.cancel();
  assert.equal(response.status, 200);
  assert.equal(harness.sinks.traces.payloads.length, 1);
});

Deno.test("otlp receiver's warm-up sends every signal over each protocol, and each is answered", async () => {
  await using both = await startHarness();
  // gRPC: gzip and identity; HTTP: gzip with a length, gzip chunked, identity, JSON.
  const line = warmUpLine(both.logs);
  assert.equal(line.sent, 18, JSON.stringify(line));
  assert.equal(line.answered, 18, JSON.stringify(line));
  assert.equal(line.error, undefined);

  await using grpcOnly = await startHarness({ grpc: null }, ["logs"]);
  assert.deepEqual(
    [warmUpLine(grpcOnly.logs).sent, warmUpLine(grpcOnly.logs).answered],
    [2, 2],
  );
});

Deno.test("otlp receiver's warm-up leaves the receiver's metrics at zero", async () => {
  const registry = new MetricRegistry();
  const lines: string[] = [];
  const sinks = { traces: recorder<"traces">(), metrics: recorder<"metrics">() };
  const next: SignalConsumers = sinks;
  const receiver = createOtlpReceiver({
    id: "otlp",
    config: otlpConfigSchema.parse({
      protocols: { grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "127.0.0.1:0" } },
    }),
    logger: collectingLogger(lines),
    meter: registry.meter({ receiver: "otlp" }),
    buildInfo: { command: "tfo", version: "test" },
  }, next);
  await receiver.start(testHost());
  try {
    assert.equal(warmUpLine(lines).answered, 12);
    const text = registry.render();
    const series = [...text.matchAll(/^otelcol_receiver_\w+\{[^}]*\} (\S+)$/gm)];
    assert.ok(series.length >= 4, text); // accepted and refused, per signal and transport
    for (const match of series) assert.equal(match[1], "0", `after the warm-up: ${match[0]}`);
    assert.equal(sinks.traces.payloads.length + sinks.metrics.payloads.length, 0);
  } finally {
    await receiver.shutdown();
  }
});
