/**
 * Sharded placement gives the results of one instance: the same requests through one instance,
 * and split (lib/placement/shard_split.ts) over two or three instances each fed its shard, on one
 * fake clock. Tail sampling is sharded by trace ID, span metrics by service.name; the service
 * graph runs as one instance, and the last test shows why.
 */
import assert from "node:assert/strict";
import { tailSamplingConfigSchema } from "../../../components/processor/tail_sampling/config.ts";
import { createTailSamplingProcessor } from "../../../components/processor/tail_sampling/factory.ts";
import { spanmetricsConfigSchema } from "../../../components/connector/spanmetrics/config.ts";
import {
  createSpanmetricsConnector,
  spanmetricsFactory,
} from "../../../components/connector/spanmetrics/factory.ts";
import { servicegraphConfigSchema } from "../../../components/connector/servicegraph/config.ts";
import {
  createServicegraphConnector,
  servicegraphFactory,
} from "../../../components/connector/servicegraph/factory.ts";
import { tailSamplingFactory } from "../../../components/processor/tail_sampling/factory.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import {
  countTracesItems,
  encodeTracesRequest,
  TRACES_PROTO,
} from "../../../lib/otlp/traces_proto.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import { newResource, newScope, newSpan } from "../../../lib/pdata/new.ts";
import type {
  MetricsData,
  NumberDataPoint,
  ResourceSpans,
  Span,
} from "../../../lib/pdata/types.ts";
import { SpanKind, StatusCode } from "../../../lib/pdata/types.ts";
import {
  splitByResourceService,
  splitTracesByTraceId,
} from "../../../lib/placement/shard_split.ts";
import { NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { FakeClock } from "../../fixtures/fake_clock.ts";
import { Gen } from "../../otlp/_gen.ts";
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const HOST = { getExtension: () => undefined, status: () => "running" as const };
const SERVICES = ["frontend", "cart", "checkout", "payment", "email", "ad"];
const MS = 1_000_000n;
const BASE = 1_700_000_000_000n * MS;

interface Workload {
  /** Encoded requests, in sending order. */
  readonly requests: Uint8Array[];
  readonly traces: number;
}

/**
 * `traces` traces of 1 to 6 spans (a server root, client/server pairs between services,
 * internal spans), latencies from 1 ms to 2 s, some errors and attributes; their spans dealt
 * over `requests` requests in a seeded order, each request grouping its spans by service.
 */
function workload(seed: number, traces: number, requests: number): Workload {
  const g = new Gen(seed);
  const all: { service: string; span: Span }[] = [];
  for (let t = 0; t < traces; t++) {
    const traceId = g.bytes(16);
    if (traceId.every((b) => b === 0)) traceId[0] = 1;
    const spans = 1 + g.int(6);
    let parent: Uint8Array = new Uint8Array(0);
    let service = g.pick(SERVICES);
    const traceStart = BASE + BigInt(g.int(1000)) * MS;
    for (let i = 0; i < spans; i++) {
      const spanId = g.bytes(8);
      spanId[0] = i + 1;
      // Alternating client → server hops: a client span in one service, the server in the next.
      const kind = i === 0
        ? SpanKind.SERVER
        : i % 2 === 1
        ? SpanKind.CLIENT
        : g.chance(0.8)
        ? SpanKind.SERVER
        : SpanKind.INTERNAL;
      if (kind === SpanKind.SERVER && i > 0) service = g.pick(SERVICES);
      const start = traceStart + BigInt(i * 3) * MS;
      const ms = (g.chance(0.92) ? g.pick([1, 5, 20, 120, 350]) : g.pick([700, 1500, 2000])) +
        g.int(5);
      all.push({
        service,
        span: newSpan({
          traceId,
          spanId,
          parentSpanId: parent,
          name: g.pick(["GET /", "POST /cart", "charge", "send", "query"]),
          kind,
          startTimeUnixNano: start,
          endTimeUnixNano: start + BigInt(ms) * MS,
          attributes: [
            { key: "http.method", value: g.pick(["GET", "POST"]) },
            { key: "tier", value: g.chance(0.03) ? "gold" : g.pick(["silver", "bronze"]) },
            { key: "region", value: g.pick(["eu", "us"]) },
          ],
          status: g.chance(0.07)
            ? { code: StatusCode.ERROR, message: "boom" }
            : { code: g.chance(0.3) ? StatusCode.OK : StatusCode.UNSET, message: "" },
        }),
      });
      parent = spanId;
    }
  }
  // Deal the spans over the requests in a seeded shuffle: a trace's spans arrive spread out.
  for (let i = all.length - 1; i > 0; i--) {
    const j = g.int(i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  const out: Uint8Array[] = [];
  const per = Math.ceil(all.length / requests);
  for (let r = 0; r < all.length; r += per) {
    const byService = new Map<string, Span[]>();
    for (const { service, span } of all.slice(r, r + per)) {
      const list = byService.get(service) ?? [];
      list.push(span);
      byService.set(service, list);
    }
    const resourceSpans: ResourceSpans[] = [...byService].map(([service, spans]) => ({
      resource: newResource({
        attributes: [{ key: "service.name", value: service }, { key: "host", value: "h1" }],
      }),
      scopeSpans: [{ scope: newScope({ name: "lib", version: "1" }), spans, schemaUrl: "" }],
      schemaUrl: "",
    }));
    // One resource without service.name now and then (span metrics skips it; it must not fail).
    if (r % (per * 7) === 0) {
      resourceSpans.push({
        resource: newResource({ attributes: [{ key: "host", value: "h2" }] }),
        scopeSpans: [{
          scope: newScope({ name: "lib" }),
          spans: [newSpan({ traceId: g.bytes(16), spanId: g.bytes(8), name: "anon" })],
          schemaUrl: "",
        }],
        schemaUrl: "",
      });
    }
    out.push(encodeTracesRequest({ resourceSpans }));
  }
  return { requests: out, traces };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** A consumer that records `trace/span/name` of every span it gets. */
function spanSink(out: string[]): Consumer<"traces"> {
  return {
    mutatesData: false,
    consume(payload) {
      for (const rs of payload.read().resourceSpans) {
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) out.push(`${hex(s.traceId)}/${hex(s.spanId)}/${s.name}`);
        }
      }
      return Promise.resolve();
    },
  };
}

function tracesPayload(bytes: Uint8Array): Payload<"traces"> {
  return Payload.fromProto("traces", bytes, TRACES_PROTO);
}

const TAIL_CONFIG = {
  decision_wait: "5s",
  num_traces: 100_000,
  policies: [
    { name: "slow", type: "latency", latency: { threshold_ms: 1400 } },
    { name: "errors", type: "status_code", status_code: { status_codes: ["ERROR"] } },
    { name: "some", type: "probabilistic", probabilistic: { sampling_percentage: 10 } },
    { name: "gold", type: "string_attribute", string_attribute: { key: "tier", values: ["gold"] } },
    {
      name: "eu-and-slowish",
      type: "and",
      and: {
        and_sub_policy: [
          { name: "slowish", type: "latency", latency: { threshold_ms: 600 } },
          {
            name: "eu",
            type: "string_attribute",
            string_attribute: { key: "region", values: ["eu"] },
          },
        ],
      },
    },
  ],
};

/** Runs the workload through `n` tail samplers, each fed its trace-ID shard; the spans out. */
async function tailSample(w: Workload, n: number, early: boolean): Promise<string[]> {
  const clock = new FakeClock();
  const out: string[] = [];
  const config = tailSamplingConfigSchema.parse({ ...TAIL_CONFIG, early_decision: early });
  const instances = Array.from(
    { length: n },
    (_, i) =>
      createTailSamplingProcessor(config, spanSink(out), {
        id: `tail_sampling/${i}`,
        logger: NOOP_LOGGER,
        meter: new MetricRegistry().meter(),
        clock,
      }),
  );
  for (const p of instances) await p.start(HOST);
  for (const request of w.requests) {
    const shards = n === 1 ? [request] : splitTracesByTraceId(request, n);
    for (const [s, shard] of shards.entries()) {
      if (shard.length > 0) await instances[s]!.consume(tracesPayload(shard));
    }
    await clock.advance(20);
  }
  await clock.advance(10_000);
  for (const p of instances) await p.shutdown();
  return out.sort();
}

for (const early of [false, true]) {
  Deno.test(`tail sampling sharded by trace ID samples what one instance samples (early_decision ${early})`, async () => {
    const w = workload(41, 2000, 120);
    const one = await tailSample(w, 1, early);
    const total = w.requests.reduce((a, r) => a + countTracesItems(r), 0);
    const sampledTraces = new Set(one.map((l) => l.slice(0, 32))).size;
    // The policies do choose: some traces but far from all.
    assert.ok(sampledTraces > 200 && sampledTraces < 1600, `${sampledTraces} traces sampled`);
    assert.ok(one.length < total);
    assert.deepEqual(await tailSample(w, 2, early), one);
    assert.deepEqual(await tailSample(w, 3, early), one);
  });
}

// ---------------------------------------------------------------------------------------------
// Span metrics

/** Every data point of `data` as one line: resource, scope, metric, point (no timestamps). */
function seriesLines(data: MetricsData[]): string[] {
  const lines: string[] = [];
  const j = (v: unknown) =>
    JSON.stringify(
      v,
      (_, x) => typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? hex(x) : x,
    );
  for (const d of data) {
    for (const rm of d.resourceMetrics) {
      const resource = j(rm.resource.attributes);
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          const points = (m.data as { dataPoints?: unknown[] } | undefined)?.dataPoints ?? [];
          for (const p of points) lines.push(`${resource}|${sm.scope.name}|${m.name}|${j(p)}`);
        }
      }
    }
  }
  return lines.sort();
}

function metricsSink(out: MetricsData[]): Consumer<"metrics"> {
  return {
    mutatesData: false,
    consume(payload) {
      out.push(payload.read());
      return Promise.resolve();
    },
  };
}

/** Runs the workload through `n` span metrics connectors, each fed its service shard. */
async function spanMetrics(
  w: Workload,
  n: number,
  config: Record<string, unknown>,
): Promise<string[]> {
  const clock = new FakeClock();
  const out: MetricsData[] = [];
  const parsed = spanmetricsConfigSchema.parse(config);
  const instances = Array.from(
    { length: n },
    () =>
      createSpanmetricsConnector(parsed, metricsSink(out), {
        clock,
        // The runtime must give every shard the same instance ID (one collector).
        instanceId: "instance-1",
        random: () => 0.5,
      }),
  );
  for (const c of instances) await c.start(HOST);
  for (const request of w.requests) {
    const shards = n === 1 ? [request] : splitByResourceService("traces", request, n);
    for (const [s, shard] of shards.entries()) {
      if (shard.length > 0) await instances[s]!.consumers.traces!.consume(tracesPayload(shard));
    }
    await clock.advance(250);
  }
  for (const c of instances) await c.shutdown();
  return seriesLines(out);
}

const SPANMETRICS_CONFIGS: Record<string, Record<string, unknown>> = {
  "default (pruned scan)": { metrics_flush_interval: "10s" },
  "dimensions, events, exemplars, delta": {
    metrics_flush_interval: "7s",
    aggregation_temporality: "AGGREGATION_TEMPORALITY_DELTA",
    // Bounds are per instance: a small cache would evict differently in one instance than in two.
    metric_timestamp_cache_size: 100_000,
    dimensions: [{ name: "http.method" }, { name: "tier", default: "none" }],
    exemplars: { enabled: true },
    events: { enabled: true, dimensions: [{ name: "region" }] },
  },
  "exponential histogram in seconds": {
    metrics_flush_interval: "15s",
    histogram: { unit: "s", exponential: { max_size: 40 } },
    dimensions: [{ name: "region" }],
  },
};

for (const [label, config] of Object.entries(SPANMETRICS_CONFIGS)) {
  Deno.test(`span metrics sharded by service gives the series of one instance: ${label}`, async () => {
    const w = workload(43, 2000, 120);
    const one = await spanMetrics(w, 1, config);
    assert.ok(one.length > 50, `${one.length} points`);
    for (const n of [2, 3]) {
      const sharded = await spanMetrics(w, n, config);
      // No series comes from two shards: equal lists (duplicates included) mean equal sets.
      assert.deepEqual(sharded, one, `n=${n}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Service graph

/**
 * Runs the workload through `n` service graphs, each fed its trace-ID shard; per instance, the
 * last cumulative `traces_service_graph_request_total` of each edge (what a backend keeps).
 */
async function serviceGraph(w: Workload, n: number): Promise<Map<string, number>[]> {
  const clock = new FakeClock();
  const outs: MetricsData[][] = Array.from({ length: n }, () => []);
  const config = servicegraphConfigSchema.parse({
    metrics_flush_interval: "0s",
    store: { ttl: "2s", max_items: 100_000 },
  });
  const instances = outs.map((out) =>
    createServicegraphConnector(config, metricsSink(out), { clock, logger: NOOP_LOGGER })
  );
  for (const c of instances) await c.start(HOST);
  for (const request of w.requests) {
    const shards = n === 1 ? [request] : splitTracesByTraceId(request, n);
    for (const [s, shard] of shards.entries()) {
      if (shard.length > 0) await instances[s]!.consumers.traces!.consume(tracesPayload(shard));
    }
    await clock.advance(20);
  }
  for (const c of instances) await c.shutdown();
  return outs.map((out) => {
    const edges = new Map<string, number>();
    for (const d of out) {
      for (const rm of d.resourceMetrics) {
        for (const sm of rm.scopeMetrics) {
          for (const m of sm.metrics) {
            if (m.name !== "traces_service_graph_request_total") continue;
            const points = (m.data as { dataPoints: NumberDataPoint[] }).dataPoints;
            for (const p of points) edges.set(JSON.stringify(p.attributes), Number(p.value));
          }
        }
      }
    }
    return edges;
  });
}

Deno.test("service graph: trace-ID shards pair spans but split each edge series over instances", async () => {
  const w = workload(47, 600, 40);
  const [one] = await serviceGraph(w, 1);
  assert.ok(one!.size >= 10, `${one!.size} edges`);
  const two = await serviceGraph(w, 2);
  // Pairing works in each shard: the counts of an edge over the instances add up to its count in
  // one instance (so trace-ID shards plus a merge of edge series would be exact)...
  const merged = new Map<string, number>();
  for (const edges of two) for (const [k, v] of edges) merged.set(k, (merged.get(k) ?? 0) + v);
  assert.deepEqual(new Map([...merged].sort()), new Map([...one!].sort()));
  // ...but without that merge, most edges are one series written by two instances with different
  // cumulative values. Hence `placement: "single"`.
  const both = [...two[0]!.keys()].filter((k) => two[1]!.has(k)).length;
  assert.ok(both > one!.size / 2, `${both} of ${one!.size} edges in both instances`);
  assert.equal(servicegraphFactory.placement, "single");
});

Deno.test("factories declare their placement", () => {
  assert.deepEqual(tailSamplingFactory.placement, { sharded: "trace_id" });
  assert.deepEqual(spanmetricsFactory.placement, { sharded: "service" });
});
