/**
 * Behaviour of the tail sampling processor on fake time: when traces are decided, late spans and
 * the decision caches, early decisions, the bounds (`num_traces`, `max_memory_mib`) under
 * pressure, shutdown, and the config's defaults and errors.
 */
import assert from "node:assert/strict";
import { tailSamplingConfigSchema } from "../../../../components/processor/tail_sampling/config.ts";
import {
  createTailSamplingProcessor,
  type TailSamplingProcessor,
} from "../../../../components/processor/tail_sampling/factory.ts";
import { isPermanent } from "../../../../lib/consumer/consumer.ts";
import { TRACES_PROTO } from "../../../../lib/otlp/traces_proto.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newResource, newScope, newSpan } from "../../../../lib/pdata/new.ts";
import type { KeyValue, Span, TracesData } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { FakeClock } from "../../../fixtures/fake_clock.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const HOST = { getExtension: () => undefined, status: () => "running" as const };

function traceId(n: number): Uint8Array {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setUint32(4, n);
  new DataView(id.buffer).setUint32(12, n * 2654435761);
  return id;
}

function span(trace: number, i: number, init: Partial<Span> = {}): Span {
  return newSpan({
    traceId: traceId(trace),
    spanId: Uint8Array.from([0, 0, 0, i, 0, 0, 0, trace & 0xff]),
    name: `t${trace}/s${i}`,
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_000_050_000_000n,
    ...init,
  });
}

function data(spans: Span[], resource: KeyValue[] = []): TracesData {
  return {
    resourceSpans: [{
      resource: newResource({ attributes: resource }),
      scopeSpans: [{ scope: newScope({ name: "t" }), spans, schemaUrl: "" }],
      schemaUrl: "",
    }],
  };
}

interface Kit {
  p: TailSamplingProcessor;
  clock: FakeClock;
  registry: MetricRegistry;
  /** Names of the spans passed on. */
  out: string[];
  send(spans: Span[]): Promise<void>;
}

async function kit(config: Record<string, unknown>): Promise<Kit> {
  const clock = new FakeClock();
  const registry = new MetricRegistry();
  const out: string[] = [];
  const p = createTailSamplingProcessor(tailSamplingConfigSchema.parse(config), {
    mutatesData: false,
    consume: (payload) => {
      for (const rs of payload.read().resourceSpans) {
        for (const ss of rs.scopeSpans) for (const s of ss.spans) out.push(s.name);
      }
      return Promise.resolve();
    },
  }, { id: "tail_sampling/t", logger: NOOP_LOGGER, meter: registry.meter(), clock });
  await p.start(HOST);
  return { p, clock, registry, out, send: (spans) => p.consume(Payload.of("traces", data(spans))) };
}

const ERRORS = { name: "errors", type: "status_code", status_code: { status_codes: ["ERROR"] } };
const ALL = { name: "all", type: "always_sample" };
const ERROR_STATUS = { code: 2, message: "boom" };

Deno.test("tail sampling decides a trace decision_wait after its first span, on the second tick", async () => {
  const k = await kit({ decision_wait: "3s", policies: [ALL], early_decision: false });
  await k.send([span(1, 0)]);
  await k.clock.advance(3000);
  assert.deepEqual(k.out, [], "not before decision_wait");
  await k.send([span(1, 1)]);
  await k.clock.advance(1000);
  assert.deepEqual(k.out.sort(), ["t1/s0", "t1/s1"]);
  assert.equal(
    k.registry.value("otelcol_processor_tail_sampling_global_count_traces_sampled", {
      decision: "sampled",
    }),
    1,
  );
  assert.equal(
    k.registry.value("otelcol_processor_tail_sampling_count_traces_sampled", {
      policy: "t.all",
      sampled: "true",
    }),
    1,
  );
  assert.equal(
    k.registry.value("otelcol_processor_tail_sampling_sampling_policy_execution_count", {
      policy: "t.all",
    }),
    1,
  );
  await k.p.shutdown();
});

Deno.test("tail sampling passes late spans of a sampled trace and drops those of a dropped one", async () => {
  const k = await kit({ decision_wait: "1s", policies: [ERRORS], early_decision: false });
  await k.send([span(1, 0, { status: ERROR_STATUS }), span(2, 0)]);
  await k.clock.advance(2000);
  assert.deepEqual(k.out, ["t1/s0"]);
  await k.send([span(1, 1), span(2, 1)]);
  assert.deepEqual(k.out, ["t1/s0", "t1/s1"], "a late span follows its trace's decision at once");
  await k.p.shutdown();
});

Deno.test("tail sampling answers late spans from the decision caches and counts them", async () => {
  const k = await kit({
    decision_wait: "1s",
    policies: [ERRORS],
    early_decision: false,
    decision_cache: { sampled_cache_size: 10, non_sampled_cache_size: 10 },
  });
  await k.send([span(1, 0, { status: ERROR_STATUS }), span(2, 0)]);
  await k.clock.advance(2000);
  assert.equal(k.p.sampler.tracesHeld, 0, "decided traces move to the caches");
  await k.send([span(1, 1), span(2, 1), span(2, 2)]);
  assert.deepEqual(k.out, ["t1/s0", "t1/s1"]);
  const early = "otelcol_processor_tail_sampling_early_releases_from_cache_decision";
  assert.equal(k.registry.value(early, { sampled: "true" }), 1);
  assert.equal(k.registry.value(early, { sampled: "false" }), 2);
  await k.p.shutdown();
});

Deno.test("tail sampling samples an error trace at once with early decisions, not a pending one", async () => {
  const k = await kit({ decision_wait: "30s", policies: [ERRORS] });
  await k.send([span(1, 0), span(2, 0)]);
  await k.send([span(1, 1, { status: ERROR_STATUS })]);
  assert.deepEqual(k.out.sort(), ["t1/s0", "t1/s1"], "decided before decision_wait");
  assert.equal(k.registry.value("tfo_processor_tail_sampling_early_decisions"), 1);
  assert.equal(k.p.sampler.pendingTraces, 1);
  await k.send([span(1, 2)]);
  assert.equal(k.out.length, 3, "its later spans follow");
  await k.p.shutdown();
});

Deno.test("tail sampling makes no early decision when a drop or stateful policy could disagree", async () => {
  for (
    const extra of [
      { name: "rl", type: "rate_limiting", rate_limiting: { spans_per_second: 1 } },
      { name: "d", type: "drop", drop: { drop_sub_policy: [ALL] } },
    ]
  ) {
    const k = await kit({ decision_wait: "30s", policies: [ERRORS, extra] });
    await k.send([span(1, 0, { status: ERROR_STATUS })]);
    assert.deepEqual(k.out, [], `held with ${extra.type}`);
    await k.p.shutdown();
  }
});

Deno.test("tail sampling under pressure: 10x num_traces distinct traces stay within num_traces, evictions counted", async () => {
  const numTraces = 500;
  const k = await kit({ decision_wait: "30s", num_traces: numTraces, policies: [ERRORS] });
  let maxHeld = 0;
  for (let batch = 0; batch < 100; batch++) {
    const spans: Span[] = [];
    for (let i = 0; i < 50; i++) {
      const t = batch * 50 + i;
      spans.push(span(t, 0, t % 100 === 7 ? { status: ERROR_STATUS } : {}));
    }
    await k.send(spans);
    maxHeld = Math.max(maxHeld, k.p.sampler.tracesHeld);
  }
  assert.ok(maxHeld <= numTraces, `held at most num_traces (max ${maxHeld})`);
  const evicted =
    k.registry.value("tfo_processor_tail_sampling_evicted_traces", { reason: "num_traces" }) ?? 0;
  const early = k.registry.value("tfo_processor_tail_sampling_early_decisions") ?? 0;
  // Every trace is accounted for: still held, sampled early (errors), or evicted (decided).
  assert.equal(k.p.sampler.pendingTraces + evicted + early, 5000);
  assert.ok(evicted >= 5000 - numTraces - early, `evicted ${evicted}`);
  assert.equal(k.out.length, 50, "every error trace was kept");
  await k.p.shutdown();
});

Deno.test("tail sampling under pressure: max_memory_mib bounds the bytes held, evicting the oldest first", async () => {
  const k = await kit({
    decision_wait: "30s",
    num_traces: 1_000_000,
    max_memory_mib: 1,
    early_decision: false,
    policies: [ALL],
  });
  const big = "x".repeat(2000);
  let maxBytes = 0;
  for (let batch = 0; batch < 40; batch++) {
    const spans: Span[] = [];
    for (let i = 0; i < 50; i++) {
      spans.push(span(batch * 50 + i, 0, { attributes: [{ key: "payload", value: big }] }));
    }
    await k.send(spans);
    maxBytes = Math.max(maxBytes, k.p.sampler.bytesHeld);
  }
  assert.ok(maxBytes <= 1024 * 1024, `bytes held stayed under the budget (max ${maxBytes})`);
  const evicted =
    k.registry.value("tfo_processor_tail_sampling_evicted_traces", { reason: "memory" }) ?? 0;
  assert.ok(evicted > 1000, `evictions were counted (${evicted})`);
  assert.equal(k.p.sampler.pendingTraces + evicted, 2000);
  // Evicted traces are decided (here: sampled) rather than lost, oldest first.
  assert.deepEqual(k.out, Array.from({ length: evicted }, (_, t) => `t${t}/s0`));
  await k.p.shutdown();
});

Deno.test("tail sampling decides pending traces on shutdown, or drops them when asked to", async () => {
  const a = await kit({ decision_wait: "30s", policies: [ALL], early_decision: false });
  await a.send([span(1, 0)]);
  await a.p.shutdown();
  assert.deepEqual(a.out, ["t1/s0"]);
  const b = await kit({
    decision_wait: "30s",
    policies: [ALL],
    early_decision: false,
    drop_pending_traces_on_shutdown: true,
  });
  await b.send([span(1, 0)]);
  await b.p.shutdown();
  assert.deepEqual(b.out, []);
});

Deno.test("tail sampling refuses a trace over maximum_trace_size_bytes and counts it", async () => {
  const k = await kit({
    decision_wait: "1s",
    policies: [ALL],
    early_decision: false,
    maximum_trace_size_bytes: 300,
  });
  await k.send([span(1, 0)]);
  await k.send([span(1, 1, { attributes: [{ key: "big", value: "y".repeat(400) }] })]);
  await k.clock.advance(3000);
  assert.deepEqual(k.out, []);
  assert.equal(k.registry.value("otelcol_processor_tail_sampling_traces_dropped_too_large"), 1);
  await k.p.shutdown();
});

Deno.test("tail sampling config has the Collector's defaults", () => {
  const c = tailSamplingConfigSchema.parse({});
  assert.equal(c.decision_wait, 30_000);
  assert.equal(c.num_traces, 50_000);
  assert.equal(c.sample_on_first_match, false);
  assert.deepEqual(c.decision_cache, { sampled_cache_size: 0, non_sampled_cache_size: 0 });
  assert.equal(c.sampling_strategy, "trace-complete");
  assert.equal(c.max_memory_mib, 0);
});

Deno.test("tail sampling config rejects what cannot work, with its path", () => {
  const bad: [unknown, RegExp][] = [
    [{ policies: [{ type: "always_sample" }] }, /policy name cannot be empty/],
    [{ policies: [ALL, ALL] }, /duplicate policy name "all"/],
    [{ policies: [{ name: "x", type: "nope" }] }, /unknown sampling policy type/],
    [{ policies: [{ name: "x", type: "status_code" }] }, /needs its "status_code" block/],
    [
      { policies: [{ name: "x", type: "status_code", status_code: { status_codes: ["BAD"] } }] },
      /unknown status code/,
    ],
    [
      { policies: [{ name: "x", type: "latency", status_code: { status_codes: ["OK"] } }] },
      /has no effect/,
    ],
    [
      { policies: [{ name: "x", type: "numeric_attribute", numeric_attribute: { key: "k" } }] },
      /min_value or max_value/,
    ],
    [{
      policies: [{
        name: "x",
        type: "string_attribute",
        string_attribute: { key: "k", values: ["(a+)+"], enabled_regex_matching: true },
      }],
    }, /.+/],
    [
      { policies: [{ name: "x", type: "ottl_condition", ottl_condition: { span: ["nope("] } }] },
      /.+/,
    ],
    [
      { policies: [{ name: "x", type: "ottl_condition", ottl_condition: {} }] },
      /at least one OTTL condition/,
    ],
    [{ num_shards: 2 }, /one shard/],
    [{ sampling_strategy: "span-ingest" }, /trace-complete/],
    [{ tail_storage: "x" }, /tail_storage|Unrecognized/i],
  ];
  for (const [config, message] of bad) {
    const r = tailSamplingConfigSchema.safeParse(config);
    assert.ok(!r.success, `refused: ${JSON.stringify(config)}`);
    const text = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n");
    assert.match(text, message);
  }
});

Deno.test("tail sampling with block_on_overflow makes a sender wait for room instead of evicting", async () => {
  const k = await kit({
    decision_wait: "1s",
    num_traces: 2,
    block_on_overflow: true,
    early_decision: false,
    policies: [ALL],
    decision_cache: { sampled_cache_size: 10 },
  });
  await k.send([span(1, 0), span(2, 0)]);
  let done = false;
  const third = k.send([span(3, 0)]).then(() => done = true);
  await k.clock.advance(500);
  assert.equal(done, false, "waits while the table is full");
  await k.clock.advance(2000);
  await third;
  assert.equal(
    k.registry.value("tfo_processor_tail_sampling_evicted_traces"),
    undefined,
    "nothing evicted",
  );
  await k.clock.advance(2000);
  assert.deepEqual(k.out.sort(), ["t1/s0", "t2/s0", "t3/s0"]);
  await k.p.shutdown();
});

Deno.test("tail sampling refuses malformed encoded spans as permanent, and keeps serving", async () => {
  const k = await kit({ decision_wait: "1s", policies: [ALL], early_decision: false });
  for (const bad of [[10, 50, 1], [10, 3, 18, 9, 0], [0x0b, 1]]) {
    await assert.rejects(
      k.p.consume(Payload.fromProto("traces", Uint8Array.from(bad), TRACES_PROTO)),
      (e) => isPermanent(e),
    );
  }
  await k.send([span(1, 0)]);
  await k.clock.advance(2000);
  assert.deepEqual(k.out, ["t1/s0"]);
  await k.p.shutdown();
});
