import assert from "node:assert/strict";
import { lokiConfigSchema } from "../../../../components/exporter/loki/config.ts";
import {
  logsToLoki,
  normalizeLabel,
  severityLevel,
} from "../../../../components/exporter/loki/convert.ts";
import { lokiExporterFactory } from "../../../../components/exporter/loki/factory.ts";
import { logfmtLine, parseLogfmt } from "../../../../components/exporter/loki/lines.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import { ConsumerError } from "../../../../lib/consumer/consumer.ts";
import { newLogRecord, newResource, newScope } from "../../../../lib/pdata/new.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { AnyValue, KeyValue, LogRecord, LogsData } from "../../../../lib/pdata/types.ts";
import { settingsFor, testCertificates } from "../otlp/_kit.ts";
import { fakeLoki } from "./_logproto.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });

function logs(resource: KeyValue[], records: Partial<LogRecord>[], scope = "lib"): LogsData {
  return {
    resourceLogs: [{
      resource: newResource({ attributes: resource }),
      schemaUrl: "",
      scopeLogs: [{
        scope: newScope({ name: scope, version: scope === "" ? "" : "1.2" }),
        schemaUrl: "",
        logRecords: records.map((r) => newLogRecord(r)),
      }],
    }],
  };
}

const ALL_ON = () => true;

Deno.test("loki: default labels job, instance, exporter and level, the rest in the JSON line", () => {
  const data = logs(
    [
      kv("service.name", "api"),
      kv("service.namespace", "shop"),
      kv("service.instance.id", "i-1"),
      kv("host.name", "h"),
    ],
    [{
      timeUnixNano: 1700000000123456789n,
      severityNumber: 9,
      severityText: "Info",
      body: "hello <world>",
      attributes: [kv("user", "ann"), kv("n", 3n)],
      traceId: new Uint8Array(16).fill(1),
      spanId: new Uint8Array(8).fill(2),
      flags: 1,
    }],
  );
  const { requests, dropped } = logsToLoki(data, { labelEnabled: ALL_ON });
  assert.equal(dropped, 0);
  assert.equal(requests.length, 1);
  const [request] = requests;
  assert.equal(request!.tenant, "");
  assert.equal(request!.streams.length, 1);
  const stream = request!.streams[0]!;
  assert.equal(stream.labels, '{exporter="OTLP", instance="i-1", job="shop/api", level="INFO"}');
  assert.equal(stream.entries[0]!.timeUnixNano, 1700000000123456789n);
  assert.equal(
    stream.entries[0]!.line,
    '{"body":"hello \\u003cworld\\u003e","traceid":"01010101010101010101010101010101",' +
      '"spanid":"0202020202020202","severity":"Info","flags":1,"attributes":{"n":3,"user":"ann"},' +
      '"resources":{"host.name":"h","service.instance.id":"i-1","service.name":"api",' +
      '"service.namespace":"shop"},"instrumentation_scope":{"name":"lib","version":"1.2"}}',
  );
});

Deno.test("loki: job is service.name alone without a namespace, and absent without a name", () => {
  const a = logsToLoki(logs([kv("service.name", "api")], [{ body: "x" }]), {
    labelEnabled: ALL_ON,
  });
  assert.equal(a.requests[0]!.streams[0]!.labels, '{exporter="OTLP", job="api"}');
  const b = logsToLoki(logs([kv("service.namespace", "shop")], [{ body: "x" }]), {
    labelEnabled: ALL_ON,
  });
  assert.equal(b.requests[0]!.streams[0]!.labels, '{exporter="OTLP"}');
});

Deno.test("loki: hints promote resource and record attributes, normalized, and leave the line", () => {
  const data = logs(
    [kv("host.name", "h1"), kv("k8s.pod", "p"), kv("loki.resource.labels", "host.name, 1st")],
    [{
      body: "b",
      attributes: [
        kv("loki.attribute.labels", ["event.domain", "http.nested.code"]),
        kv("event.domain", "web"),
        kv("http", { kvlist: [kv("nested", { kvlist: [kv("code", 200n)] })] }),
        kv("kept", true),
      ],
    }],
  );
  const { requests } = logsToLoki(data, { labelEnabled: ALL_ON });
  const stream = requests[0]!.streams[0]!;
  assert.equal(
    stream.labels,
    '{event_domain="web", exporter="OTLP", host_name="h1", http_nested_code="200"}',
  );
  const line = JSON.parse(stream.entries[0]!.line);
  assert.deepEqual(line.attributes, { http: { nested: { code: 200 } }, kept: true });
  assert.deepEqual(line.resources, { "k8s.pod": "p" });
});

Deno.test("loki: loki.tenant groups records into one request per tenant, resource first", () => {
  const data: LogsData = {
    resourceLogs: [
      ...logs([kv("loki.tenant", "tenant.id"), kv("tenant.id", "acme")], [{ body: "a1" }, {
        body: "a2",
      }]).resourceLogs,
      ...logs([], [
        { body: "b1", attributes: [kv("loki.tenant", "org"), kv("org", "beta")] },
        { body: "none" },
      ]).resourceLogs,
    ],
  };
  const { requests } = logsToLoki(data, { labelEnabled: ALL_ON });
  const byTenant = new Map(requests.map((r) => [r.tenant, r]));
  assert.deepEqual([...byTenant.keys()].sort(), ["", "acme", "beta"]);
  assert.equal(byTenant.get("acme")!.records, 2);
  assert.equal(byTenant.get("acme")!.streams[0]!.labels, '{exporter="OTLP", tenant_id="acme"}');
  assert.equal(byTenant.get("beta")!.streams[0]!.labels, '{exporter="OTLP", org="beta"}');
  assert.equal(byTenant.get("")!.records, 1);
});

Deno.test("loki: loki.format picks logfmt and raw lines, an unknown format drops the record", () => {
  const logfmt = logsToLoki(
    logs([kv("loki.format", "logfmt"), kv("svc", "a b")], [{
      body: 'msg="hi there" code=5',
      severityText: "WARN",
      attributes: [kv("m", { kvlist: [kv("x", 1n), kv("y", [1.5, "z"])] })],
    }]),
    { labelEnabled: ALL_ON },
  );
  assert.equal(
    logfmt.requests[0]!.streams[0]!.entries[0]!.line,
    'msg="hi there" code=5 severity=WARN attribute_m_x=1 attribute_m_y_0=1.5 attribute_m_y_1=z ' +
      'resource_svc="a b" instrumentation_scope_name=lib instrumentation_scope_version=1.2',
  );
  const raw = logsToLoki(
    logs([], [{ body: { kvlist: [kv("a", 1n)] }, attributes: [kv("loki.format", "raw")] }]),
    { labelEnabled: ALL_ON },
  );
  assert.equal(raw.requests[0]!.streams[0]!.entries[0]!.line, '{"a":1}');
  const bad = logsToLoki(
    logs([kv("loki.format", "xml")], [{ body: "x" }, { body: "y" }]),
    { labelEnabled: ALL_ON },
  );
  assert.equal(bad.requests.length, 0);
  assert.equal(bad.dropped, 2);
  assert.match(bad.firstError ?? "", /invalid format xml/);
});

Deno.test("loki: a plain-text body that is not logfmt becomes msg=", () => {
  assert.equal(parseLogfmt('a="unterminated'), undefined);
  assert.equal(parseLogfmt("=x"), undefined);
  assert.deepEqual(parseLogfmt("a=1 b"), [["a", "1"], ["b", ""]]);
  const line = logfmtLine({
    record: newLogRecord({ body: 'say "hi"' }),
    attributes: [],
    resource: [],
    scope: newScope(),
  });
  assert.equal(line, 'msg="say \\"hi\\""');
});

Deno.test("loki: default_labels_enabled turns labels off; no label at all drops the record", () => {
  const data = logs([kv("service.name", "api")], [{ body: "x", severityNumber: 17 }]);
  const some = logsToLoki(data, { labelEnabled: (l) => l !== "exporter" && l !== "level" });
  assert.equal(some.requests[0]!.streams[0]!.labels, '{job="api"}');
  // With the level label off, severity stays out of the labels.
  const none = logsToLoki(data, { labelEnabled: () => false });
  assert.equal(none.requests.length, 0);
  assert.equal(none.dropped, 1);
});

Deno.test("loki: an existing level attribute is promoted instead of the severity", () => {
  const data = logs([], [{ body: "x", severityNumber: 13, attributes: [kv("level", "warning")] }]);
  const { requests } = logsToLoki(data, { labelEnabled: ALL_ON });
  assert.equal(requests[0]!.streams[0]!.labels, '{exporter="OTLP", level="warning"}');
  assert.equal(severityLevel(1), "TRACE");
  assert.equal(severityLevel(14), "WARN2");
  assert.equal(severityLevel(24), "FATAL4");
  assert.equal(severityLevel(0), "UNSPECIFIED");
  assert.equal(normalizeLabel("1x"), "key_1x");
  assert.equal(normalizeLabel("_x"), "key_x");
  assert.equal(normalizeLabel("__x"), "__x");
});

Deno.test("loki: entries are sorted by time within a stream; missing times fall back", () => {
  const data = logs([], [
    { body: "3", timeUnixNano: 3000n },
    { body: "1", timeUnixNano: 1000n },
    { body: "2", observedTimeUnixNano: 2000n },
    { body: "1b", timeUnixNano: 1000n },
    { body: "now" },
  ]);
  const { requests } = logsToLoki(data, { labelEnabled: ALL_ON, now: () => 9000n });
  const entries = requests[0]!.streams[0]!.entries;
  assert.deepEqual(entries.map((e) => JSON.parse(e.line).body), ["1", "1b", "2", "3", "now"]);
  assert.deepEqual(entries.map((e) => e.timeUnixNano), [1000n, 1000n, 2000n, 3000n, 9000n]);
});

async function started(input: Record<string, unknown>) {
  const config = lokiConfigSchema.parse(input);
  const kit = settingsFor("loki", config);
  const exporter = lokiExporterFactory.create(kit.settings, ["logs"]);
  await exporter.start({ getExtension: () => undefined, status: () => "running" });
  return { exporter, logs: exporter.consumers.logs as Consumer<"logs">, ...kit };
}

const single = { sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };
const fastRetry = {
  sending_queue: { enabled: false },
  retry_on_failure: { initial_interval: "10ms", max_interval: "20ms", max_elapsed_time: "10s" },
};

Deno.test("loki exporter posts snappy protobuf with the tenant header, one request per tenant", async () => {
  const server = fakeLoki();
  const { exporter, logs: consumer } = await started({
    endpoint: server.url,
    headers: { "X-Custom": "v", "x-scope-orgid": "static" },
    ...single,
  });
  const data = logs([kv("loki.tenant", "t"), kv("t", "acme")], [{ body: "a", timeUnixNano: 5n }]);
  data.resourceLogs.push(
    ...logs([], [{ body: "b", timeUnixNano: 1_500_000_000_000_000_007n }]).resourceLogs,
  );
  await consumer.consume(Payload.of("logs", data));
  await exporter.shutdown();
  await server.close();
  assert.equal(server.received.length, 2);
  const acme = server.received.find((r) => r.headers.get("x-scope-orgid") === "acme");
  const none = server.received.find((r) => r.headers.get("x-scope-orgid") === "static");
  assert.ok(acme && none);
  assert.equal(acme.headers.get("content-type"), "application/x-protobuf");
  assert.equal(acme.headers.get("content-encoding"), "snappy");
  assert.equal(acme.headers.get("x-custom"), "v");
  assert.deepEqual(acme.streams.map((s) => s.labels), ['{exporter="OTLP", t="acme"}']);
  assert.equal(JSON.parse(acme.streams[0]!.entries[0]!.line).body, "a");
  assert.equal(acme.streams[0]!.entries[0]!.timeUnixNano, 5n);
  assert.equal(none.streams[0]!.entries[0]!.timeUnixNano, 1_500_000_000_000_000_007n);
});

Deno.test("loki exporter sends Loki's JSON push format with encoding: json", async () => {
  const server = fakeLoki();
  const { exporter, logs: consumer } = await started({
    endpoint: server.url,
    encoding: "json",
    ...single,
  });
  await consumer.consume(
    Payload.of("logs", logs([kv("service.name", "s")], [{ body: "j", timeUnixNano: 42n }])),
  );
  await exporter.shutdown();
  await server.close();
  const [r] = server.received;
  assert.equal(r!.headers.get("content-type"), "application/json");
  assert.equal(r!.headers.get("content-encoding"), null);
  assert.deepEqual(r!.streams, [{
    labels: '{exporter="OTLP", job="s"}',
    entries: [{
      timeUnixNano: 42n,
      line: '{"body":"j","resources":{"service.name":"s"},' +
        '"instrumentation_scope":{"name":"lib","version":"1.2"}}',
    }],
  }]);
});

Deno.test("loki exporter: 400 is permanent, 429 and 500 are retried, Retry-After honoured", async () => {
  const bad = fakeLoki(() => new Response("entry out of order\nmore", { status: 400 }));
  const a = await started({ endpoint: bad.url, ...fastRetry });
  const error = await a.logs.consume(Payload.of("logs", logs([], [{ body: "x" }]))).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(error instanceof ConsumerError);
  assert.equal(error.permanent, true);
  assert.match(error.message, /HTTP 400: entry out of order$/);
  assert.equal(bad.received.length, 1, "a permanent failure is not retried");
  await a.exporter.shutdown();
  await bad.close();

  const flaky = fakeLoki((_, n) =>
    n === 1
      ? new Response("slow down", { status: 429, headers: { "retry-after": "0" } })
      : n === 2
      ? new Response("oops", { status: 500 })
      : new Response(null, { status: 204 })
  );
  const b = await started({ endpoint: flaky.url, ...fastRetry });
  await b.logs.consume(Payload.of("logs", logs([], [{ body: "x" }])));
  assert.equal(flaky.received.length, 3);
  await b.exporter.shutdown();
  await flaky.close();
});

Deno.test("loki exporter retries only the tenants that failed, so none arrives twice", async () => {
  let failBeta = true;
  const server = fakeLoki((r) => {
    if (r.headers.get("x-scope-orgid") === "beta" && failBeta) {
      failBeta = false;
      return new Response("unavailable", { status: 503 });
    }
    return new Response(null, { status: 204 });
  });
  const { exporter, logs: consumer } = await started({ endpoint: server.url, ...fastRetry });
  const data: LogsData = {
    resourceLogs: [
      ...logs([kv("loki.tenant", "t"), kv("t", "alpha")], [{ body: "a" }]).resourceLogs,
      ...logs([kv("loki.tenant", "t"), kv("t", "beta")], [{ body: "b" }]).resourceLogs,
    ],
  };
  await consumer.consume(Payload.of("logs", data));
  await exporter.shutdown();
  await server.close();
  const tenants = server.received.map((r) => r.headers.get("x-scope-orgid"));
  assert.deepEqual(tenants.filter((t) => t === "alpha"), ["alpha"]);
  assert.deepEqual(tenants.filter((t) => t === "beta"), ["beta", "beta"]);
});

Deno.test("loki exporter counts records it cannot convert and sends the rest", async () => {
  const server = fakeLoki();
  const { exporter, logs: consumer, registry } = await started({
    endpoint: server.url,
    ...single,
  });
  await consumer.consume(Payload.of(
    "logs",
    logs([], [
      { body: "ok" },
      { body: "bad", attributes: [kv("loki.format", "yaml")] },
    ]),
  ));
  await exporter.shutdown();
  await server.close();
  assert.equal(server.received[0]!.streams[0]!.entries.length, 1);
  assert.match(registry.render(), /tfo_exporter_rejected_log_records\{exporter="loki"\} 1/);
});

Deno.test("loki config: endpoint required, unknown keys and default labels refused", () => {
  assert.equal(lokiConfigSchema.safeParse({}).success, false);
  assert.equal(lokiConfigSchema.safeParse({ endpoint: "http://x", format: "json" }).success, false);
  assert.equal(
    lokiConfigSchema.safeParse({ endpoint: "http://x", default_labels_enabled: { foo: true } })
      .success,
    false,
  );
  assert.equal(
    lokiConfigSchema.safeParse({ endpoint: "http://x", tls: { insecure_skip_verify: true } })
      .success,
    false,
  );
  const ok = lokiConfigSchema.parse({ endpoint: "http://x" });
  assert.equal(ok.timeout, 30_000);
  assert.equal(ok.encoding, "proto");
});

Deno.test("loki exporter speaks TLS to a server whose CA tls.ca_file trusts", async (t) => {
  const certs = await testCertificates();
  if (certs === undefined) {
    await t.step({ name: "openssl is not installed", ignore: true, fn() {} });
    return;
  }
  let pushes = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: certs.serverCertPem,
    key: certs.serverKeyPem,
    onListen() {},
  }, async (req) => {
    await req.body?.cancel();
    pushes++;
    return new Response(null, { status: 204 });
  });
  try {
    const url = `https://localhost:${server.addr.port}/loki/api/v1/push`;
    const a = await started({ endpoint: url, tls: { ca_file: certs.caFile }, ...single });
    await a.logs.consume(Payload.of("logs", logs([], [{ body: "x" }])));
    await a.exporter.shutdown();
    assert.equal(pushes, 1);
    const b = await started({ endpoint: url, ...single });
    const error = await b.logs.consume(Payload.of("logs", logs([], [{ body: "x" }]))).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof ConsumerError);
    assert.equal(error.permanent, false, "an untrusted server is a retryable failure");
    assert.equal(pushes, 1);
    await b.exporter.shutdown();
  } finally {
    await server.shutdown();
    await certs.remove();
  }
});
