import assert from "node:assert/strict";
import { BUILTIN_FACTORIES } from "../../components/builtin_factories.ts";
import { loadAndValidateConfig } from "../../pipelines/validate.ts";
import { formatDiagnostic } from "../../pipelines/diagnostics.ts";

async function check(text: string) {
  const { config, diagnostics } = await loadAndValidateConfig(
    { files: [], texts: [{ name: "c.yaml", text }], env: {} },
    BUILTIN_FACTORIES,
  );
  return { config, lines: diagnostics.map(formatDiagnostic) };
}

const PIPELINES = `
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}}}
exporters:
  debug: {}
`;

Deno.test("service.telemetry.metrics.readers takes the Collector's pull Prometheus reader", async () => {
  const { config, lines } = await check(`service:
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 0.0.0.0
                port: 18888
        - pull:
            exporter:
              prometheus:
                host: "::1"
                port: 18889
                without_type_suffix: false
                without_units: false
                without_scope_info: false
${PIPELINES}`);
  assert.deepEqual(lines, []);
  assert.deepEqual(config?.service.telemetry.metrics, {
    level: "detailed",
    readers: [
      {
        endpoint: "0.0.0.0:18888",
        withoutTypeSuffix: true,
        withoutUnits: true,
        withoutScopeInfo: true,
      },
      {
        endpoint: "[::1]:18889",
        withoutTypeSuffix: false,
        withoutUnits: false,
        withoutScopeInfo: false,
      },
    ],
  });
});

Deno.test("the older metrics.address is one pull reader with the Collector's default switches", async () => {
  const { config, lines } = await check(`service:
  telemetry:
    metrics: {address: "127.0.0.1:19999"}
${PIPELINES}`);
  assert.deepEqual(lines, []);
  assert.deepEqual(config?.service.telemetry.metrics.readers, [{
    endpoint: "127.0.0.1:19999",
    withoutTypeSuffix: true,
    withoutUnits: true,
    withoutScopeInfo: true,
  }]);
});

Deno.test("push readers, unknown reader keys and address with readers are errors with positions", async () => {
  const { config, lines } = await check(`service:
  telemetry:
    metrics:
      readers:
        - periodic:
            exporter: {otlp: {endpoint: "http://x:4318"}}
        - pull:
            exporter:
              prometheus: {port: 1, with_resource_constant_labels: {}}
${PIPELINES}`);
  assert.equal(config, undefined);
  assert.ok(
    lines.some((l) =>
      /^c\.yaml:5:11 +service\.telemetry\.metrics\.readers\[0\]\.periodic: periodic \(push\) readers are not supported/
        .test(l)
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => /c\.yaml:9:\d+ .*unknown key "with_resource_constant_labels"/.test(l)),
    lines.join("\n"),
  );
  const both = await check(`service:
  telemetry:
    metrics:
      address: "127.0.0.1:1"
      readers: [{pull: {exporter: {prometheus: {port: 2}}}}]
${PIPELINES}`);
  assert.equal(both.config, undefined);
  assert.ok(both.lines.some((l) => /either address .* or readers/.test(l)), both.lines.join("\n"));
});

Deno.test("the Collector's current component names and the older ones select the same factories", async () => {
  const { config, lines } = await check(`service:
  pipelines:
    traces: {receivers: [otlp], processors: [resource_detection], exporters: [otlp_grpc, otlp_http]}
    logs: {receivers: [file_log], exporters: [otlp]}
    metrics: {receivers: [host_metrics], processors: [resourcedetection], exporters: [otlphttp]}
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}}}
  file_log: {include: [/tmp/none.log]}
  host_metrics: {scrapers: {load: {}}}
processors:
  resource_detection: {}
  resourcedetection: {}
exporters:
  otlp_grpc: {endpoint: "127.0.0.1:1"}
  otlp_http: {endpoint: "http://127.0.0.1:1"}
  otlp: {endpoint: "127.0.0.1:1"}
  otlphttp: {endpoint: "http://127.0.0.1:1"}
`);
  assert.ok(config, lines.join("\n"));
  assert.equal(config.exporters.get("otlp_grpc")?.type, "otlp_grpc");
  assert.equal(config.exporters.get("otlp")?.type, "otlp_grpc");
  assert.equal(config.exporters.get("otlphttp")?.type, "otlp_http");
  assert.equal(config.receivers.get("file_log")?.type, "file_log");
  assert.equal(config.processors.get("resourcedetection")?.type, "resource_detection");
  // Only the older names warn, as the Collector does.
  assert.deepEqual(
    lines.map((l) => /"(\w+)" is an old name of \w+ type "(\w+)"/.exec(l)?.slice(1).join("→")),
    ["resourcedetection→resource_detection", "otlp→otlp_grpc", "otlphttp→otlp_http"],
  );
});

Deno.test("every built-in type is lower snake_case and no name selects two factories", () => {
  const seen = new Map<string, string>();
  for (const f of BUILTIN_FACTORIES) {
    assert.match(f.type, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, f.type);
    for (const name of [f.type, ...(f.aliases ?? [])]) {
      const key = `${f.kind}/${name}`;
      assert.equal(seen.get(key), undefined, `${key} is taken by ${seen.get(key)}`);
      seen.set(key, f.type);
    }
  }
  const older = (kind: string, name: string) => seen.get(`${kind}/${name}`);
  assert.equal(older("exporter", "otlp"), "otlp_grpc");
  assert.equal(older("exporter", "otlphttp"), "otlp_http");
  assert.equal(older("receiver", "hostmetrics"), "host_metrics");
  assert.equal(older("receiver", "filelog"), "file_log");
  assert.equal(older("processor", "resourcedetection"), "resource_detection");
  assert.equal(older("exporter", "logging"), "logging", "logging is its own deprecated factory");
});
