import assert from "node:assert/strict";
import { parse } from "yaml";
import { formatDiagnostic, loadConfig, type LoadResult, toPlain } from "../../pipelines/config.ts";
import { validateConfig } from "../../pipelines/validate.ts";
import { formatConverted } from "../../pipelines/tfo_agent/convert.ts";
import { isTfoAgentShape } from "../../pipelines/tfo_agent/translate.ts";
import { globToRegex } from "../../pipelines/tfo_agent/_collectors.ts";
import { TFO_AGENT_FACTORIES } from "../fixtures/tfo_agent_factories.ts";
import { FakeClock } from "../fixtures/fake_clock.ts";
import { loadYaml } from "../../lib/config/yaml.ts";
import { createHostmetricsReceiver } from "../../components/receiver/hostmetrics/factory.ts";
import type { HostmetricsConfig } from "../../components/receiver/hostmetrics/config.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../lib/telemetry/metrics.ts";

const ENV = {
  TELEMETRYFLOW_API_KEY_ID: "tfk_test",
  TELEMETRYFLOW_API_KEY_SECRET: "tfs_test_secret",
};

async function load(text: string, env: Record<string, string> = ENV, set: string[] = []) {
  return await loadConfig({
    files: ["agent.yaml"],
    set,
    env,
    readFile: () => Promise.resolve(text),
  });
}

/** Loads and validates; fails the test on any error. */
async function translate(text: string, env: Record<string, string> = ENV) {
  const loaded = await load(text, env);
  assert.ok(loaded.raw !== undefined, loaded.diagnostics.map(formatDiagnostic).join("\n"));
  const validated = validateConfig(loaded.raw, TFO_AGENT_FACTORIES);
  const all = [...loaded.diagnostics, ...validated.diagnostics];
  assert.ok(validated.config !== undefined, all.map(formatDiagnostic).join("\n"));
  return { loaded, config: validated.config, plain: toPlain(loaded.raw.root) as Plain, all };
}

// deno-lint-ignore no-explicit-any
type Plain = any;

const errors = (r: LoadResult) =>
  r.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
const warnings = (r: LoadResult) =>
  r.diagnostics.filter((d) => d.severity === "warning").map(formatDiagnostic);

const BASE = `
telemetryflow:
  endpoint: http://127.0.0.1:4318
agent:
  name: web-01
`;

Deno.test("the TFO-Agent shape is recognized by its top-level keys, never next to receivers or pipelines", async () => {
  const root = async (text: string) => (await load(text)).raw;
  const shape = async (text: string) => {
    const { parseYamlSource } = await import("../../pipelines/_yaml_source.ts");
    await loadYaml(); // parseYamlSource is the sync step inside loadConfig, which loads yaml first
    return isTfoAgentShape(parseYamlSource("x.yaml", text).node!);
  };
  assert.equal(await shape("collectors:\n  system: {}\n"), true);
  assert.equal(await shape("agent:\n  name: a\n"), true);
  assert.equal(await shape("telemetryflow: {}\nservice:\n  telemetry: {}\n"), true);
  assert.equal(await shape("telemetryflow: {}\nreceivers: {}\n"), false);
  assert.equal(await shape("agent: {}\nservice:\n  pipelines: {}\n"), false);
  assert.equal(await shape("receivers: {}\nservice: {}\n"), false);
  // An OpenTelemetry-shaped config loads untouched.
  const otel = await root("receivers:\n  otlp:\n    protocols:\n      grpc:\n");
  assert.ok(otel?.root.entries.has("receivers"));
});

Deno.test("collectors.system becomes a hostmetrics receiver with its interval and scrapers, sent over OTLP/HTTP v2 paths", async () => {
  const { plain, config } = await translate(`${BASE}
collectors:
  system:
    interval: 5s
    network: false
    disk_paths: [/, /data]
`);
  const hm = plain.receivers["host_metrics/system"];
  assert.equal(hm.collection_interval, "5s");
  assert.deepEqual(Object.keys(hm.scrapers).sort(), [
    "cpu",
    "disk",
    "filesystem",
    "load",
    "memory",
    "paging",
  ]);
  assert.deepEqual(hm.scrapers.filesystem.include_mount_points, {
    mount_points: ["/", "/data"],
    match_type: "strict",
  });
  const exp = plain.exporters["otlp_http/telemetryflow"];
  assert.equal(exp.metrics_endpoint, "http://127.0.0.1:4318/v2/metrics");
  assert.equal(exp.logs_endpoint, "http://127.0.0.1:4318/v2/logs");
  assert.deepEqual(exp.auth, { authenticator: "telemetryflow" });
  // The buffer is on by default (as in the Go agent): a persistent queue in file_storage.
  assert.equal(exp.sending_queue.storage, "file_storage/buffer");
  assert.equal(exp.sending_queue.max_size_mib, 100);
  assert.equal(plain.extensions["file_storage/buffer"].directory, "/var/lib/tfo-agent/buffer");
  assert.equal(exp.retry_on_failure.max_elapsed_time, "24h");
  const metrics = config.service.pipelines.get("metrics")!;
  assert.deepEqual(metrics.receivers, ["host_metrics/system"]);
  assert.deepEqual(metrics.processors, ["resource/agent", "batch"]);
  assert.deepEqual(metrics.exporters, ["otlp_http/telemetryflow"]);
  assert.deepEqual(config.service.extensions, ["file_storage/buffer", "telemetryflow"]);
  assert.equal(config.service.pipelines.has("logs"), false);
});

Deno.test("the telemetryflow extension gets the credentials, identity, heartbeat and storage", async () => {
  const { plain, config } = await translate(
    `
telemetryflow:
  api_key_id: tfk_abc
  api_key_secret: \${MY_SECRET}
  endpoint: https://otlp.example.com/api/v2/monitoring
  workspace_id: ws-1
  tenant_id: t-9
agent:
  id: agent-7
  name: db-01
  tags:
    environment: staging
    rack: 12
heartbeat:
  interval: 15s
  include_system_info: false
collectors:
  system: {}
`,
    { ...ENV, MY_SECRET: "tfs_from_env" },
  );
  const ext = plain.extensions.telemetryflow;
  assert.equal(ext.endpoint, "https://otlp.example.com", "the API paths start at the origin");
  assert.equal(ext.api_key_id, "tfk_abc");
  assert.equal(ext.api_key_secret, "tfs_from_env");
  assert.equal(ext.workspace_id, "ws-1");
  assert.equal(ext.tenant_id, "t-9");
  assert.deepEqual(ext.agent, {
    id: "agent-7",
    name: "db-01",
    environment: "staging",
    tags: { environment: "staging", rack: "12" },
  });
  assert.deepEqual(ext.capabilities, ["hostmetrics"]);
  assert.deepEqual(ext.heartbeat, { interval: "15s", timeout: "10s", include_system_info: false });
  assert.equal(ext.storage, "file_storage/buffer");
  const resolved = config.extensions.get("telemetryflow")!.config as { api_key_secret: string };
  assert.equal(resolved.api_key_secret, "tfs_from_env");
  // The agent's identity lands on every resource.
  const actions = plain.processors["resource/agent"].attributes as Plain[];
  const byKey = Object.fromEntries(actions.map((a) => [a.key, a.value]));
  assert.equal(byKey["telemetryflow.agent.name"], "db-01");
  assert.equal(byKey["deployment.environment.name"], "staging");
  assert.equal(byKey.rack, 12);
  assert.ok(actions.every((a) => a.action === "upsert"));
});

Deno.test("credentials absent from the file come from TELEMETRYFLOW_API_KEY_ID and _SECRET", async () => {
  const { plain } = await translate(`${BASE}collectors:\n  system: {}\n`);
  assert.equal(plain.extensions.telemetryflow.api_key_id, "tfk_test");
  assert.equal(plain.extensions.telemetryflow.api_key_secret, "tfs_test_secret");
});

Deno.test("a host:port endpoint means OTLP/gRPC, with tls.enabled deciding insecure", async () => {
  const { plain } = await translate(`
telemetryflow:
  endpoint: collector.local:4317
  backend_endpoint: http://api.local:3000
  tls:
    enabled: false
exporter:
  otlp:
    compression: none
    headers:
      x-team: core
collectors:
  system: {}
`);
  const exp = plain.exporters["otlp_grpc/telemetryflow"];
  assert.equal(exp.endpoint, "collector.local:4317");
  assert.equal(exp.tls.insecure, true);
  assert.equal(exp.compression, "none");
  assert.deepEqual(exp.headers, { "x-team": "core" });
  assert.equal(plain.extensions.telemetryflow.endpoint, "http://api.local:3000");
  assert.equal(plain.exporters["otlp_http/telemetryflow"], undefined);
});

Deno.test("node_exporter maps each sub-collector to a scraper; one tfo lacks is an error only when the file turns it on", async () => {
  const byDefault = await load(`${BASE}
collectors:
  system:
    enabled: false
  node_exporter:
    enabled: true
    network_device_exclude: [lo, veth*]
    filesystem_mount_exclude: "^/(dev|proc|sys)($|/)"
`);
  assert.deepEqual(errors(byDefault), []);
  assert.ok(warnings(byDefault).some((w) => /node_exporter\.conntrack: .*default/.test(w)));
  const plain = toPlain(byDefault.raw!.root) as Plain;
  const scrapers = plain.receivers["host_metrics/node_exporter"].scrapers;
  for (const s of ["cpu", "load", "pressure", "vmstat", "sockstat", "entropy", "thermal"]) {
    assert.ok(s in scrapers, s);
  }
  assert.ok("filedescriptors" in scrapers);
  assert.deepEqual(scrapers.network.exclude, {
    interfaces: ["^lo$", "^veth.*$"],
    match_type: "regexp",
  });
  assert.deepEqual(scrapers.filesystem.exclude_mount_points.mount_points, [
    "^/(dev|proc|sys)($|/)",
  ]);
  assert.equal(plain.receivers["host_metrics/system"], undefined);

  const explicit = await load(`${BASE}
collectors:
  node_exporter:
    enabled: true
    textfile: true
`);
  assert.ok(
    errors(explicit).some((e) =>
      /agent\.yaml:\d+:5 {2}collectors\.node_exporter\.textfile: is on/.test(e)
    ),
  );
  assert.equal(explicit.raw, undefined);
});

Deno.test("collectors.process becomes the process scraper with strict names", async () => {
  const { plain } = await translate(`${BASE}
collectors:
  system:
    enabled: false
  process:
    enabled: true
    interval: 45s
    processes: [nginx]
`);
  const hm = plain.receivers["host_metrics/process"];
  assert.equal(hm.collection_interval, "45s");
  assert.deepEqual(hm.scrapers.process.include, { names: ["nginx"], match_type: "strict" });
});

Deno.test("collectors.logs becomes filelog with its paths, offsets in the buffer and line filters", async () => {
  const { plain, config } = await translate(`${BASE}
collectors:
  system:
    enabled: false
  logs:
    enabled: true
    paths: [/var/log/app/*.log]
    include_patterns: ["ERROR|WARN"]
    exclude_patterns: ['say "hi"', 'c:\\\\temp']
`);
  const fl = plain.receivers["file_log/logs"];
  assert.deepEqual(fl.include, ["/var/log/app/*.log"]);
  assert.equal(fl.storage, "file_storage/buffer");
  assert.deepEqual(fl.operators.map((o: Plain) => o.id), [
    "tfo_include_patterns",
    "tfo_exclude_patterns",
    "tfo_keep",
  ]);
  assert.equal(fl.operators[0].routes[0].output, "tfo_exclude_patterns");
  assert.equal(
    fl.operators[1].routes[0].expr,
    'not (body matches "say \\"hi\\"" or body matches "c:\\\\\\\\temp")',
  );
  assert.deepEqual(config.service.pipelines.get("logs")!.receivers, ["file_log/logs"]);
  assert.deepEqual(plain.extensions.telemetryflow.capabilities, ["filelog"]);

  const noPaths = await load(`${BASE}collectors:\n  logs:\n    enabled: true\n`);
  assert.ok(errors(noPaths).some((e) => /collectors\.logs\.paths: must list at least one/.test(e)));
});

Deno.test("docker, fluent_bit and other collectors tfo lacks are errors when enabled, warnings when not", async () => {
  const r = await load(`${BASE}
collectors:
  system: {}
  fluent_bit:
    enabled: true
  docker:
    enabled: true
  mysql:
    enabled: false
`);
  const errs = errors(r);
  assert.ok(
    errs.some((e) =>
      /^agent\.yaml:9:3 {2}collectors\.fluent_bit: the collector "fluent_bit" is enabled but tfo cannot provide it: tfo does not manage a Fluent Bit subprocess/
        .test(e)
    ),
    errs.join("\n"),
  );
  assert.ok(
    errs.some((e) => /^agent\.yaml:11:3 {2}collectors\.docker: .*Docker Engine API/.test(e)),
  );
  assert.ok(
    warnings(r).some((w) =>
      /^agent\.yaml:13:3 {2}warning: collectors\.mysql: the collector "mysql" is disabled and left out/
        .test(w)
    ),
  );
  assert.equal(r.raw, undefined);

  const disabled = await load(
    `${BASE}collectors:\n  system: {}\n  docker:\n    enabled: false\n`,
  );
  assert.deepEqual(errors(disabled), []);
  assert.ok(warnings(disabled).some((w) => /collectors\.docker: .*disabled/.test(w)));
});

Deno.test("mistakes in the TFO-Agent file are reported at once with their line, column and TFO-Agent path", async () => {
  const r = await load(`telemetryflow:
  protocol: carrier-pigeon
collectors:
  system:
    interval: 5 minutes
    cpus: true
buffer:
  enabled: maybe
prometheus_server:
  enabled: true
`);
  const errs = errors(r);
  const expected = [
    /^agent\.yaml:2:13 {2}telemetryflow\.protocol: must be one of grpc, http/,
    /^agent\.yaml:5:15 {2}collectors\.system\.interval: must be a duration/,
    /^agent\.yaml:6:5 {2}collectors\.system\.cpus: unknown key "cpus"/,
    /^agent\.yaml:8:12 {2}buffer\.enabled: /,
    /^agent\.yaml:9:1 {2}prometheus_server: the TFO-Agent section "prometheus_server" is not translated/,
  ];
  for (const re of expected) {
    assert.ok(errs.some((e) => re.test(e)), `${re} in\n${errs.join("\n")}`);
  }
});

Deno.test("a problem found in the translated config points at the TFO-Agent key behind it", async () => {
  const loaded = await load(`${BASE}
collectors:
  system: {}
exporter:
  otlp:
    protocol: http
    metrics:
      endpoint: "not a url"
`);
  assert.ok(loaded.raw !== undefined);
  const validated = validateConfig(loaded.raw, TFO_AGENT_FACTORIES);
  const lines = validated.diagnostics.map(formatDiagnostic);
  assert.ok(
    lines.some((l) =>
      /^agent\.yaml:13:17 {2}exporters\.otlp_http\/telemetryflow\.metrics_endpoint: must be an http or https URL/
        .test(l)
    ),
    lines.join("\n"),
  );
});

Deno.test("logging, resources.memory and batch settings map to telemetry, memory_limiter and batch", async () => {
  const { plain, config } = await translate(`${BASE}
collectors:
  system: {}
exporter:
  otlp:
    batch_size: 50
    flush_interval: 3s
resources:
  memory:
    max_mb: 300
    soft_limit_mb: 240
logging:
  level: WARNING
  format: text
`);
  assert.deepEqual(plain.processors.memory_limiter, {
    check_interval: "1s",
    limit_mib: 300,
    spike_limit_mib: 60,
  });
  assert.deepEqual(plain.processors.batch, {
    send_batch_size: 50,
    send_batch_max_size: 50,
    timeout: "3s",
  });
  assert.deepEqual(config.service.pipelines.get("metrics")!.processors, [
    "memory_limiter",
    "resource/agent",
    "batch",
  ]);
  assert.deepEqual(config.service.telemetry.logs, { level: "warn", encoding: "console" });
});

Deno.test("service.telemetry and --set apply to a TFO-Agent config", async () => {
  const r = await load(`${BASE}collectors:\n  system: {}\n`, ENV, [
    "collectors.system.interval=2s",
    "service.telemetry.metrics.level=none",
  ]);
  assert.deepEqual(errors(r), []);
  const plain = toPlain(r.raw!.root) as Plain;
  assert.equal(plain.receivers["host_metrics/system"].collection_interval, "2s");
  assert.equal(plain.service.telemetry.metrics.level, "none");
  assert.equal(plain.service.telemetry.logs.level, "info");
  const bad = await load(`${BASE}collectors:\n  system: {}\nservice:\n  extensions: [x]\n`);
  assert.ok(
    errors(bad).some((e) =>
      /service\.extensions: is not accepted with the TFO-Agent shape/.test(e)
    ),
  );
});

Deno.test("convert keeps environment references and never prints a literal secret", async () => {
  const text = `
telemetryflow:
  api_key_id: tfk_literal_id
  api_key_secret: tfs_literal_secret_value
  endpoint: \${TELEMETRYFLOW_ENDPOINT:-http://127.0.0.1:4318}
exporter:
  otlp:
    headers:
      x-api-token: tok_literal_token
agent:
  name: \${HOSTNAME_FOR_TEST:-box}
collectors:
  system: {}
`;
  const loaded = await load(text);
  assert.ok(loaded.tfoAgent !== undefined);
  const { text: yaml, replaced } = formatConverted(loaded.tfoAgent, ["agent.yaml"]);
  assert.ok(!yaml.includes("tfs_literal_secret_value"));
  assert.ok(!yaml.includes("tok_literal_token"));
  assert.match(
    yaml,
    /api_key_secret: \$\{env:TELEMETRYFLOW_API_KEY_SECRET\} # literal secret replaced/,
  );
  assert.match(yaml, /x-api-token: \$\{env:TFO_X_API_TOKEN\}/);
  assert.match(
    yaml,
    /# +TELEMETRYFLOW_API_KEY_SECRET \(extensions\.telemetryflow\.api_key_secret\)/,
  );
  assert.deepEqual(replaced.map((r) => r.variable), [
    "TELEMETRYFLOW_API_KEY_SECRET",
    "TFO_X_API_TOKEN",
  ]);
  assert.match(yaml, /name: \$\{HOSTNAME_FOR_TEST:-box\}/);
  assert.match(
    yaml,
    /metrics_endpoint: \$\{TELEMETRYFLOW_ENDPOINT:-http:\/\/127\.0\.0\.1:4318\}\/v2\/metrics/,
  );
  // The printed config is OpenTelemetry-shaped and valid once its variables are set.
  const again = await loadConfig({
    files: ["converted.yaml"],
    env: { TELEMETRYFLOW_API_KEY_SECRET: "tfs_x", TFO_X_API_TOKEN: "t" },
    readFile: () => Promise.resolve(yaml),
  });
  assert.equal(again.tfoAgent, undefined);
  assert.ok(again.raw !== undefined);
  const validated = validateConfig(again.raw, TFO_AGENT_FACTORIES);
  assert.ok(validated.config !== undefined, validated.diagnostics.map(formatDiagnostic).join("\n"));
  assert.deepEqual(parse(yaml).service.pipelines.metrics.receivers, ["host_metrics/system"]);
});

Deno.test("node_exporter globs become anchored regular expressions", () => {
  assert.equal(globToRegex("veth*"), "^veth.*$");
  assert.equal(globToRegex("br-?.x"), "^br-.\\.x$");
  assert.ok(new RegExp(globToRegex("docker*")).test("docker0"));
  assert.ok(!new RegExp(globToRegex("lo")).test("local"));
});

Deno.test("system and node_exporter together run each host scraper once, node_exporter's winning", async () => {
  const text = await Deno.readTextFile(
    new URL("../../examples/tfo-agent/production.yaml", import.meta.url),
  );
  const loaded = await load(text.replace("/var/lib/tfo-agent/buffer", "/tmp/tfo-buffer"));
  assert.deepEqual(errors(loaded), []);
  const plain = toPlain(loaded.raw!.root) as Plain;
  const owners = new Map<string, string[]>();
  for (const [id, receiver] of Object.entries(plain.receivers as Record<string, Plain>)) {
    if (!id.startsWith("hostmetrics")) continue;
    for (const scraper of Object.keys(receiver.scrapers)) {
      owners.set(scraper, [...(owners.get(scraper) ?? []), id]);
    }
  }
  for (const [scraper, ids] of owners) assert.equal(ids.length, 1, `${scraper}: ${ids}`);
  // Every scraper the system collector shares with node_exporter is in node_exporter's receiver,
  // with its filters; system's disk_paths still restrict the file systems.
  assert.equal(plain.receivers["host_metrics/system"], undefined);
  const node = plain.receivers["host_metrics/node_exporter"].scrapers;
  for (const s of ["cpu", "load", "memory", "paging", "disk", "filesystem", "network"]) {
    assert.ok(s in node, s);
  }
  assert.deepEqual(node.filesystem.include_mount_points, {
    mount_points: ["/", "/var"],
    match_type: "strict",
  });
  assert.deepEqual(node.filesystem.exclude_fs_types.fs_types, [
    "^tmpfs$",
    "^devtmpfs$",
    "^squashfs$",
    "^overlay$",
  ]);
});

Deno.test("system keeps the scrapers node_exporter does not run", async () => {
  const { plain, config } = await translate(`${BASE}
collectors:
  system: {}
  node_exporter:
    enabled: true
    conntrack: false
    textfile: false
    cpu: false
    loadavg: false
`);
  assert.deepEqual(Object.keys(plain.receivers["host_metrics/system"].scrapers).sort(), [
    "cpu",
    "load",
  ]);
  const node = Object.keys(plain.receivers["host_metrics/node_exporter"].scrapers);
  assert.ok(!node.includes("cpu") && !node.includes("load") && node.includes("memory"));
  assert.deepEqual(config.service.pipelines.get("metrics")!.receivers, [
    "host_metrics/system",
    "host_metrics/node_exporter",
  ]);
});

Deno.test("an API endpoint from TELEMETRYFLOW_ENDPOINT draws no warning about TELEMETRYFLOW_API_ENDPOINT", async () => {
  const env = { ...ENV, TELEMETRYFLOW_ENDPOINT: "https://api.example.test" };
  const { all, config } = await translate(
    `telemetryflow:\n  endpoint: collector.local:4317\ncollectors:\n  system: {}\n`,
    env,
  );
  assert.deepEqual(all.filter((d) => /TELEMETRYFLOW_API_ENDPOINT/.test(d.message)), []);
  const ext = config.extensions.get("telemetryflow")!.config as { endpoint: string };
  assert.equal(ext.endpoint, "https://api.example.test");
});

Deno.test("the production TFO-Agent example collects every host series once per interval", async () => {
  const text = await Deno.readTextFile(
    new URL("../../examples/tfo-agent/production.yaml", import.meta.url),
  );
  const { config } = await translate(text.replace("/var/lib/tfo-agent/buffer", "/tmp/tfo-buf"));
  const seen = new Map<string, number>();
  let points = 0;
  for (const [id, receiver] of config.receivers) {
    if (receiver.type !== "host_metrics") continue;
    const clock = new FakeClock();
    let cycles = 0;
    const r = createHostmetricsReceiver(
      receiver.config as HostmetricsConfig,
      NOOP_LOGGER,
      new MetricRegistry().meter(),
      {
        metrics: {
          mutatesData: false,
          consume(payload) {
            cycles++;
            for (const rm of payload.read().resourceMetrics) {
              const resource = JSON.stringify(rm.resource.attributes);
              for (const sm of rm.scopeMetrics) {
                for (const m of sm.metrics) {
                  const dataPoints = (m.data as { dataPoints?: Array<{ attributes: unknown }> })
                    ?.dataPoints ?? [];
                  for (const dp of dataPoints) {
                    const key = `${resource} ${m.name} ${JSON.stringify(dp.attributes)}`;
                    seen.set(key, (seen.get(key) ?? 0) + 1);
                    points++;
                  }
                }
              }
            }
            return Promise.resolve();
          },
        },
      },
      { clock },
    );
    await r.start({ getExtension: () => undefined, status: () => "running" });
    // The process scraper finds no nginx or postgres here and sends nothing: one cycle of it is
    // over when its next one is scheduled.
    await clock.runUntil(`a cycle of ${id}`, () => cycles >= 1 || clock.requested.length >= 2);
    await r.shutdown();
    assert.ok(cycles === 1 || id === "host_metrics/process", `${id}: ${cycles} cycles`);
  }
  const twice = [...seen].filter(([, n]) => n > 1).map(([key]) => key);
  assert.ok(points > 0);
  assert.deepEqual(twice.slice(0, 5), [], `${twice.length} of ${points} points are doubled`);
});

Deno.test("collectors.ebpf becomes the ebpf receiver with the same keys", async () => {
  const { plain, config, all } = await translate(`${BASE}
collectors:
  system:
    enabled: false
  ebpf:
    enabled: true
    interval: 30s
    collect_scheduler: true
    collect_tcp_events: false
    process_filter: ["^nginx"]
    exclude_processes: [tfo-agent]
    labels:
      team: kernel
    ring_buffer_size: 262144
`);
  assert.deepEqual(plain.receivers.ebpf, {
    interval: "30s",
    collect_syscalls: true,
    collect_network: true,
    collect_file_io: true,
    collect_scheduler: true,
    collect_memory: false,
    collect_tcp_events: false,
    process_filter: ["^nginx"],
    exclude_processes: ["tfo-agent"],
    labels: { team: "kernel" },
  });
  assert.deepEqual(plain.service.pipelines.metrics.receivers, ["ebpf"]);
  assert.deepEqual(plain.extensions.telemetryflow.capabilities, ["ebpf"]);
  assert.ok(config !== undefined);
  assert.ok(
    all.map(formatDiagnostic).some((w) =>
      /collectors\.ebpf\.ring_buffer_size: has no counterpart/.test(w)
    ),
  );
});

Deno.test("collectors.ebpf: sampling and Cilium are errors, the Go agent's defaults translate", async () => {
  const bad = await load(`${BASE}
collectors:
  ebpf:
    enabled: true
    sample_rate: 50
    cilium:
      enabled: true
`);
  const errs = errors(bad);
  assert.ok(
    errs.some((e) => /collectors\.ebpf\.sample_rate: must be 100/.test(e)),
    errs.join("\n"),
  );
  assert.ok(errs.some((e) => /collectors\.ebpf\.cilium: is enabled but tfo has no Cilium/.test(e)));
  const { plain } = await translate(`${BASE}
collectors:
  ebpf:
    enabled: true
`);
  assert.deepEqual(plain.receivers.ebpf.exclude_processes, ["tfo-agent", "systemd"]);
  assert.equal(plain.receivers.ebpf.interval, "15s");
  assert.deepEqual(plain.extensions.telemetryflow.capabilities, ["hostmetrics", "ebpf"]);
  const off = await load(`${BASE}
collectors:
  ebpf:
    enabled: false
`);
  assert.deepEqual(warnings(off).filter((w) => /ebpf/.test(w)), []);
});
