/**
 * Cost of splitting encoded requests into per-worker shards (lib/placement/shard_split.ts)
 * against a full decode of the same bytes and against the validating walk every receiver already
 * does (`countTracesItems`): nanoseconds per span and MB/s of input. Also the single service graph
 * instance's cost per span, for its `placement: "single"`.
 *
 * `deno run -A bench/shard_split_bench.ts [--ms 1500]` prints a Markdown table with the time and
 * the load average before and after.
 *
 * @module
 */
import { benchLogs, benchMetrics, benchTraces } from "./codec_bench.ts";
import {
  countTracesItems,
  decodeLogsRequest,
  decodeMetricsRequest,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
  TRACES_PROTO,
} from "../lib/otlp/mod.ts";
import { splitByResourceService, splitTracesByTraceId } from "../lib/placement/shard_split.ts";
import { Payload } from "../lib/pdata/payload.ts";
import type { ResourceSpans, Span, TracesData } from "../lib/pdata/types.ts";
import { SpanKind } from "../lib/pdata/types.ts";
import { createServicegraphConnector } from "../components/connector/servicegraph/factory.ts";
import { servicegraphConfigSchema } from "../components/connector/servicegraph/config.ts";
import { NOOP_LOGGER } from "../lib/telemetry/logger.ts";
import { loadConfigLibs } from "../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** One measured case: what it runs once, and how many items (spans, points, records) that is. */
interface Case {
  readonly name: string;
  readonly bytes: number;
  readonly items: number;
  readonly run: () => unknown;
}

/** Median nanoseconds per run of `c` over rounds of about 50 ms for `ms` milliseconds. */
function measure(c: Case, ms: number): number {
  let sink = 0;
  const warm = performance.now() + Math.min(300, ms / 4);
  let perRound = 1;
  while (performance.now() < warm) {
    const t = performance.now();
    for (let i = 0; i < perRound; i++) sink ^= c.run() ? 1 : 0;
    if (performance.now() - t < 20) perRound *= 2;
  }
  const samples: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t = performance.now();
    for (let i = 0; i < perRound; i++) sink ^= c.run() ? 1 : 0;
    samples.push(((performance.now() - t) * 1e6) / perRound);
  }
  if (sink === 2) console.log(sink);
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

/** 1000 spans with random trace IDs spread over `services` resources. */
function tracesOver(services: number): TracesData {
  const base = benchTraces();
  const rs0 = base.resourceSpans[0]!;
  const spans = rs0.scopeSpans[0]!.spans;
  const per = Math.ceil(spans.length / services);
  const resourceSpans: ResourceSpans[] = [];
  for (let s = 0; s < services; s++) {
    resourceSpans.push({
      resource: {
        attributes: rs0.resource.attributes.map((kv) =>
          kv.key === "service.name" ? { key: kv.key, value: `service-${s}` } : kv
        ),
        droppedAttributesCount: 0,
      },
      scopeSpans: [{ ...rs0.scopeSpans[0]!, spans: spans.slice(s * per, (s + 1) * per) }],
      schemaUrl: "",
    });
  }
  return { resourceSpans };
}

/** The same spans, all of one trace (the split's no-copy fast path). */
function oneTrace(): TracesData {
  const d = benchTraces();
  const id = d.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId;
  for (const span of d.resourceSpans[0]!.scopeSpans[0]!.spans) span.traceId = id;
  return d;
}

/** 1000 spans as 500 client/server pairs of 10 services (the service graph's input). */
function servicePairs(): Uint8Array {
  const d = tracesOver(10);
  let n = 0;
  const spans: Span[] = d.resourceSpans.flatMap((rs) => rs.scopeSpans[0]!.spans);
  for (let i = 0; i + 1 < spans.length; i += 2) {
    const client = spans[i]!;
    const server = spans[i + 1]!;
    client.kind = SpanKind.CLIENT;
    server.kind = SpanKind.SERVER;
    server.traceId = client.traceId;
    server.parentSpanId = client.spanId;
    n++;
  }
  if (n === 0) throw new Error("no pairs");
  return encodeTracesRequest(d);
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

/** Runs every case and returns the Markdown report. */
export async function runShardSplitBench(ms = 1500): Promise<string> {
  const before = loadAverage();
  const started = new Date().toISOString();
  const cases: Case[] = [];
  const traces1 = encodeTracesRequest(benchTraces());
  const traces10 = encodeTracesRequest(tracesOver(10));
  const one = encodeTracesRequest(oneTrace());
  const metrics = encodeMetricsRequest(benchMetrics());
  const logs = encodeLogsRequest(benchLogs());
  const add = (name: string, bytes: Uint8Array, items: number, run: () => unknown) =>
    cases.push({ name, bytes: bytes.length, items, run });
  const spans = countTracesItems(traces1);
  add(
    "traces: decodeTracesRequest (full decode)",
    traces1,
    spans,
    () => decodeTracesRequest(traces1),
  );
  add(
    "traces: countTracesItems (the receiver's validating walk)",
    traces1,
    spans,
    () => countTracesItems(traces1),
  );
  for (const n of [2, 4, 8]) {
    add(
      `traces: splitTracesByTraceId, n=${n}`,
      traces1,
      spans,
      () => splitTracesByTraceId(traces1, n),
    );
  }
  add(
    "traces, 10 resources: splitTracesByTraceId, n=4",
    traces10,
    spans,
    () => splitTracesByTraceId(traces10, 4),
  );
  add(
    "traces, one trace: splitTracesByTraceId, n=4 (no copy)",
    one,
    spans,
    () => splitTracesByTraceId(one, 4),
  );
  add(
    "traces, 10 services: splitByResourceService, n=4",
    traces10,
    spans,
    () => splitByResourceService("traces", traces10, 4),
  );
  const points = decodeMetricsRequest(metrics).resourceMetrics.reduce(
    (a, rm) =>
      a + rm.scopeMetrics.reduce(
        (b, sm) =>
          b + sm.metrics.reduce(
            (c, m) => c + ((m.data as { dataPoints?: unknown[] })?.dataPoints?.length ?? 0),
            0,
          ),
        0,
      ),
    0,
  );
  add("metrics: decodeMetricsRequest", metrics, points, () => decodeMetricsRequest(metrics));
  add(
    "metrics, 1 service: splitByResourceService, n=4",
    metrics,
    points,
    () => splitByResourceService("metrics", metrics, 4),
  );
  const records = decodeLogsRequest(logs).resourceLogs.reduce(
    (a, rl) => a + rl.scopeLogs.reduce((b, sl) => b + sl.logRecords.length, 0),
    0,
  );
  add("logs: decodeLogsRequest", logs, records, () => decodeLogsRequest(logs));

  const rows: string[] = [];
  for (const c of cases) {
    const ns = measure(c, ms);
    const mbs = c.bytes / 1e6 / (ns / 1e9);
    rows.push(
      `| ${c.name} | ${c.bytes} | ${c.items} | ${(ns / 1000).toFixed(1)} | ${
        (ns / c.items).toFixed(0)
      } | ${mbs.toFixed(0)} |`,
    );
  }

  // The single service graph: its own cost per span, for the placement decision.
  const pairs = servicePairs();
  const pairSpans = countTracesItems(pairs);
  const graph = createServicegraphConnector(
    servicegraphConfigSchema.parse({ metrics_flush_interval: "60s" }),
    { mutatesData: false, consume: () => Promise.resolve() },
    { logger: NOOP_LOGGER },
  );
  await graph.start({ getExtension: () => undefined, status: () => "running" as const });
  const consumer = graph.consumers.traces!;
  let rounds = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    // Fresh IDs per round would be more realistic; the same pairs complete again each round.
    await consumer.consume(Payload.fromProto("traces", pairs, TRACES_PROTO));
    rounds++;
  }
  const graphNs = ((performance.now() - t0) * 1e6) / rounds;
  await graph.shutdown();

  const after = loadAverage();
  return [
    `${started} · ${Deno.build.os} ${Deno.build.arch}, Deno ${Deno.version.deno} · load average ` +
    `${before} before, ${after} after · median of ~50 ms rounds over ${ms} ms per case`,
    "",
    "| case | bytes | items | µs per request | ns per item | MB/s |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `servicegraph, one instance, 500 client/server pairs per request (decode + pair + count): ` +
    `${(graphNs / 1000).toFixed(0)} µs per request, ${
      (graphNs / pairSpans).toFixed(0)
    } ns per span.`,
  ].join("\n");
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--ms");
  const ms = at >= 0 ? Number(Deno.args[at + 1]) : 1500;
  console.log(await runShardSplitBench(ms));
}
