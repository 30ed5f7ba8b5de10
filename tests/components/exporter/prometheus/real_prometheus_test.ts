/**
 * The prometheus exporter scraped by a real Prometheus server (Debian's `prometheus`, started here
 * on free loopback ports with a temp config and storage): metrics from the OpenTelemetry JS SDK
 * and from telemetrygen go into a `tfo run` child process, and what Prometheus stored is read
 * back through its HTTP API — names, labels, values and the samples' own timestamps
 * (`send_timestamps`). The same tfo also writes every batch to a `file` exporter, which tells the
 * test what telemetrygen sent. Prometheus runs with native histograms on, so it scrapes the protobuf
 * exposition and stores the exponential histogram as a native one. Skipped, saying so, when Prometheus (or telemetrygen) is absent.
 */
import assert from "node:assert/strict";
import { makeMetrics, sdkExport } from "../../../fixtures/interop/sdk_data.ts";
import { freePort, waitFor, waitForPort } from "../../../fixtures/interop/services.ts";
import { decodeMetricsJson } from "../../../../lib/otlp/mod.ts";
import type { MetricsData, NumberDataPoint } from "../../../../lib/pdata/types.ts";
import {
  PROMETHEUS,
  promQuery,
  spawnPrometheus,
  spawnTfo,
  TELEMETRYGEN,
  waitForHttp,
  waitForSeries,
} from "./_peers.ts";

function tfoConfig(dir: string, ports: { grpc: number; http: number; prom: number }): string {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      grpc: { endpoint: 127.0.0.1:${ports.grpc} }`,
    `      http: { endpoint: 127.0.0.1:${ports.http} }`,
    "exporters:",
    "  prometheus:",
    `    endpoint: 127.0.0.1:${ports.prom}`,
    "    send_timestamps: true",
    "  file:",
    `    path: ${dir}/metrics.json`,
    "service:",
    "  telemetry:",
    `    metrics: { address: 127.0.0.1:${freePort()} }`,
    "  pipelines:",
    "    metrics: { receivers: [otlp], exporters: [prometheus, file] }",
  ].join("\n");
}

function labelsOf(s: { metric: Record<string, string> }): Record<string, string> {
  const { __name__: _, ...rest } = s.metric;
  return rest;
}

Deno.test({
  name: "Prometheus scrapes what the JS SDK and telemetrygen sent through tfo, names, labels, " +
    "values and timestamps intact",
  ignore: PROMETHEUS === undefined,
  async fn(t) {
    const ports = { grpc: freePort(), http: freePort(), prom: freePort() };
    await using tfo = await spawnTfo((dir) => tfoConfig(dir, ports));
    await waitForPort(ports.prom, 60_000).catch((e) => {
      throw new Error(`tfo did not start:\n${tfo.output()}`, { cause: e });
    });
    const promPort = freePort();
    await using prom = await spawnPrometheus(promPort, `127.0.0.1:${ports.prom}`);
    await waitForHttp(`http://127.0.0.1:${promPort}/-/ready`, prom);

    await t.step("the JS SDK's metrics", async () => {
      const batch = await makeMetrics();
      await sdkExport(batch, "http/protobuf", {
        httpBase: `http://127.0.0.1:${ports.http}`,
        grpcAddress: `127.0.0.1:${ports.grpc}`,
      });
      const scope = batch.expected.resourceMetrics[0]!.scopeMetrics[0]!;
      const requests = scope.metrics.find((m) => m.name === "requests")!;
      const points = (requests.data as { dataPoints: NumberDataPoint[] }).dataPoints;
      const routeA = points.find((p) => p.attributes.some((a) => a.value === "/a"))!;
      const timeMs = Number(routeA.timeUnixNano / 1_000_000n);

      const raw = await waitForSeries(promPort, 'requests_total{route="/a"}[10m]');
      assert.equal(raw.length, 1);
      assert.deepEqual(labelsOf(raw[0]!), {
        code: "200",
        instance: `127.0.0.1:${ports.prom}`,
        job: "interop-checkout",
        otel_scope_name: "interop.meter",
        otel_scope_schema_url: "https://opentelemetry.io/schemas/1.24.0",
        otel_scope_version: "7.8.9",
        route: "/a",
      });
      const [ts, value] = raw[0]!.values!.at(-1)!;
      assert.equal(Number(value), 7);
      assert.equal(Math.round(ts * 1000), timeMs, "the sample keeps the data point's timestamp");

      // `bytes.out` in By: the unit suffix is left out, a name token already says "bytes".
      const bytes = await waitForSeries(promPort, "bytes_out_total");
      assert.equal(Number(bytes[0]!.value![1]), 3.75);
      const temp = await waitForSeries(promPort, 'temperature_celsius{room="freezer"}');
      assert.equal(Number(temp[0]!.value![1]), -3.25);
      assert.equal(temp[0]!.metric.otel_scope_name, "interop.second");
      const cpu = await waitForSeries(promPort, 'cpu_time_seconds_total{state="user"}');
      assert.equal(Number(cpu[0]!.value![1]), 1234.5);
      // The delta histogram, accumulated: values 0, 1, 4.5, 5, 7, 99, 250 at route /a.
      // Prometheus writes `le` of a protobuf scrape as OpenMetrics does: "5.0".
      const le5 = await waitForSeries(promPort, 'latency_milliseconds_bucket{route="/a",le="5.0"}');
      assert.equal(Number(le5[0]!.value![1]), 4);
      const inf = await waitForSeries(
        promPort,
        'latency_milliseconds_bucket{route="/a",le="+Inf"}',
      );
      assert.equal(Number(inf[0]!.value![1]), 7);
      const sum = await waitForSeries(promPort, 'latency_milliseconds_sum{route="/a"}');
      assert.equal(Number(sum[0]!.value![1]), 0 + 1 + 4.5 + 5 + 7 + 99 + 250);
      // The exponential histogram, as a native histogram (protobuf scrape).
      const exp = await waitForSeries(promPort, 'histogram_count(latency_exp_seconds{kind="exp"})');
      assert.equal(Number(exp[0]!.value![1]), 8);
      const expSum = await waitForSeries(
        promPort,
        'histogram_sum(latency_exp_seconds{kind="exp"})',
      );
      assert.equal(Number(expSum[0]!.value![1]), 0 + 0.001 + 0.5 + 1 + 2 + 3 + 1000 + 123456.789);
      // Half the values are at most 1: the median falls in the bucket holding 1.
      const median = await waitForSeries(
        promPort,
        'histogram_quantile(0.5, latency_exp_seconds{kind="exp"})',
      );
      const m = Number(median[0]!.value![1]);
      assert.ok(m > 0.5 && m <= 1.1, `median ${m}`);
      // The delta up-down counter cannot be cumulative: not exposed.
      assert.deepEqual(await promQuery(promPort, "queue_depth"), []);
    });

    await t.step({
      name: "telemetrygen's gauges",
      ignore: TELEMETRYGEN === undefined,
      fn: async () => {
        const { code, stderr } = await new Deno.Command(TELEMETRYGEN!, {
          args: [
            "metrics",
            "--otlp-endpoint",
            `127.0.0.1:${ports.grpc}`,
            "--otlp-insecure",
            "--metrics",
            "3",
            "--rate",
            "0",
            "--otlp-metric-name",
            "tg.gauge",
            "--service",
            "tgsvc",
            "--telemetry-attributes",
            'k="v"',
          ],
          stdout: "null",
          stderr: "piped",
        }).output();
        assert.equal(code, 0, new TextDecoder().decode(stderr));
        // What telemetrygen sent, as tfo's file exporter wrote it.
        const sent = await waitFor("telemetrygen's points in the file", async () => {
          const lines = (await Deno.readTextFile(`${tfo.dir}/metrics.json`)).split("\n");
          const points: NumberDataPoint[] = [];
          for (const line of lines) {
            if (line === "") continue;
            const data: MetricsData = decodeMetricsJson(new TextEncoder().encode(line));
            for (const rm of data.resourceMetrics) {
              for (const sm of rm.scopeMetrics) {
                for (const m of sm.metrics) {
                  if (m.name === "tg.gauge" && m.data?.type === "gauge") {
                    points.push(...m.data.dataPoints);
                  }
                }
              }
            }
          }
          return points.length >= 3 ? points : undefined;
        });
        const last = sent.reduce((a, b) => a.timeUnixNano >= b.timeUnixNano ? a : b);
        const raw = await waitForSeries(promPort, "tg_gauge[10m]");
        assert.equal(raw.length, 1);
        assert.equal(raw[0]!.metric.job, "tgsvc");
        assert.equal(raw[0]!.metric.k, "v");
        const lastSample = await waitFor("the last gauge value scraped", async () => {
          const r = await promQuery(promPort, "tg_gauge[10m]");
          const v = r[0]?.values?.at(-1);
          return v !== undefined &&
              Math.round(v[0] * 1000) === Number(last.timeUnixNano / 1_000_000n)
            ? v
            : undefined;
        });
        assert.equal(Number(lastSample[1]), Number(last.value));
      },
    });
  },
});
