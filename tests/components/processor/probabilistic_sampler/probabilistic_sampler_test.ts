/**
 * The probabilistic sampler's config (defaults, errors) and behaviour that the differential test
 * does not pin by itself: the kept share, `sampling.priority`, fail-closed on missing randomness,
 * and the tracestate / attributes it writes.
 */
import assert from "node:assert/strict";
import { probabilisticSamplerConfigSchema } from "../../../../components/processor/probabilistic_sampler/config.ts";
import { createProbabilisticSampler } from "../../../../components/processor/probabilistic_sampler/factory.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newLogRecord, newResource, newScope, newSpan } from "../../../../lib/pdata/new.ts";
import type { LogRecord, Signal, Span } from "../../../../lib/pdata/types.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { probabilityToThreshold, thresholdToTValue } from "../../../../lib/sampling/threshold.ts";
import { parseW3CTraceState, serializeW3CTraceState } from "../../../../lib/sampling/tracestate.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function spans(n: number, init: (i: number) => Partial<Span> = () => ({})): Span[] {
  return Array.from({ length: n }, (_, i) => {
    const traceId = new Uint8Array(16);
    new DataView(traceId.buffer).setUint32(0, i * 2654435761);
    new DataView(traceId.buffer).setUint32(12, i * 40503 + 7);
    return newSpan({ traceId, spanId: new Uint8Array(8).fill(1), ...init(i) });
  });
}

async function run<S extends Signal>(
  signal: S,
  config: Record<string, unknown>,
  items: Span[] | LogRecord[],
): Promise<{ kept: (Span | LogRecord)[]; registry: MetricRegistry }> {
  const registry = new MetricRegistry();
  const kept: (Span | LogRecord)[] = [];
  const p = createProbabilisticSampler(probabilisticSamplerConfigSchema.parse(config), signal, {
    mutatesData: false,
    consume: (payload: Payload<S>) => {
      const d = payload.read() as never as {
        resourceSpans?: { scopeSpans: { spans: Span[] }[] }[];
        resourceLogs?: { scopeLogs: { logRecords: LogRecord[] }[] }[];
      };
      for (const rs of d.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans) kept.push(...ss.spans);
      }
      for (const rl of d.resourceLogs ?? []) {
        for (const sl of rl.scopeLogs) kept.push(...sl.logRecords);
      }
      return Promise.resolve();
    },
  }, registry.meter());
  const data = signal === "traces"
    ? {
      resourceSpans: [{
        resource: newResource(),
        scopeSpans: [{ scope: newScope(), spans: items as Span[], schemaUrl: "" }],
        schemaUrl: "",
      }],
    }
    : {
      resourceLogs: [{
        resource: newResource(),
        scopeLogs: [{ scope: newScope(), logRecords: items as LogRecord[], schemaUrl: "" }],
        schemaUrl: "",
      }],
    };
  await p.consume(Payload.of(signal, data as never));
  return { kept, registry };
}

Deno.test("probabilistic sampler config has the Collector's defaults and refuses bad values", () => {
  const c = probabilisticSamplerConfigSchema.parse({});
  assert.equal(c.sampling_percentage, 0);
  assert.equal(c.fail_closed, true);
  assert.equal(c.sampling_precision, 4);
  assert.equal(c.attribute_source, "traceID");
  for (
    const [bad, message] of [
      [{ sampling_percentage: -1 }, /negative/],
      [{ sampling_percentage: 1e-20 }, /too small/],
      [{ sampling_precision: 0 }, /precision: 0/],
      [{ sampling_precision: 15 }, /between 1 and 14/],
      [{ mode: "random" }, /unsupported sampler mode/],
      [{ attribute_source: "span" }, /invalid attribute source/],
      [{ hash_seed: -1 }, /.+/],
      [{ sampling_rate: 5 }, /.+/],
    ] as const
  ) {
    const r = probabilisticSamplerConfigSchema.safeParse(bad);
    assert.ok(!r.success, JSON.stringify(bad));
    assert.match(r.error.issues.map((i) => i.message).join("\n"), message);
  }
});

Deno.test("probabilistic sampler keeps about the configured share and counts decisions by policy", async () => {
  const { kept, registry } = await run("traces", { sampling_percentage: 25 }, spans(4000));
  assert.ok(kept.length > 850 && kept.length < 1150, `kept ${kept.length} of 4000`);
  const name = "otelcol_processor_probabilistic_sampler_count_traces_sampled";
  assert.equal(registry.value(name, { policy: "trace_id_hash", sampled: "true" }), kept.length);
  assert.equal(
    registry.value(name, { policy: "trace_id_hash", sampled: "false" }),
    4000 - kept.length,
  );
  for (const s of kept as Span[]) assert.match(s.traceState, /^ot=rv:[0-9a-f]{14};th:c$/);
});

Deno.test("probabilistic sampler follows sampling.priority on spans", async () => {
  const { kept } = await run(
    "traces",
    { sampling_percentage: 1 },
    spans(200, (i) => ({ attributes: [{ key: "sampling.priority", value: i < 100 ? 1n : 0n }] })),
  );
  assert.equal(kept.length, 100);
  for (const s of kept as Span[]) assert.match(s.traceState, /th:0$/);
});

Deno.test("probabilistic sampler drops items without randomness when failing closed, keeps them open", async () => {
  const noId = () => [newLogRecord({ body: "x" })];
  assert.equal((await run("logs", { sampling_percentage: 50 }, noId())).kept.length, 0);
  assert.equal(
    (await run("logs", { sampling_percentage: 50, fail_closed: false }, noId())).kept.length,
    1,
  );
});

Deno.test("sampling thresholds and tracestates round-trip as the specification's examples", () => {
  assert.equal(thresholdToTValue(probabilityToThreshold(0.25, 4)), "c");
  assert.equal(thresholdToTValue(probabilityToThreshold(1, 4)), "0");
  assert.equal(thresholdToTValue(probabilityToThreshold(1 / 3, 4)), "aaab");
  const r = parseW3CTraceState("ot=th:8;rv:9b8233f7e3a151, vendor=x");
  assert.ok(r.ok);
  assert.equal(serializeW3CTraceState(r.state), "ot=rv:9b8233f7e3a151;th:8,vendor=x");
  assert.ok(!parseW3CTraceState("ot=th:zz").ok);
});
