/**
 * The prometheus_remote_write exporter writing into real Prometheus servers (Debian's 2.42 for
 * remote write 1.0; the Prometheus 3 that `bench/peers.sh` builds for 2.0), each started here on
 * a free loopback port with temp storage: metrics from the OpenTelemetry JS SDK, from telemetrygen
 * and a hand-made summary go through a `tfo run` child process, and what Prometheus stored is
 * read back through its HTTP query API — names, labels (external labels, resource attributes,
 * target_info), values and the samples' own timestamps. Skipped, saying so, when a server (or
 * telemetrygen) is absent.
 */
import assert from "node:assert/strict";
import { makeMetrics, sdkExport } from "../../../fixtures/interop/sdk_data.ts";
import { freePort, waitForPort } from "../../../fixtures/interop/services.ts";
import { encodeMetricsRequest } from "../../../../lib/otlp/mod.ts";
import { anyValueToString } from "../../../../lib/pdata/attributes.ts";
import type { MetricsData, NumberDataPoint } from "../../../../lib/pdata/types.ts";
import { promQuery, spawnTfo, TELEMETRYGEN, waitForSeries } from "../prometheus/_peers.ts";
import { PROMETHEUS_2, PROMETHEUS_3, startRwPrometheus } from "./_servers.ts";

function tfoConfig(
  ports: { grpc: number; http: number },
  endpoint: string,
  v2: boolean,
): string {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      grpc: { endpoint: 127.0.0.1:${ports.grpc} }`,
    `      http: { endpoint: 127.0.0.1:${ports.http} }`,
    "exporters:",
    "  prometheus_remote_write:",
    `    endpoint: ${endpoint}`,
    ...(v2 ? ["    protobuf_message: io.prometheus.write.v2.Request"] : []),
    "    external_labels: { cluster: c1 }",
    "    resource_to_telemetry_conversion: { enabled: true, exclude_service_attributes: true }",
    "    retry_on_failure: { initial_interval: 100ms, max_interval: 200ms }",
    "service:",
    "  telemetry:",
    `    metrics: { address: 127.0.0.1:${freePort()} }`,
    "  pipelines:",
    "    metrics: { receivers: [otlp], exporters: [prometheus_remote_write] }",
  ].join("\n");
}

function labelsOf(s: { metric: Record<string, string> }): Record<string, string> {
  const { __name__: _, ...rest } = s.metric;
  return rest;
}

/** A cumulative summary, which neither the SDK nor telemetrygen makes. */
function summary(timeNs: bigint): MetricsData {
  return {
    resourceMetrics: [{
      resource: {
        attributes: [{ key: "service.name", value: "sumsvc" }],
        droppedAttributesCount: 0,
      },
      schemaUrl: "",
      scopeMetrics: [{
        scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
        schemaUrl: "",
        metrics: [{
          name: "rpc.latency",
          description: "",
          unit: "s",
          metadata: [],
          data: {
            type: "summary",
            dataPoints: [{
              attributes: [{ key: "op", value: "get" }],
              startTimeUnixNano: timeNs - 60_000_000_000n,
              timeUnixNano: timeNs,
              count: 10n,
              sum: 4.5,
              quantileValues: [{ quantile: 0.5, value: 0.25 }, { quantile: 0.9, value: 0.75 }],
              flags: 0,
            }],
          },
        }],
      }],
    }],
  };
}

async function telemetrygen(port: number, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(TELEMETRYGEN!, {
    args: [
      "metrics",
      "--otlp-endpoint",
      `127.0.0.1:${port}`,
      "--otlp-insecure",
      "--metrics",
      "3",
      "--rate",
      "0",
      "--service",
      "tgsvc",
      "--telemetry-attributes",
      'k="v"',
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

for (const v2 of [false, true]) {
  const binary = v2 ? PROMETHEUS_3 : PROMETHEUS_2;
  Deno.test({
    name: `Prometheus ${v2 ? "3 stores remote write 2.0" : "2.42 stores remote write 1.0"} ` +
      "from the JS SDK, telemetrygen and a summary through tfo: names, labels, values, timestamps",
    ignore: binary === undefined,
    async fn(t) {
      await using prom = await startRwPrometheus(binary!, v2);
      const ports = { grpc: freePort(), http: freePort() };
      await using tfo = await spawnTfo(() => tfoConfig(ports, prom.url, v2));
      await waitForPort(ports.http, 60_000).catch((e) => {
        throw new Error(`tfo did not start:\n${tfo.output()}`, { cause: e });
      });

      await t.step("the JS SDK's metrics", async () => {
        const batch = await makeMetrics();
        await sdkExport(batch, "http/protobuf", {
          httpBase: `http://127.0.0.1:${ports.http}`,
          grpcAddress: `127.0.0.1:${ports.grpc}`,
        });
        const rm = batch.expected.resourceMetrics[0]!;
        const scope = rm.scopeMetrics[0]!;
        const requests = scope.metrics.find((m) => m.name === "requests")!;
        const points = (requests.data as { dataPoints: NumberDataPoint[] }).dataPoints;
        const routeA = points.find((p) => p.attributes.some((a) => a.value === "/a"))!;
        const timeMs = Number(routeA.timeUnixNano / 1_000_000n);

        const raw = await waitForSeries(prom.port, 'requests_total{route="/a"}[10m]');
        assert.equal(raw.length, 1);
        const labels = labelsOf(raw[0]!);
        // The SDK's resource attributes, copied onto the series (service.* left out: they are
        // job and instance already).
        // Empty values make no label.
        const resourceKeys = rm.resource.attributes
          .filter((a) => anyValueToString(a.value) !== "")
          .map((a) => a.key)
          .filter((k) => !k.startsWith("service."));
        assert.ok(resourceKeys.length > 0);
        for (const k of resourceKeys) {
          assert.ok(
            k.replaceAll(/[^a-zA-Z0-9]/g, "_") in labels,
            `label for ${k}: ${JSON.stringify(labels)}`,
          );
        }
        assert.equal(labels.code, "200");
        assert.equal(labels.route, "/a");
        assert.equal(labels.cluster, "c1");
        assert.equal(labels.job, "interop-checkout");
        assert.equal(labels.otel_scope_name, "interop.meter");
        assert.equal(labels.otel_scope_version, "7.8.9");
        assert.equal("service_name" in labels, false);
        const [ts, value] = raw[0]!.values!.at(-1)!;
        assert.equal(Number(value), 7);
        assert.equal(Math.round(ts * 1000), timeMs, "the sample keeps the data point's timestamp");

        const bytes = await waitForSeries(prom.port, "bytes_out_total");
        assert.equal(Number(bytes[0]!.value![1]), 3.75);
        const temp = await waitForSeries(prom.port, 'temperature_celsius{room="freezer"}');
        assert.equal(Number(temp[0]!.value![1]), -3.25);
        assert.equal(temp[0]!.metric.otel_scope_name, "interop.second");
        const cpu = await waitForSeries(prom.port, 'cpu_time_seconds_total{state="user"}');
        assert.equal(Number(cpu[0]!.value![1]), 1234.5);
        const info = await waitForSeries(prom.port, 'target_info{job="interop-checkout"}');
        assert.equal(info.length, 1);
        assert.equal(Number(info[0]!.value![1]), 1);
        assert.equal(info[0]!.metric.cluster, "c1");
        for (const k of resourceKeys) {
          assert.ok(k.replaceAll(/[^a-zA-Z0-9]/g, "_") in info[0]!.metric, `target_info ${k}`);
        }
        // Delta histograms and the delta up-down counter cannot be written: dropped.
        assert.deepEqual(await promQuery(prom.port, "latency_milliseconds_count"), []);
        assert.deepEqual(await promQuery(prom.port, "queue_depth"), []);
      });

      await t.step({
        name: "telemetrygen's cumulative sums, histograms and exponential histograms",
        ignore: TELEMETRYGEN === undefined,
        fn: async () => {
          const before = Date.now();
          await telemetrygen(ports.grpc, [
            "--metric-type",
            "Sum",
            "--aggregation-temporality",
            "cumulative",
            "--otlp-metric-name",
            "tg.sum",
          ]);
          await telemetrygen(ports.grpc, [
            "--metric-type",
            "Histogram",
            "--aggregation-temporality",
            "cumulative",
            "--otlp-metric-name",
            "tg.hist",
          ]);
          await telemetrygen(ports.grpc, [
            "--metric-type",
            "ExponentialHistogram",
            "--aggregation-temporality",
            "cumulative",
            "--otlp-metric-name",
            "tg.exp",
          ]);
          const sum = await waitForSeries(prom.port, "tg_sum_total[10m]");
          assert.equal(sum[0]!.metric.job, "tgsvc");
          assert.equal(sum[0]!.metric.k, "v");
          assert.equal(sum[0]!.metric.cluster, "c1");
          const [ts] = sum[0]!.values!.at(-1)!;
          assert.ok(ts * 1000 >= before - 5000 && ts * 1000 <= Date.now() + 1000, `time ${ts}`);
          const inf = await waitForSeries(prom.port, 'tg_hist_bucket{le="+Inf"}');
          const count = await waitForSeries(prom.port, "tg_hist_count");
          assert.equal(inf[0]!.value![1], count[0]!.value![1], "+Inf bucket = count");
          assert.ok(Number(count[0]!.value![1]) > 0);
          await waitForSeries(prom.port, "tg_hist_sum");
          const exp = await waitForSeries(prom.port, "histogram_count(tg_exp)");
          assert.ok(Number(exp[0]!.value![1]) > 0, "the exponential histogram is a native one");
        },
      });

      await t.step("a summary", async () => {
        const now = BigInt(Date.now()) * 1_000_000n;
        const r = await fetch(`http://127.0.0.1:${ports.http}/v1/metrics`, {
          method: "POST",
          headers: { "content-type": "application/x-protobuf" },
          body: encodeMetricsRequest(summary(now)) as Uint8Array<ArrayBuffer>,
        });
        await r.body?.cancel();
        assert.equal(r.status, 200);
        const q = await waitForSeries(prom.port, 'rpc_latency_seconds{quantile="0.9"}[10m]');
        assert.deepEqual(labelsOf(q[0]!), {
          cluster: "c1",
          job: "sumsvc",
          op: "get",
          quantile: "0.9",
        });
        const [ts, v] = q[0]!.values!.at(-1)!;
        assert.equal(Number(v), 0.75);
        assert.equal(Math.round(ts * 1000), Number(now / 1_000_000n));
        const c = await waitForSeries(prom.port, "rpc_latency_seconds_count");
        assert.equal(Number(c[0]!.value![1]), 10);
        const s = await waitForSeries(prom.port, "rpc_latency_seconds_sum");
        assert.equal(Number(s[0]!.value![1]), 4.5);
      });
    },
  });
}
