/** Which configs get the bigger young generation (`pipelines/young_generation.ts`). */
import assert from "node:assert/strict";
import type { ResolvedConfig } from "../../pipelines/config.ts";
import { largeYoungGenerationReason } from "../../pipelines/young_generation.ts";

/** A resolved config of one traces pipeline: the fields the rule reads. */
function configWith(
  processors: Record<string, string>,
  connectors: Record<string, string> = {},
  workers?: number,
): ResolvedConfig {
  const entries = (m: Record<string, string>) =>
    new Map(Object.entries(m).map(([id, type]) => [id, { id, type }]));
  return {
    processors: entries(processors),
    connectors: entries(connectors),
    service: {
      ...(workers === undefined ? {} : { workers }),
      pipelines: new Map([["traces", {
        id: "traces",
        signal: "traces",
        receivers: ["otlp", ...Object.keys(connectors)],
        processors: Object.keys(processors),
        exporters: ["otlp_grpc", ...Object.keys(connectors)],
      }]]),
    },
  } as unknown as ResolvedConfig;
}

Deno.test("the agent's pipeline keeps the shipped young generation", () => {
  const agent = configWith({
    memory_limiter: "memory_limiter",
    resourcedetection: "resourcedetection",
    batch: "batch",
  });
  assert.equal(largeYoungGenerationReason(agent), undefined);
});

Deno.test("a decoding processor, a decoding connector or several workers get the bigger one", () => {
  assert.equal(
    largeYoungGenerationReason(configWith({ batch: "batch", "transform/rename": "transform" })),
    'processor "transform/rename" decodes every item',
  );
  assert.equal(
    largeYoungGenerationReason(configWith({ batch: "batch" }, { spanmetrics: "span_metrics" })),
    'connector "spanmetrics" decodes every item',
  );
  assert.equal(
    largeYoungGenerationReason(configWith({ batch: "batch" }, {}, 2)),
    "service.workers is 2",
  );
});

Deno.test("a processor defined but in no pipeline does not count", () => {
  const config = configWith({ batch: "batch" });
  config.processors.set("filter", { id: "filter", type: "filter" } as never);
  assert.equal(largeYoungGenerationReason(config), undefined);
});
