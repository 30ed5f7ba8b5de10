/**
 * The otlp receiver's warm-up at start (`_warm_up.ts`): it runs each signal's receive path on a
 * request of its own, and none of that reaches the pipeline.
 */
import assert from "node:assert/strict";
import { startHarness, tracesProto } from "./_helpers.ts";

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
