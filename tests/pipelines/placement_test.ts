import assert from "node:assert/strict";
import { BUILTIN_COMPONENTS } from "../../components/registry.ts";
import type { ResolvedConfig } from "../../pipelines/config.ts";
import {
  inboxId,
  outboxId,
  placementOf,
  routerId,
  splitForWorkers,
  type WorkerLinks,
} from "../../pipelines/placement.ts";
import { loadAndValidateConfig } from "../../pipelines/validate.ts";
import { createOutbox, createShardRouter, WorkerHub } from "../../pipelines/worker_link.ts";

async function resolve(text: string): Promise<ResolvedConfig> {
  const { config, diagnostics } = await loadAndValidateConfig(
    { files: [], texts: [{ name: "t.yaml", text }], env: {} },
    BUILTIN_COMPONENTS,
  );
  assert(config !== undefined, JSON.stringify(diagnostics));
  return config;
}

function links(): Required<WorkerLinks> {
  const hub = new WorkerHub();
  return {
    inbox: hub.inbox,
    outbox: createOutbox(() => {}).factory,
    shard: createShardRouter({ index: 0, count: 2, hub, send: () => Promise.resolve() }),
  };
}

const BASE = `
receivers:
  otlp: {protocols: {http: {endpoint: 127.0.0.1:4318}, grpc: {endpoint: 127.0.0.1:4317}}}
  host_metrics: {scrapers: {load: {}}}
processors:
  batch: {}
  transform: {trace_statements: ['set(span.attributes["a"], "b")']}
  tail_sampling: {policies: [{name: all, type: always_sample}]}
extensions:
  file_storage: {directory: /tmp}
  health_check: {}
exporters:
  debug: {}
  otlp_http: {endpoint: "http://127.0.0.1:1"}
  otlp_http/disk: {endpoint: "http://127.0.0.1:1", sending_queue: {storage: file_storage}}
  prometheus: {endpoint: 127.0.0.1:9464}
connectors:
  forward: {}
  spanmetrics: {}
`;

Deno.test("placement: declared and default placements, persistent queues single", async () => {
  const c = await resolve(
    BASE + `
service:
  extensions: [file_storage, health_check]
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`,
  );
  assert.deepStrictEqual(placementOf(c.receivers.get("otlp")!), "stateless");
  assert.deepStrictEqual(placementOf(c.receivers.get("host_metrics")!), "single");
  assert.deepStrictEqual(placementOf(c.processors.get("batch")!), "stateless");
  assert.deepStrictEqual(placementOf(c.processors.get("tail_sampling")!), { sharded: "trace_id" });
  assert.deepStrictEqual(placementOf(c.exporters.get("otlp_http")!), "stateless");
  assert.deepStrictEqual(placementOf(c.exporters.get("otlp_http/disk")!), "single");
  assert.deepStrictEqual(placementOf(c.exporters.get("prometheus")!), "single");
  assert.deepStrictEqual(placementOf(c.extensions.get("file_storage")!), "single");
  assert.deepStrictEqual(placementOf(c.connectors.get("spanmetrics")!), { sharded: "service" });
  assert.deepStrictEqual(placementOf(c.connectors.get("forward")!), "stateless");
});

Deno.test("placement: a stateless pipeline is replicated, a sharded one split by key, others forwarded to the primary", async () => {
  const c = await resolve(
    BASE + `
service:
  extensions: [file_storage, health_check]
  pipelines:
    logs: {receivers: [otlp], processors: [batch], exporters: [otlp_http]}
    traces: {receivers: [otlp], processors: [transform, tail_sampling], exporters: [debug]}
    traces/disk: {receivers: [otlp], processors: [transform], exporters: [otlp_http/disk]}
    metrics: {receivers: [host_metrics, otlp], exporters: [prometheus]}
`,
  );
  const split = splitForWorkers(c, links());
  assert.deepStrictEqual(split.replicated, ["logs"]);
  assert.deepStrictEqual(split.forwarded, ["traces/disk", "metrics"]);
  assert.deepStrictEqual(split.sharded, ["traces"]);
  const w = split.worker!;
  // The worker runs the push receiver, the link receiver of its shard, the stateless pipeline
  // whole, the sharded one behind its router, and link exporters for the forwarded ones.
  assert.deepStrictEqual([...w.receivers.keys()], ["otlp", inboxId("traces")]);
  assert.deepStrictEqual([...w.processors.keys()], ["batch", "transform", "tail_sampling"]);
  assert.deepStrictEqual(
    [...w.exporters.keys()].sort(),
    [
      "debug",
      "otlp_http",
      outboxId("metrics"),
      outboxId("traces/disk"),
      routerId("traces"),
    ].sort(),
  );
  assert.deepStrictEqual(w.service.pipelines.get("traces"), {
    id: "traces",
    signal: "traces",
    receivers: [inboxId("traces")],
    processors: ["transform", "tail_sampling"],
    exporters: ["debug"],
  });
  assert.deepStrictEqual(w.service.pipelines.get("traces/tfo_worker_shard_traces"), {
    id: "traces/tfo_worker_shard_traces",
    signal: "traces",
    receivers: ["otlp"],
    processors: [],
    exporters: [routerId("traces")],
  });
  assert.deepStrictEqual(w.service.pipelines.get("traces/disk")!.processors, []);
  assert.deepStrictEqual(w.service.pipelines.get("metrics")!.receivers, ["otlp"]);
  // No extension that holds state, no port of its own for the metrics.
  assert.deepStrictEqual([...w.extensions.keys()], []);
  assert.deepStrictEqual(w.service.extensions, []);
  assert.deepStrictEqual(w.service.telemetry.metrics.readers, []);
  // The primary runs everything, plus a link receiver per forwarded pipeline and its shard.
  const p = split.primary;
  assert.deepStrictEqual(p.service.pipelines.get("traces/disk")!.receivers, [
    "otlp",
    inboxId("traces/disk"),
  ]);
  assert.deepStrictEqual(p.service.pipelines.get("traces")!.receivers, [inboxId("traces")]);
  assert.deepStrictEqual(
    p.service.pipelines.get("traces/tfo_worker_shard_traces")!.receivers,
    ["otlp"],
  );
  assert.deepStrictEqual(p.service.pipelines.get("logs")!.receivers, ["otlp"]);
  assert.deepStrictEqual(p.service.pipelines.get("metrics")!.receivers, [
    "host_metrics",
    "otlp",
    inboxId("metrics"),
  ]);
  assert(p.receivers.has("host_metrics") && p.exporters.has("prometheus"));
});

Deno.test("placement: without a shard router, sharded components are placed single", async () => {
  const c = await resolve(
    BASE + `
service:
  pipelines:
    traces: {receivers: [otlp], processors: [tail_sampling], exporters: [debug]}
`,
  );
  const { shard: _, ...noShard } = links();
  const split = splitForWorkers(c, noShard);
  assert.deepStrictEqual(split.sharded, []);
  assert.deepStrictEqual(split.forwarded, ["traces"]);
});

Deno.test("placement: connectors replicate only when every pipeline behind them does", async () => {
  const c = await resolve(
    BASE + `
service:
  pipelines:
    traces/in: {receivers: [otlp], exporters: [forward]}
    traces/out: {receivers: [forward], processors: [batch], exporters: [debug]}
    traces/metered: {receivers: [otlp], exporters: [spanmetrics]}
    metrics: {receivers: [spanmetrics], exporters: [debug]}
`,
  );
  const split = splitForWorkers(c, links());
  assert.deepStrictEqual(split.replicated, ["traces/in", "traces/out", "metrics"]);
  assert.deepStrictEqual(split.forwarded, []);
  // span_metrics by service: each worker's instance gets whole services, and its series go on
  // through the metrics pipeline of the same worker.
  assert.deepStrictEqual(split.sharded, ["traces/metered"]);
  const w = split.worker!;
  assert.deepStrictEqual([...w.connectors.keys()].sort(), ["forward", "spanmetrics"]);
  assert.deepStrictEqual(w.service.pipelines.get("metrics")!.receivers, ["spanmetrics"]);
});

Deno.test("placement: a config of pull receivers only gives the other workers nothing", async () => {
  const c = await resolve(
    BASE + `
service:
  pipelines:
    metrics: {receivers: [host_metrics], exporters: [debug]}
`,
  );
  const split = splitForWorkers(c, links());
  assert.deepStrictEqual(split.worker, undefined);
  assert.deepStrictEqual(split.primary, c);
});

Deno.test("placement: service.workers takes a count or auto", async () => {
  const pipelines = `  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`;
  const two = await resolve(BASE + `service:\n  workers: 2\n` + pipelines);
  assert.deepStrictEqual(two.service.workers, 2);
  const auto = await resolve(BASE + `service:\n  workers: auto\n` + pipelines);
  assert.deepStrictEqual(auto.service.workers, navigator.hardwareConcurrency);
  const bad = await loadAndValidateConfig(
    { files: [], texts: [{ name: "t.yaml", text: BASE + `service:\n  workers: 0\n` + pipelines }] },
    BUILTIN_COMPONENTS,
  );
  assert.deepStrictEqual(bad.config, undefined);
  assert(bad.diagnostics.some((d) => d.path === "service.workers"));
});

Deno.test("placement: a sharded component's limits are split over its instances, not when it runs single", async () => {
  const c = await resolve(
    BASE.replace(
      "  batch: {}\n",
      "  batch: {}\n  tail_sampling/disk: {num_traces: 1000, policies: [{name: all, type: always_sample}]}\n",
    ) + `
service:
  extensions: [file_storage]
  pipelines:
    traces: {receivers: [otlp], processors: [tail_sampling], exporters: [debug]}
    traces/disk: {receivers: [otlp], processors: [tail_sampling/disk], exporters: [otlp_http/disk]}
`,
  );
  const split = splitForWorkers(c, links(), 4);
  assert.deepStrictEqual(split.sharded, ["traces"]);
  assert.deepStrictEqual(split.forwarded, ["traces/disk"]);
  const numTraces = (cfg: ResolvedConfig, id: string) =>
    (cfg.processors.get(id)!.config as { num_traces: number }).num_traces;
  assert.equal(numTraces(split.worker!, "tail_sampling"), 12_500, "50000 over 4 instances");
  assert.equal(numTraces(split.primary, "tail_sampling"), 12_500);
  assert.equal(numTraces(split.primary, "tail_sampling/disk"), 1000, "the only instance");
});
