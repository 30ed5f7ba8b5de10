/**
 * The tail sampling processor against the contrib Collector v0.161.0: the same traces through both,
 * for every policy type and the combining policies, must keep the same spans (late spans
 * included). Policies with a budget (`rate_limiting`, `bytes_limiting`, `composite`) decide by
 * arrival order within a batch, which the Collector takes from a Go map (random): for them the
 * traces are all the same shape and the number of kept traces is compared. Skipped, by name, when
 * `otelcol-contrib` is not built (`bench/peers.sh`).
 */
import assert from "node:assert/strict";
import { tailSamplingConfigSchema } from "../../../../components/processor/tail_sampling/config.ts";
import { createTailSamplingProcessor } from "../../../../components/processor/tail_sampling/factory.ts";
import { cloneData } from "../../../../lib/pdata/clone.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { TracesData } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { FakeClock } from "../../../fixtures/fake_clock.ts";
import { type ContribCase, HAS_CONTRIB, runContrib } from "./_contrib.ts";
import { hex, tailRequests, tailTraces } from "./_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

interface Case {
  name: string;
  policies: unknown[];
  extra?: Record<string, unknown>;
  /** Compare the number of kept traces only. */
  countOnly?: boolean;
}

const pol = (name: string, type: string, block?: unknown) =>
  block === undefined ? { name, type } : { name, type, [type]: block };

const CASES: Case[] = [
  { name: "always_sample", policies: [pol("all", "always_sample")] },
  {
    name: "status_code ERROR",
    policies: [pol("errors", "status_code", { status_codes: ["ERROR"] })],
  },
  {
    name: "status_code OK and UNSET",
    policies: [pol("ok", "status_code", { status_codes: ["OK", "UNSET"] })],
  },
  { name: "latency > 1s", policies: [pol("slow", "latency", { threshold_ms: 1000 })] },
  {
    name: "latency window",
    policies: [pol("mid", "latency", { threshold_ms: 100, upper_threshold_ms: 1500 })],
  },
  {
    name: "numeric_attribute",
    policies: [
      pol("5xx", "numeric_attribute", { key: "http.status_code", min_value: 500, max_value: 599 }),
    ],
  },
  {
    name: "numeric_attribute inverted",
    policies: [
      pol("not4xx", "numeric_attribute", {
        key: "http.status_code",
        min_value: 400,
        max_value: 499,
        invert_match: true,
      }),
    ],
  },
  {
    name: "numeric_attribute max only",
    policies: [pol("low", "numeric_attribute", { key: "http.status_code", max_value: 300 })],
  },
  {
    name: "string_attribute resource",
    policies: [
      pol("svc", "string_attribute", { key: "service.name", values: ["checkout", "payment"] }),
    ],
  },
  {
    name: "string_attribute span",
    policies: [pol("tenant", "string_attribute", { key: "tenant", values: ["tenant-1", ""] })],
  },
  {
    name: "string_attribute regex",
    policies: [
      pol("re", "string_attribute", {
        key: "tenant",
        values: ["^tenant-[02]$"],
        enabled_regex_matching: true,
        cache_max_size: 2,
      }),
    ],
  },
  {
    name: "string_attribute inverted",
    policies: [
      pol("inv", "string_attribute", { key: "tenant", values: ["tenant-3"], invert_match: true }),
    ],
  },
  {
    name: "boolean_attribute",
    policies: [pol("dbg", "boolean_attribute", { key: "debug", value: true })],
  },
  {
    name: "boolean_attribute inverted",
    policies: [
      pol("nodbg", "boolean_attribute", { key: "debug", value: true, invert_match: true }),
    ],
  },
  {
    name: "probabilistic 10%",
    policies: [pol("ten", "probabilistic", { sampling_percentage: 10 })],
  },
  {
    name: "probabilistic 37.5% salted",
    policies: [pol("salt", "probabilistic", { sampling_percentage: 37.5, hash_salt: "tfo" })],
  },
  { name: "span_count >= 4", policies: [pol("big", "span_count", { min_spans: 4 })] },
  { name: "span_count 2..3", policies: [pol("mid", "span_count", { min_spans: 2, max_spans: 3 })] },
  {
    name: "trace_state",
    policies: [pol("gold", "trace_state", { key: "vendor", values: ["gold"] })],
  },
  { name: "trace_flags", policies: [pol("flagged", "trace_flags")] },
  {
    name: "ottl_condition span",
    policies: [
      pol("ottl", "ottl_condition", {
        error_mode: "ignore",
        span: ['span.name == "op-2"', 'attributes["tenant"] == "tenant-4"'],
      }),
    ],
  },
  {
    name: "ottl_condition spanevent",
    policies: [
      pol("ev", "ottl_condition", { error_mode: "ignore", spanevent: ['name == "exception"'] }),
    ],
  },
  {
    name: "and",
    policies: [{
      name: "and",
      type: "and",
      and: {
        and_sub_policy: [
          pol("s", "string_attribute", { key: "service.name", values: ["cart", "search"] }),
          pol("p", "probabilistic", { sampling_percentage: 50 }),
        ],
      },
    }],
  },
  {
    name: "and with not",
    policies: [{
      name: "and",
      type: "and",
      and: {
        and_sub_policy: [{
          name: "n",
          type: "not",
          not: { not_sub_policy: pol("e", "status_code", { status_codes: ["ERROR"] }) },
        }, pol("s", "span_count", { min_spans: 3 })],
      },
    }],
  },
  {
    name: "drop wins",
    policies: [
      pol("all", "always_sample"),
      {
        name: "drop-auth",
        type: "drop",
        drop: {
          drop_sub_policy: [
            pol("a", "string_attribute", { key: "service.name", values: ["auth"] }),
          ],
        },
      },
    ],
  },
  {
    name: "seed set: errors, slow, 10%",
    policies: [
      pol("errors", "status_code", { status_codes: ["ERROR"] }),
      pol("slow", "latency", { threshold_ms: 1000 }),
      pol("rest", "probabilistic", { sampling_percentage: 10 }),
    ],
  },
  {
    name: "sample_on_first_match",
    extra: { sample_on_first_match: true },
    policies: [
      pol("errors", "status_code", { status_codes: ["ERROR"] }),
      pol("inv", "boolean_attribute", { key: "debug", value: true, invert_match: true }),
    ],
  },
  {
    name: "mixed with inverted and drop",
    policies: [
      pol("inv", "string_attribute", { key: "tenant", values: ["tenant-0"], invert_match: true }),
      pol("slow", "latency", { threshold_ms: 500 }),
      {
        name: "drop-dbg",
        type: "drop",
        drop: {
          drop_sub_policy: [
            pol("d", "boolean_attribute", { key: "debug", value: true }),
            pol("e", "status_code", { status_codes: ["UNSET", "OK"] }),
          ],
        },
      },
    ],
  },
  {
    name: "rate_limiting 60 spans/s",
    countOnly: true,
    policies: [pol("rl", "rate_limiting", { spans_per_second: 60 })],
  },
  {
    name: "rate_limiting with burst",
    countOnly: true,
    policies: [pol("rl", "rate_limiting", { spans_per_second: 10, burst_capacity: 50 })],
  },
  {
    name: "bytes_limiting",
    countOnly: true,
    policies: [pol("bl", "bytes_limiting", { bytes_per_second: 2000, burst_capacity: 9000 })],
  },
  {
    name: "composite",
    countOnly: true,
    policies: [{
      name: "comp",
      type: "composite",
      composite: {
        max_total_spans_per_second: 100,
        policy_order: ["a", "b"],
        composite_sub_policy: [
          pol("a", "string_attribute", { key: "kind", values: ["a"] }),
          pol("b", "always_sample"),
        ],
        rate_allocation: [{ policy: "a", percent: 30 }, { policy: "b", percent: 70 }],
      },
    }],
  },
];

const TRACES = 300;

function traces(c: Case, i: number) {
  return tailTraces(1000 + i, c.countOnly ? 120 : TRACES, c.countOnly === true);
}

/** Two requests: every trace's first two spans, then (after the decision) the rest as late spans. */
function requests(c: Case, i: number): TracesData[] {
  const t = traces(c, i);
  return c.countOnly ? [tailRequests(t, 0, 99)] : [tailRequests(t, 0, 2), tailRequests(t, 2, 99)];
}

function config(c: Case): Record<string, unknown> {
  return { decision_wait: "1s", num_traces: 10000, policies: c.policies, ...c.extra };
}

function keptSpans(outputs: TracesData[]): string[] {
  const out: string[] = [];
  for (const d of outputs) {
    for (const rs of d.resourceSpans) {
      for (const ss of rs.scopeSpans) for (const s of ss.spans) out.push(hex(s.spanId));
    }
  }
  return out.sort();
}

function keptTraces(outputs: TracesData[]): number {
  const ids = new Set<string>();
  for (const d of outputs) {
    for (const rs of d.resourceSpans) {
      for (const ss of rs.scopeSpans) for (const s of ss.spans) ids.add(hex(s.traceId));
    }
  }
  return ids.size;
}

async function runTfo(c: Case, i: number): Promise<TracesData[]> {
  const out: TracesData[] = [];
  const clock = new FakeClock();
  const p = createTailSamplingProcessor(tailSamplingConfigSchema.parse(config(c)), {
    mutatesData: false,
    consume: (payload: Payload<"traces">) => {
      out.push(cloneData("traces", payload.read()));
      return Promise.resolve();
    },
  }, {
    id: `tail_sampling/c${i}`,
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter(),
    clock,
  });
  await p.start({ getExtension: () => undefined, status: () => "running" });
  for (const req of requests(c, i)) {
    await p.consume(Payload.of("traces", req));
    await clock.advance(2500);
  }
  await p.shutdown();
  return out;
}

Deno.test({
  name: "tail sampling keeps the same spans as the contrib Collector for every policy type",
  ignore: !HAS_CONTRIB,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const contribCases: ContribCase[] = CASES.map((c, i) => ({
      signal: "traces",
      processor: "tail_sampling",
      config: config(c),
      requests: requests(c, i),
      gapMs: 6000,
      settleMs: 5000,
    }));
    const theirs = (await runContrib(contribCases)) as TracesData[][];
    let failed = 0;
    for (const [i, c] of CASES.entries()) {
      const ok = await t.step(c.name, async () => {
        const ours = await runTfo(c, i);
        if (c.countOnly) {
          const expected = keptTraces(theirs[i]!);
          assert.equal(keptTraces(ours), expected);
          assert.ok(
            expected > 0 && expected < 120,
            `the budget keeps some but not all (${expected})`,
          );
        } else {
          assert.deepStrictEqual(keptSpans(ours), keptSpans(theirs[i]!));
        }
      });
      if (!ok) failed++;
    }
    assert.equal(failed, 0, `${failed} of ${CASES.length} cases differ`);
  },
});
