/**
 * The prometheus exporter's own listener: `/metrics` only, over HTTPS with `tls`, a clear error
 * when the port is taken, and the self-metric counting degraded native histograms.
 */
import assert from "node:assert/strict";
import { createPrometheusExporter } from "../../../../components/exporter/prometheus/factory.ts";
import { prometheusExporterConfigSchema } from "../../../../components/exporter/prometheus/config.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newMetric, newResource, newScope } from "../../../../lib/pdata/new.ts";
import { AggregationTemporality, type MetricsData } from "../../../../lib/pdata/types.ts";
import { settingsFor, testCertificates } from "../otlp/_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const HOST = { getExtension: () => undefined, status: () => "running" as const };

function expHistogram(): MetricsData {
  return {
    resourceMetrics: [{
      resource: newResource(),
      schemaUrl: "",
      scopeMetrics: [{
        scope: newScope({ name: "s" }),
        schemaUrl: "",
        metrics: [newMetric({
          name: "lat",
          unit: "s",
          data: {
            type: "exponentialHistogram",
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPoints: [{
              attributes: [],
              startTimeUnixNano: 0n,
              timeUnixNano: 1_700_000_000_000_000_000n,
              count: 3n,
              sum: 6,
              scale: 1,
              zeroCount: 0n,
              positive: { offset: 0, bucketCounts: [1n, 2n] },
              negative: { offset: 0, bucketCounts: [] },
              flags: 0,
              exemplars: [],
              zeroThreshold: 0,
            }],
          },
        })],
      }],
    }],
  };
}

Deno.test("serves /metrics only, counts degraded native histograms, and stops", async () => {
  const config = prometheusExporterConfigSchema.parse({ endpoint: "127.0.0.1:0" });
  const kit = settingsFor("prometheus", config);
  const exporter = createPrometheusExporter(kit.settings, ["metrics"]);
  await exporter.start(HOST);
  try {
    await exporter.consumers.metrics!.consume(Payload.of("metrics", expHistogram()));
    const base = `http://127.0.0.1:${exporter.port}`;
    const other = await fetch(`${base}/`);
    await other.body?.cancel();
    assert.equal(other.status, 404);
    const r = await fetch(`${base}/metrics`);
    assert.match(r.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    assert.match(
      text,
      /^lat_seconds_count\{otel_scope_name="s",otel_scope_schema_url="",otel_scope_version=""\} 3$/m,
    );
    assert.match(
      kit.registry.render(),
      /tfo_exporter_prometheus_degraded_native_histograms\{exporter="prometheus"\} 1/,
    );
    // Taken port: a clear error, naming the address.
    const second = createPrometheusExporter(
      settingsFor(
        "prometheus/2",
        prometheusExporterConfigSchema.parse({
          endpoint: `127.0.0.1:${exporter.port}`,
        }),
      ).settings,
      ["metrics"],
    );
    await assert.rejects(() => second.start(HOST), /127\.0\.0\.1/);
    await second.shutdown();
  } finally {
    await exporter.shutdown();
    await exporter.shutdown();
  }
});

Deno.test("serves HTTPS with tls.cert_file and tls.key_file", async () => {
  const certs = await testCertificates();
  if (certs === undefined) {
    console.warn("skipped: openssl is not installed");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cert.pem`, certs.serverCertPem);
    await Deno.writeTextFile(`${dir}/key.pem`, certs.serverKeyPem);
    const config = prometheusExporterConfigSchema.parse({
      endpoint: "127.0.0.1:0",
      tls: { cert_file: `${dir}/cert.pem`, key_file: `${dir}/key.pem` },
    });
    const exporter = createPrometheusExporter(settingsFor("prometheus", config).settings, [
      "metrics",
    ]);
    await exporter.start(HOST);
    const client = Deno.createHttpClient({ caCerts: [certs.caPem] });
    try {
      await exporter.consumers.metrics!.consume(Payload.of("metrics", expHistogram()));
      const r = await fetch(`https://127.0.0.1:${exporter.port}/metrics`, { client });
      assert.equal(r.status, 200);
      assert.match(await r.text(), /lat_seconds_sum/);
    } finally {
      client.close();
      await exporter.shutdown();
    }
    const missing = createPrometheusExporter(
      settingsFor("prometheus", { ...config, tls: { cert_file: `${dir}/nope`, key_file: "x" } })
        .settings,
      ["metrics"],
    );
    await assert.rejects(() => missing.start(HOST), /cannot read the certificate file/);
  } finally {
    await certs.remove();
    await Deno.remove(dir, { recursive: true });
  }
});
