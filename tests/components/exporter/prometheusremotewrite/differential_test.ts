/**
 * tfo's prometheus_remote_write exporter against the contrib Collector's (v0.161.0, built by
 * `bench/peers.sh`): the same OTLP request goes into a `tfo run` and an `otelcol-contrib`, each
 * writing to its own capturing sink, and what the sinks received must be the same samples (labels,
 * values, timestamps, native histograms, exemplars, 1.0 metadata) after sorting. Remote write 2.0
 * is compared with the Collector's `enableSendingRW2` feature gate. Skipped, saying so, when the
 * Collector is absent.
 */
import assert from "node:assert/strict";
import { freePort, waitFor, waitForPort } from "../../../fixtures/interop/services.ts";
import { encodeMetricsRequest } from "../../../../lib/otlp/mod.ts";
import type {
  ExponentialHistogramDataPoint,
  KeyValue,
  Metric,
  MetricsData,
} from "../../../../lib/pdata/types.ts";
import { makeMetrics } from "../../../fixtures/interop/sdk_data.ts";
import { OTELCOL_CONTRIB, spawnTfo } from "../prometheus/_peers.ts";
import { Sink } from "./_rw.ts";

const NOW = BigInt(Date.now()) * 1_000_000n + 123_456n;
const START = NOW - 60_000_000_000n;

function kv(attrs: Record<string, string | number | boolean | bigint>): KeyValue[] {
  return Object.entries(attrs).map(([key, value]) => ({ key, value }));
}

const TRACE = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const SPAN = Uint8Array.from({ length: 8 }, (_, i) => 0xa0 + i);

function num(value: number | bigint, attrs: Record<string, string | number | boolean> = {}) {
  return {
    attributes: kv(attrs),
    startTimeUnixNano: START,
    timeUnixNano: NOW,
    value,
    exemplars: [] as {
      filteredAttributes: KeyValue[];
      timeUnixNano: bigint;
      value: number | bigint | undefined;
      spanId: Uint8Array;
      traceId: Uint8Array;
    }[],
    flags: 0,
  };
}

function m(name: string, unit: string, data: Metric["data"], description = ""): Metric {
  return { name, description, unit, metadata: [], data };
}

const exemplar = (value: number) => ({
  filteredAttributes: kv({ "user.id": "u1" }),
  timeUnixNano: NOW - 1_000_000n,
  value,
  spanId: SPAN,
  traceId: TRACE,
});

const exp: ExponentialHistogramDataPoint = {
  attributes: kv({ kind: "exp" }),
  startTimeUnixNano: START,
  timeUnixNano: NOW,
  count: 14n,
  sum: 321.5,
  scale: 10,
  zeroCount: 2n,
  zeroThreshold: 0,
  positive: { offset: 3, bucketCounts: [1n, 0n, 2n, 0n, 0n, 0n, 0n, 3n, 1n] },
  negative: { offset: -2, bucketCounts: [2n, 3n] },
  flags: 0,
  exemplars: [],
};

function rich(): MetricsData {
  const counter = num(42n, { "http.method": "GET", "a.b": "x", a_b: "y", empty: "" });
  counter.exemplars.push(exemplar(1));
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: kv({
            "service.name": "shop",
            "service.namespace": "prod",
            "service.instance.id": "i-1",
            "host.name": "h1",
            "host.cpus": 8n,
            "k8s.pod.uid": "p-9",
          }),
          droppedAttributesCount: 0,
        },
        schemaUrl: "",
        scopeMetrics: [{
          scope: {
            name: "lib",
            version: "1.2",
            attributes: kv({ "scope.tier": "gold" }),
            droppedAttributesCount: 0,
          },
          schemaUrl: "",
          metrics: [
            m("queue.depth", "{item}", { type: "gauge", dataPoints: [num(7, { queue: "a" })] }),
            m("cpu.utilization", "1", { type: "gauge", dataPoints: [num(0.25)] }),
            m("stale.gauge", "", {
              type: "gauge",
              dataPoints: [{ ...num(1), flags: 1 }],
            }),
            m("http.requests", "", {
              type: "sum",
              isMonotonic: true,
              aggregationTemporality: 2,
              dataPoints: [counter, num(3n, { "http.method": "POST", ok: true, n: 1.5 })],
            }, "Requests served"),
            m("bytes.in", "By", {
              type: "sum",
              isMonotonic: false,
              aggregationTemporality: 2,
              dataPoints: [num(-3.5)],
            }),
            m("latency", "ms", {
              type: "histogram",
              aggregationTemporality: 2,
              dataPoints: [{
                ...num(0, { route: "/a" }),
                count: 6n,
                sum: 123.5,
                bucketCounts: [1n, 2n, 3n],
                explicitBounds: [0.5, 1e-7],
                exemplars: [exemplar(0.25), exemplar(99)],
              }, {
                ...num(0, { route: "/b" }),
                count: 2n,
                bucketCounts: [],
                explicitBounds: [],
              }],
            }),
            m("latency.exp", "s", {
              type: "exponentialHistogram",
              aggregationTemporality: 2,
              dataPoints: [exp],
            }),
            m("rpc.duration", "s", {
              type: "summary",
              dataPoints: [{
                ...num(0),
                count: 4n,
                sum: 2,
                quantileValues: [{ quantile: 0.5, value: 0.4 }, { quantile: 0.99, value: 0.9 }],
              }],
            }),
            m("delta.count", "", {
              type: "sum",
              isMonotonic: true,
              aggregationTemporality: 1,
              dataPoints: [num(1)],
            }),
            m("delta.hist", "", {
              type: "histogram",
              aggregationTemporality: 1,
              dataPoints: [{
                ...num(0),
                count: 1n,
                sum: 1,
                bucketCounts: [1n],
                explicitBounds: [],
              }],
            }),
          ],
        }],
      },
      {
        // No service.* attributes: no job or instance, so no target_info.
        resource: { attributes: kv({ "host.name": "h2" }), droppedAttributesCount: 0 },
        schemaUrl: "",
        scopeMetrics: [{
          scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
          schemaUrl: "",
          metrics: [m("other", "", { type: "gauge", dataPoints: [num(5n)] })],
        }],
      },
    ],
  };
}

function exporterBlock(endpoint: string, extra: string[]): string[] {
  return [
    "  prometheusremotewrite:",
    `    endpoint: ${endpoint}`,
    "    remote_write_queue: { enabled: false }",
    ...extra.map((l) => `    ${l}`),
  ];
}

function config(otlpPort: number, endpoint: string, extra: string[], metricsPort: number) {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${otlpPort} }`,
    "exporters:",
    ...exporterBlock(endpoint, extra),
    "service:",
    "  telemetry:",
    `    metrics: { address: 127.0.0.1:${metricsPort} }`,
    "  pipelines:",
    "    metrics: { receivers: [otlp], exporters: [prometheusremotewrite] }",
  ].join("\n");
}

function collectorConfig(otlpPort: number, endpoint: string, extra: string[]) {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${otlpPort} }`,
    "exporters:",
    ...exporterBlock(endpoint, extra),
    "service:",
    "  telemetry:",
    "    metrics: { level: none }",
    "  pipelines:",
    "    metrics: { receivers: [otlp], exporters: [prometheusremotewrite] }",
  ].join("\n");
}

async function post(port: number, body: Uint8Array): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/metrics`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body: body as Uint8Array<ArrayBuffer>,
  });
  await r.body?.cancel();
  assert.equal(r.status, 200);
}

const CASES: { name: string; extra: string[]; v2?: boolean }[] = [
  { name: "defaults", extra: [] },
  {
    name: "namespace, external labels, resource attributes, metadata, no scope info",
    extra: [
      "namespace: acme",
      "external_labels: { cluster: c1, job: ignored }",
      "resource_to_telemetry_conversion: { enabled: true }",
      "send_metadata: true",
      "disable_scope_info: true",
    ],
  },
  {
    name: "no suffixes, no target_info, included resource attributes",
    extra: [
      "add_metric_suffixes: false",
      "target_info: { enabled: false }",
      'resource_constant_labels: { included: ["host.*"], excluded: ["host.cpus"] }',
    ],
  },
  {
    name: "remote write 2.0",
    extra: ["protobuf_message: io.prometheus.write.v2.Request"],
    v2: true,
  },
];

for (const c of CASES) {
  Deno.test({
    name: `prometheus_remote_write writes what the Collector's writes: ${c.name}`,
    ignore: OTELCOL_CONTRIB === undefined,
    async fn() {
      const version = c.v2 ? 2 : 1;
      const tfoSink = new Sink(version);
      const colSink = new Sink(version);
      const tfoPort = freePort();
      const colPort = freePort();
      try {
        await using tfo = await spawnTfo(() => config(tfoPort, tfoSink.url, c.extra, freePort()));
        // The Collector sends 2.0 only behind its feature gate.
        const gates = c.v2 ? [`--feature-gates=${RW2_GATE}`] : [];
        await using col = await spawnOtelcol(
          () => collectorConfig(colPort, colSink.url, c.extra),
          gates,
        );
        await waitForPort(tfoPort, 60_000).catch((e) => {
          throw new Error(`tfo did not start:\n${tfo.output()}`, { cause: e });
        });
        await waitForPort(colPort, 60_000).catch((e) => {
          throw new Error(`The Collector did not start:\n${col.output()}`, { cause: e });
        });
        const sdk = await makeMetrics();
        for (const body of [encodeMetricsRequest(rich()), sdk.bytes]) {
          const before = [tfoSink.received.length, colSink.received.length];
          await post(tfoPort, body);
          await post(colPort, body);
          await waitFor(
            "both sinks to receive the request",
            () =>
              tfoSink.received.length > before[0]! && colSink.received.length > before[1]!
                ? Promise.resolve(true)
                : Promise.resolve(undefined),
            30_000,
          );
        }
        // Let any further request of a split batch arrive.
        await new Promise((r) => setTimeout(r, 500));
        const ours = tfoSink.samples();
        const theirs = colSink.samples();
        assert.ok(theirs.length > 20, `the Collector wrote ${theirs.length} samples`);
        assert.deepEqual(ours, theirs);
        assert.deepEqual(exemplarsOf(tfoSink), exemplarsOf(colSink));
        assert.deepEqual(metadataOf(tfoSink), metadataOf(colSink));
      } finally {
        await tfoSink.close();
        await colSink.close();
      }
    },
  });
}

const RW2_GATE = "exporter.prometheusremotewritexporter.enableSendingRW2";

/** Starts the contrib Collector with extra command-line arguments. */
async function spawnOtelcol(cfg: () => string, args: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "tfo-prw-col-" });
  await Deno.writeTextFile(`${dir}/config.yaml`, cfg());
  const child = new Deno.Command(OTELCOL_CONTRIB!, {
    args: ["--config", `${dir}/config.yaml`, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const done = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  return {
    output: () => text,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // exited already
      }
      await child.status;
      await done;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

function exemplarsOf(sink: Sink): string[] {
  const out: string[] = [];
  for (const r of sink.received) {
    for (const s of r.decoded.series) {
      for (const e of s.exemplars) out.push(JSON.stringify([s.labels.__name__, s.labels.le, e]));
    }
  }
  return out.sort();
}

function metadataOf(sink: Sink): string[] {
  const out: string[] = [];
  for (const r of sink.received) {
    for (const md of r.decoded.metadata) out.push(JSON.stringify(md));
    for (const s of r.decoded.series) {
      if (s.metadata !== undefined) out.push(JSON.stringify([s.labels.__name__, s.metadata]));
    }
  }
  return [...new Set(out)].sort();
}
