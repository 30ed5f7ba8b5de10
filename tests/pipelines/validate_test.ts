import assert from "node:assert/strict";
import { loadConfig } from "../../pipelines/config.ts";
import { type Diagnostic, formatDiagnostic } from "../../pipelines/diagnostics.ts";
import {
  loadAndValidateConfig,
  type ResolvedConfig,
  validateConfig,
} from "../../pipelines/validate.ts";
import { TEST_FACTORIES } from "../fixtures/test_factories.ts";

const FIXTURES = new URL("../fixtures/config/", import.meta.url);
const fixture = (name: string) => new URL(name, FIXTURES).pathname;

interface Checked {
  config: ResolvedConfig | undefined;
  lines: string[];
  diagnostics: Diagnostic[];
}

/** Loads and validates one config text named `c.yaml`. */
async function check(
  text: string,
  env: Record<string, string> = {},
  set: string[] = [],
): Promise<Checked> {
  const { config, diagnostics } = await loadAndValidateConfig(
    { files: [], texts: [{ name: "c.yaml", text }], env, set },
    TEST_FACTORIES,
  );
  return { config, diagnostics, lines: diagnostics.map(formatDiagnostic) };
}

/** A minimal valid service section to append to component sections. */
const SERVICE = `
service:
  pipelines:
    traces:
      receivers: [nop]
      exporters: [debug]
`;

Deno.test("a valid config resolves with every default filled in", async () => {
  const { config, diagnostics } = await loadAndValidateConfig(
    { files: [fixture("valid.yaml")], env: { EU_API_KEY: "0123456789" } },
    TEST_FACTORIES,
  );
  assert.deepEqual(diagnostics, []);
  assert.ok(config);
  const nop = config.receivers.get("nop")!;
  assert.equal(nop.type, "nop");
  assert.equal(nop.kind, "receiver");
  assert.equal(nop.factory.type, "nop");
  assert.deepEqual(nop.config, {
    endpoint: "0.0.0.0:4317",
    max_items: 100,
    include_metadata: false,
  });
  assert.deepEqual(config.receivers.get("nop/internal")!.config, {
    endpoint: "localhost:4317",
    max_items: 100,
    include_metadata: false,
  });
  assert.deepEqual(config.receivers.get("hostmetrics")!.config, {
    collection_interval: 30_000,
    scrapers: ["cpu", "memory"],
  });
  assert.deepEqual(config.processors.get("batch")!.config, {
    timeout: 1000,
    send_batch_size: 8192,
    send_batch_max_size: 0,
  });
  assert.deepEqual(config.exporters.get("otlphttp/eu")!.config, {
    endpoint: "https://eu.example.com:4318",
    api_key: "0123456789",
    headers: { "x-tenant": "acme" },
    compression: "gzip",
    timeout: 5000,
    token_refresh: 3_600_000,
    retry_on_failure: { enabled: true, initial_interval: 5000, max_elapsed_time: 300_000 },
  });
  assert.deepEqual([...config.connectors.keys()], ["forward", "count"]);
  assert.deepEqual(config.extensions.get("health_check")!.config, {
    endpoint: "127.0.0.1:13133",
    path: "/",
  });
  assert.deepEqual([...config.service.pipelines.values()], [
    {
      id: "traces",
      signal: "traces",
      receivers: ["nop"],
      processors: ["memory_limiter", "sampler", "batch"],
      exporters: ["forward", "count"],
    },
    {
      id: "traces/export",
      signal: "traces",
      receivers: ["forward", "nop/internal"],
      processors: [],
      exporters: ["otlphttp/eu", "debug"],
    },
    {
      id: "metrics",
      signal: "metrics",
      receivers: ["hostmetrics", "nop", "count"],
      processors: ["batch"],
      exporters: ["otlphttp/eu"],
    },
  ]);
  assert.deepEqual(config.service.extensions, ["health_check"]);
  assert.deepEqual(config.service.telemetry, {
    metrics: {
      level: "detailed",
      readers: [{
        endpoint: "127.0.0.1:8888",
        withoutTypeSuffix: true,
        withoutUnits: true,
        withoutScopeInfo: true,
      }],
    },
    logs: { level: "info", encoding: "console" },
    resource: { "service.name": "tfo-test" },
  });
  assert.equal(config.service.shutdownTimeoutMs, 30_000);
});

Deno.test("telemetry defaults apply when service.telemetry is absent", async () => {
  const { config, lines } = await check(`receivers: {nop: }\nexporters: {debug: }\n${SERVICE}`);
  assert.deepEqual(lines, []);
  assert.deepEqual(config?.service.telemetry, {
    metrics: {
      level: "normal",
      readers: [{
        endpoint: "127.0.0.1:8888",
        withoutTypeSuffix: true,
        withoutUnits: true,
        withoutScopeInfo: true,
      }],
    },
    logs: { level: "info", encoding: "json" },
  });
  assert.equal("shutdownTimeoutMs" in config!.service, false);
  assert.deepEqual(config?.service.extensions, []);
});

Deno.test("every mistake of a broken config is reported at once with its line and path", async () => {
  const path = fixture("broken.yaml");
  const loaded = await loadConfig({ files: [path], env: {} });
  assert.ok(loaded.raw);
  const { config, diagnostics } = validateConfig(loaded.raw, TEST_FACTORIES);
  assert.equal(config, undefined);
  const at = (line: number, col: number, rest: string) => `${path}:${line}:${col}  ${rest}`;
  assert.deepEqual(diagnostics.map(formatDiagnostic), [
    // unknown key
    at(
      5,
      5,
      'receivers.nop.max_itemz: unknown key "max_itemz" (allowed: endpoint, max_items, ' +
        "include_metadata, tls)",
    ),
    // unknown component type
    at(8, 3, 'receivers.prometheus: unknown receiver type "prometheus" (known: hostmetrics, nop)'),
    // wrong type
    at(13, 22, "processors.batch.send_batch_size: must be a number, got a string"),
    // undefined extension
    at(26, 30, 'service.extensions[1]: extension "pprof" is not defined (defined: health_check)'),
    // signal unsupported
    at(
      29,
      24,
      'service.pipelines.traces.receivers[1]: receiver "hostmetrics" does not support traces ' +
        "(supports: metrics)",
    ),
    // undefined processor
    at(
      30,
      27,
      'service.pipelines.traces.processors[1]: pipeline "traces" names processor "batch/2", ' +
        "which is not defined (defined: batch)",
    ),
    // one-sided connector
    at(
      31,
      26,
      'service.pipelines.traces.exporters[1]: connector "forward" is used as an exporter in ' +
        'pipeline "traces" but as a receiver in no pipeline',
    ),
    // pipeline without exporters
    at(32, 5, 'service.pipelines.metrics.exporters: pipeline "metrics" has no exporters'),
  ]);
  assert.ok(diagnostics.every((d) => d.severity === "error"));
});

Deno.test("unknown keys point at the key and list the allowed keys, at any depth", async () => {
  const { lines } = await check(`
receivers:
  nop:
    tls:
      cert_file: a.pem
      ca_fil: b.pem
exporters:
  debug:
    verbosity: basic
    colour: true
${SERVICE}`);
  assert.deepEqual(lines, [
    'c.yaml:6:7  receivers.nop.tls.ca_fil: unknown key "ca_fil" (allowed: cert_file, key_file)',
    'c.yaml:10:5  exporters.debug.colour: unknown key "colour" (allowed: verbosity, sampling_initial)',
  ]);
});

Deno.test("a missing required key is reported at the component's key", async () => {
  const { lines } = await check(`
receivers: {nop: }
exporters:
  debug:
  otlphttp:
    compression: gzip
${SERVICE}`);
  assert.deepEqual(lines, [
    "c.yaml:5:3  exporters.otlphttp.endpoint: is required",
    'c.yaml:5:3  warning: exporters.otlphttp: exporter "otlphttp" is defined but used in no pipeline',
  ]);
});

Deno.test("wrong types and values are reported at the value with readable messages", async () => {
  const { lines } = await check(`
receivers:
  nop:
    endpoint: [a]
    max_items: -1
    include_metadata: "yes"
  hostmetrics:
    collection_interval: soon
    scrapers: cpu
processors:
  sampler: {percentage: 150}
exporters:
  debug:
    verbosity: loud
${SERVICE}`);
  assert.deepEqual(lines.filter((l) => !l.includes("warning")), [
    "c.yaml:4:5  receivers.nop.endpoint: must be a string, got a list",
    "c.yaml:5:16  receivers.nop.max_items: must be greater than 0",
    "c.yaml:6:23  receivers.nop.include_metadata: must be true or false, got a string",
    'c.yaml:8:26  receivers.hostmetrics.collection_interval: must be a duration such as "200ms", ' +
    '"5s" or "1m30s", got "soon"',
    "c.yaml:9:15  receivers.hostmetrics.scrapers: must be a list, got a string",
    "c.yaml:11:25  processors.sampler.percentage: must be at most 100",
    "c.yaml:14:16  exporters.debug.verbosity: must be one of basic, normal, detailed",
  ]);
});

Deno.test("secret values never appear in messages", async () => {
  const { lines } = await check(`
receivers: {nop: }
exporters:
  debug:
  otlphttp:
    endpoint: https://x.example.com
    timeout: notaduration
    token_refresh: hunter2-secret-token
    headers:
      authorization: 12345
${SERVICE}`);
  const text = lines.join("\n");
  assert.ok(text.includes('got "notaduration"'), "ordinary values may be echoed");
  assert.ok(!text.includes("hunter2"), text);
  assert.ok(!text.includes("12345"), text);
  assert.ok(
    text.includes(
      'exporters.otlphttp.token_refresh: must be a duration such as "200ms", "5s" or "1m30s", ' +
        "got the value",
    ),
    text,
  );
});

Deno.test("unknown component types name the kind, the known types and a likely fix", async () => {
  const { lines } = await check(`
receivers: {nop: }
processors:
  bach:
exporters:
  debug:
  batch:
  zipkin:
${SERVICE}`);
  assert.deepEqual(lines, [
    'c.yaml:4:3  processors.bach: unknown processor type "bach" (known: batch, memory_limiter, ' +
    'sampler); did you mean "batch"?',
    'c.yaml:7:3  exporters.batch: unknown exporter type "batch" (known: debug, otlphttp); "batch" ' +
    "is a processor, define it under processors",
    'c.yaml:8:3  exporters.zipkin: unknown exporter type "zipkin" (known: debug, otlphttp)',
  ]);
});

Deno.test("an alias resolves to its factory with a warning", async () => {
  const { config, lines } = await check(`
receivers: {nop: }
exporters:
  logging/2:
    verbosity: normal
service:
  pipelines:
    traces: {receivers: [nop], exporters: [logging/2]}
`);
  assert.deepEqual(lines, [
    'c.yaml:4:3  warning: exporters.logging/2: "logging" is an old name of exporter type "debug"; ' +
    'use "debug"',
  ]);
  const exporter = config?.exporters.get("logging/2");
  assert.equal(exporter?.type, "debug");
  assert.equal(exporter?.factory.type, "debug");
  assert.deepEqual(exporter?.config, { verbosity: "normal", sampling_initial: 2 });
});

Deno.test("malformed component IDs are errors", async () => {
  const { lines } = await check(`
receivers:
  nop:
  nop/:
  1nop:
  "nop/a b":
exporters: {debug: }
${SERVICE}`);
  assert.deepEqual(lines, [
    'c.yaml:4:3  receivers.nop/: invalid component ID "nop/": the name after "/" must not be empty',
    'c.yaml:5:3  receivers.1nop: invalid component ID "1nop": the type must start with a letter ' +
    'and hold only letters, digits and "_"',
    'c.yaml:6:3  receivers.nop/a b: invalid component ID "nop/a b": the name must not contain ' +
    "spaces or control characters",
  ]);
});

Deno.test("top-level and service keys are checked, and sections must be maps", async () => {
  const { lines } = await check(`
receiver: {nop: }
exporters: [debug]
service:
  pipelines:
    traces: {receivers: [nop], exporters: [debug]}
  telemetry:
    logs: {level: loud}
    metrics: {adress: x}
  extension: []
`);
  assert.deepEqual(lines, [
    'c.yaml:2:1  receiver: unknown key "receiver" (allowed: receivers, processors, exporters, ' +
    "connectors, extensions, service)",
    "c.yaml:3:12  exporters: must be a map of exporter IDs to their configs, got a list",
    'c.yaml:6:26  service.pipelines.traces.receivers[0]: pipeline "traces" names receiver "nop", ' +
    "which is not defined (none are defined)",
    'c.yaml:6:44  service.pipelines.traces.exporters[0]: pipeline "traces" names exporter ' +
    '"debug", which is not defined (none are defined)',
    "c.yaml:8:19  service.telemetry.logs.level: must be one of debug, info, warn, error",
    'c.yaml:9:15  service.telemetry.metrics.adress: unknown key "adress" (allowed: level, address, readers)',
    'c.yaml:10:3  service.extension: unknown key "extension" (allowed: extensions, pipelines, ' +
    "telemetry, shutdown_timeout, workers)",
  ]);
});

Deno.test("a missing service, missing or empty pipelines are errors", async () => {
  assert.deepEqual((await check("receivers: {nop: }\n")).lines, [
    "c.yaml:1:1  service: is required: it lists the pipelines to run",
  ]);
  assert.deepEqual((await check("receivers: {nop: }\nservice:\n  extensions: []\n")).lines, [
    'c.yaml:1:13  warning: receivers.nop: receiver "nop" is defined but used in no pipeline',
    "c.yaml:2:1  service.pipelines: is required",
  ]);
  assert.deepEqual((await check("service:\n")).lines, [
    "c.yaml:1:1  service.pipelines: is required",
  ]);
  assert.deepEqual((await check("service:\n  pipelines: {}\n")).lines, [
    "c.yaml:2:3  service.pipelines: must define at least one pipeline",
  ]);
});

Deno.test("pipelines need a known signal, receivers, exporters and no repeated component", async () => {
  const { lines } = await check(`
receivers: {nop: }
processors: {batch: , sampler: }
exporters: {debug: }
service:
  pipelines:
    trace:
      receivers: [nop]
      exporters: [debug]
    traces/:
      receivers: [nop]
      exporters: [debug]
    traces:
      receivers: [nop, nop]
      processors: [batch, sampler, batch]
      exporters: [debug]
    logs:
      processors: [sampler]
    metrics:
`);
  assert.deepEqual(lines, [
    'c.yaml:7:5  service.pipelines.trace: unknown signal "trace" (signals: traces, metrics, logs)',
    'c.yaml:10:5  service.pipelines.traces/: invalid pipeline ID "traces/": the name after "/" ' +
    "must be non-empty, without spaces",
    'c.yaml:14:24  service.pipelines.traces.receivers[1]: pipeline "traces" lists receiver "nop" ' +
    "twice",
    'c.yaml:15:36  service.pipelines.traces.processors[2]: pipeline "traces" lists processor ' +
    '"batch" twice',
    'c.yaml:17:5  service.pipelines.logs.exporters: pipeline "logs" has no exporters',
    'c.yaml:17:5  service.pipelines.logs.receivers: pipeline "logs" has no receivers',
    'c.yaml:18:20  service.pipelines.logs.processors[0]: processor "sampler" does not support ' +
    "logs (supports: traces)",
    'c.yaml:19:5  service.pipelines.metrics.exporters: pipeline "metrics" has no exporters',
    'c.yaml:19:5  service.pipelines.metrics.receivers: pipeline "metrics" has no receivers',
  ]);
});

Deno.test("a connector used only as a receiver is an error", async () => {
  const { lines } = await check(`
receivers: {nop: }
exporters: {debug: }
connectors: {forward: }
service:
  pipelines:
    traces: {receivers: [nop, forward], exporters: [debug]}
`);
  assert.deepEqual(lines, [
    'c.yaml:7:31  service.pipelines.traces.receivers[1]: connector "forward" is used as a receiver ' +
    'in pipeline "traces" but as an exporter in no pipeline',
  ]);
});

Deno.test("connectors must be used on routes they support", async () => {
  const { lines } = await check(`
receivers: {nop: }
exporters: {debug: }
connectors: {forward: , count: }
service:
  pipelines:
    traces: {receivers: [nop], exporters: [forward, count]}
    metrics: {receivers: [forward], exporters: [debug]}
    logs: {receivers: [count], exporters: [debug]}
    metrics/2: {receivers: [nop], exporters: [count]}
`);
  assert.deepEqual(lines, [
    'c.yaml:7:44  service.pipelines.traces.exporters[0]: connector "forward" cannot route traces ' +
    'from pipeline "traces" to any pipeline it is a receiver in (routes: traces → traces, logs → ' +
    "logs)",
    'c.yaml:7:53  service.pipelines.traces.exporters[1]: connector "count" cannot route traces ' +
    'from pipeline "traces" to any pipeline it is a receiver in (routes: traces → metrics)',
    'c.yaml:8:27  service.pipelines.metrics.receivers[0]: connector "forward" cannot produce ' +
    'metrics for pipeline "metrics" from any pipeline it is an exporter in (routes: traces → ' +
    "traces, logs → logs)",
    'c.yaml:9:24  service.pipelines.logs.receivers[0]: connector "count" cannot produce logs for ' +
    'pipeline "logs" from any pipeline it is an exporter in (routes: traces → metrics)',
    'c.yaml:10:47  service.pipelines.metrics/2.exporters[0]: connector "count" does not accept ' +
    "metrics (routes: traces → metrics)",
  ]);
});

Deno.test("connector cycles between pipelines are detected", async () => {
  const { lines } = await check(`
receivers: {nop: }
exporters: {debug: }
connectors: {forward: , forward/2: , forward/self: }
service:
  pipelines:
    traces/a: {receivers: [nop, forward/2], exporters: [forward]}
    traces/b: {receivers: [forward], exporters: [forward/2, debug]}
    logs: {receivers: [forward/self], exporters: [forward/self, debug]}
    logs/in: {receivers: [nop], exporters: [forward/self]}
`);
  assert.deepEqual(lines, [
    'c.yaml:7:57  service.pipelines.traces/a.exporters[0]: pipelines form a cycle: "traces/a" → ' +
    'connector "forward" → "traces/b" → connector "forward/2" → "traces/a"',
    'c.yaml:9:51  service.pipelines.logs.exporters[0]: pipelines form a cycle: "logs" → connector ' +
    '"forward/self" → "logs"',
    'c.yaml:10:27  service.pipelines.logs/in.receivers[0]: receiver "nop" does not support logs ' +
    "(supports: traces, metrics)",
  ]);
});

Deno.test("a connector may not share its ID with a receiver or exporter", async () => {
  const { lines } = await check(`
receivers: {nop: }
exporters: {debug: }
connectors: {debug: }
${SERVICE}`);
  assert.ok(
    lines.includes(
      'c.yaml:4:14  connectors.debug: connector "debug" has the same ID as an exporter; ' +
        "pipelines could not tell them apart",
    ),
    lines.join("\n"),
  );
});

Deno.test("service.extensions must name defined extensions once; unused ones warn", async () => {
  const { config, lines } = await check(`
receivers: {nop: , hostmetrics: }
processors: {batch: }
exporters: {debug: }
connectors: {forward: }
extensions: {health_check: , health_check/2: }
service:
  extensions: [health_check, health_check, zpages]
${SERVICE.split("\n").slice(2).join("\n")}`);
  assert.equal(config, undefined);
  assert.deepEqual(lines, [
    'c.yaml:2:20  warning: receivers.hostmetrics: receiver "hostmetrics" is defined but used in ' +
    "no pipeline",
    'c.yaml:3:14  warning: processors.batch: processor "batch" is defined but used in no pipeline',
    'c.yaml:5:14  warning: connectors.forward: connector "forward" is defined but used in no ' +
    "pipeline",
    'c.yaml:6:30  warning: extensions.health_check/2: extension "health_check/2" is defined but ' +
    "not listed in service.extensions",
    'c.yaml:8:30  service.extensions[1]: lists extension "health_check" twice',
    'c.yaml:8:44  service.extensions[2]: extension "zpages" is not defined (defined: ' +
    "health_check, health_check/2)",
  ]);
});

Deno.test("warnings alone still give a config", async () => {
  const { config, lines } = await check(
    `receivers: {nop: , hostmetrics: }\nexporters: {debug: }\n${SERVICE}`,
  );
  assert.equal(lines.length, 1);
  assert.ok(config);
  assert.deepEqual([...config.receivers.keys()], ["nop", "hostmetrics"]);
});

Deno.test("env-typed values fit the schema: numbers, strings and unset to default", async () => {
  const { config, lines } = await check(
    `
receivers:
  nop:
    max_items: \${env:N}
    include_metadata: \${env:META}
  nop/2:
    max_items: \${env:UNSET}
connectors:
  count:
    metric_name: \${env:NAME}
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [nop, nop/2], exporters: [debug, count]}
    metrics: {receivers: [count], exporters: [debug]}
`,
    { N: "250", META: "true", NAME: "123" },
  );
  assert.deepEqual(lines, [
    'c.yaml:7:16  warning: receivers.nop/2.max_items: environment variable "UNSET" is not set; it ' +
    "expands to an empty string",
  ]);
  assert.deepEqual(config?.receivers.get("nop")?.config, {
    endpoint: "localhost:4317",
    max_items: 250,
    include_metadata: true,
  });
  assert.equal((config?.receivers.get("nop/2")?.config as { max_items: number }).max_items, 100);
  assert.deepEqual(config?.connectors.get("count")?.config, { metric_name: "123" });
});

Deno.test("errors in a --set value and in an override file point at where they came from", async () => {
  const { diagnostics } = await loadAndValidateConfig({
    files: [fixture("base.yaml"), fixture("override.yaml")],
    set: ["exporters.debug.verbosity=loud"],
    env: {},
  }, TEST_FACTORIES);
  assert.deepEqual(lines_(diagnostics), [
    `${fixture("base.yaml")}:7:3  warning: exporters.debug: exporter "debug" is defined but ` +
    "used in no pipeline",
    `${
      fixture("override.yaml")
    }:8:15  exporters.otlphttp.endpoint: must be an http or https URL, ` +
    'for example "https://collector:4318"',
    "--set:1:27  exporters.debug.verbosity: must be one of basic, normal, detailed",
  ]);
});

function lines_(diagnostics: Diagnostic[]): string[] {
  return diagnostics.map(formatDiagnostic);
}

Deno.test("loadAndValidateConfig stops at load errors", async () => {
  const { config, diagnostics } = await check("a: [\n");
  assert.equal(config, undefined);
  assert.equal(diagnostics.length, 1);
  assert.equal(diagnostics[0]!.file, "c.yaml");
});
