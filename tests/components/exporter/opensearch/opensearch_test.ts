import assert from "node:assert/strict";
import { opensearchConfigSchema } from "../../../../components/exporter/opensearch/config.ts";
import { opensearchExporterFactory } from "../../../../components/exporter/opensearch/factory.ts";
import {
  formatTime,
  indexResolver,
} from "../../../../components/exporter/opensearch/index_name.ts";
import {
  documentContext,
  logDocument,
  spanDocument,
} from "../../../../components/exporter/opensearch/ss4o.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import { ConsumerError } from "../../../../lib/consumer/consumer.ts";
import {
  newLogRecord,
  newResource,
  newScope,
  newSpan,
  newSpanEvent,
} from "../../../../lib/pdata/new.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { AnyValue, KeyValue, LogRecord, LogsData } from "../../../../lib/pdata/types.ts";
import { headersAuthKit } from "../../../fixtures/client_auth.ts";
import { settingsFor, testCertificates } from "../otlp/_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });

function logs(resource: KeyValue[], records: Partial<LogRecord>[]): LogsData {
  return {
    resourceLogs: [{
      resource: newResource({ attributes: resource }),
      schemaUrl: "",
      scopeLogs: [{
        scope: newScope({ name: "lib", version: "2" }),
        schemaUrl: "https://schema/1",
        logRecords: records.map((r) => newLogRecord(r)),
      }],
    }],
  };
}

/** One bulk request as the fake server read it. */
interface BulkRequest {
  url: URL;
  headers: Headers;
  /** [action line, document] pairs. */
  items: { action: Record<string, { _index: string }>; doc: Record<string, unknown> }[];
}

/** A fake OpenSearch bulk endpoint; `respond` decides each request's answer. */
function fakeBulk(
  respond: (r: BulkRequest, n: number) => Response = (r) => bulkOk(r.items.length),
) {
  const received: BulkRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const text = await req.text();
    const lines = text.split("\n");
    assert.equal(lines.pop(), "", "the body ends with a newline");
    const items = [];
    for (let i = 0; i < lines.length; i += 2) {
      items.push({ action: JSON.parse(lines[i]!), doc: JSON.parse(lines[i + 1]!) });
    }
    const r = { url: new URL(req.url), headers: req.headers, items };
    received.push(r);
    return respond(r, received.length);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
  };
}

function bulkOk(n: number): Response {
  return Response.json({
    errors: false,
    items: Array.from({ length: n }, () => ({ create: { status: 201 } })),
  });
}

function bulkWith(statuses: number[]): Response {
  return Response.json({
    errors: statuses.some((s) => s > 299),
    items: statuses.map((status) => ({
      create: status > 299
        ? {
          status,
          error: {
            type: status === 400 ? "mapper_parsing_exception" : "es_rejected_execution_exception",
            reason: "r",
          },
        }
        : { status },
    })),
  });
}

async function started(
  input: Record<string, unknown>,
  signals = ["logs" as const, "traces" as const],
) {
  const config = opensearchConfigSchema.parse(input);
  const kit = settingsFor("opensearch", config);
  const exporter = opensearchExporterFactory.create(kit.settings, [...signals]);
  await exporter.start({ getExtension: () => undefined, status: () => "running" });
  return {
    exporter,
    logs: exporter.consumers.logs as Consumer<"logs">,
    traces: exporter.consumers.traces as Consumer<"traces">,
    ...kit,
  };
}

const single = { sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };
const fastRetry = {
  sending_queue: { enabled: false },
  retry_on_failure: { initial_interval: "10ms", max_interval: "20ms", max_elapsed_time: "10s" },
};

Deno.test("opensearch: ss4o log document, field for field", () => {
  const record = newLogRecord({
    timeUnixNano: 1700000000123456789n,
    observedTimeUnixNano: 1700000001000000000n,
    severityNumber: 17,
    severityText: "ERROR",
    body: "boom & bust",
    attributes: [kv("z", 1n), kv("a", [true, 2.5])],
    traceId: new Uint8Array(16).fill(0xab),
    spanId: new Uint8Array(8).fill(0xcd),
  });
  const ctx = documentContext(
    [kv("service.name", "api"), kv("n", 5n)],
    newScope({ name: "lib", version: "2" }),
    "https://s",
  );
  const doc = logDocument(record, ctx, { dataset: "web", namespace: "prod" }, 0n);
  assert.equal(
    doc,
    '{"attributes":{"a":[true,2.5],"data_stream":{"dataset":"web","namespace":"prod","type":"record"},"z":1},' +
      '"body":"boom \\u0026 bust","instrumentationScope":{"name":"lib","schemaUrl":"https://s","version":"2"},' +
      '"observedTimestamp":"2023-11-14T22:13:21Z","resource":{"n":"5","service.name":"api"},' +
      '"schemaUrl":"https://s","severity":{"text":"ERROR","number":17},"spanId":"cdcdcdcdcdcdcdcd",' +
      '"@timestamp":"2023-11-14T22:13:20.123456789Z","traceId":"abababababababababababababababab"}',
  );
  // No time: the observed time; no observed time either: now.
  const bare = JSON.parse(
    logDocument(newLogRecord({ body: 3n }), ctx, { dataset: "d", namespace: "n" }, 1_000_000_000n),
  );
  assert.equal(bare["@timestamp"], "1970-01-01T00:00:01Z");
  assert.equal(bare.body, "3");
  assert.deepEqual(bare.severity, {});
});

Deno.test("opensearch: ss4o span document", () => {
  const span = newSpan({
    name: "GET /",
    kind: 2,
    traceId: new Uint8Array(16).fill(1),
    spanId: new Uint8Array(8).fill(2),
    startTimeUnixNano: 1000000000n,
    endTimeUnixNano: 2500000000n,
    status: { code: 2, message: "bad" },
    attributes: [kv("http.status", 500n)],
    events: [newSpanEvent({ name: "e", timeUnixNano: 1500000000n })],
  });
  const ctx = documentContext([kv("service.name", "api")], newScope({ name: "s" }), "");
  const doc = JSON.parse(spanDocument(span, ctx, { dataset: "d", namespace: "n" }));
  assert.deepEqual(doc, {
    attributes: { "http.status": 500, data_stream: { dataset: "d", namespace: "n", type: "span" } },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    endTime: "1970-01-01T00:00:02.5Z",
    events: [{
      attributes: {},
      droppedAttributesCount: 0,
      name: "e",
      "@timestamp": "1970-01-01T00:00:01.5Z",
    }],
    instrumentationScope: { droppedAttributesCount: 0, name: "s", schemaUrl: "", version: "" },
    kind: "Server",
    name: "GET /",
    parentSpanId: "",
    resource: { "service.name": "api" },
    spanId: "0202020202020202",
    startTime: "1970-01-01T00:00:01Z",
    status: { code: "Error", message: "bad" },
    "@timestamp": "1970-01-01T00:00:01Z",
    traceId: "01010101010101010101010101010101",
    traceState: "",
  });
});

Deno.test("opensearch: index names from placeholders, record > scope > resource, fallbacks", () => {
  const ds = { dataset: "d", namespace: "n" };
  const at = () => new Date(Date.UTC(2024, 5, 7, 8, 9, 10));
  const scope = newScope({ name: "sc", attributes: [kv("team", "scope-team")] });
  const r = indexResolver("logs", {
    pattern: "logs-%{service.name}-%{team}-%{scope.name}",
    fallback: "",
    timeFormat: "",
    ...ds,
  }, at);
  assert.equal(r.constant, false);
  assert.equal(
    r.resolve({
      item: [kv("team", "rec")],
      scope,
      resource: [kv("service.name", "api"), kv("team", "res")],
    }, ""),
    "logs-api-rec-sc",
  );
  assert.equal(
    r.resolve({ item: [], scope, resource: [kv("team", "res")] }, ""),
    "logs-unknown-scope-team-sc",
  );
  const f = indexResolver("logs", {
    pattern: "x-%{missing}",
    fallback: "fb",
    timeFormat: "yyyy.MM.dd",
    ...ds,
  }, at);
  assert.equal(f.resolve({ item: [], scope, resource: [] }, f.suffix()), "x-fb-2024.06.07");
  const d = indexResolver("traces", { pattern: "", fallback: "", timeFormat: "", ...ds }, at);
  assert.equal(d.resolve({ item: [], scope, resource: [] }, d.suffix()), "ss4o_traces-d-n");
  assert.equal(formatTime("yy-MM-dd HH:mm:ss", at()), "24-06-07 08:09:10");
});

Deno.test("opensearch exporter posts NDJSON to /_bulk with each record's index and the action", async () => {
  const server = fakeBulk();
  const { exporter, logs: consumer } = await started({
    http: { endpoint: `${server.url}/`, headers: { "X-Extra": "1" } },
    logs_index: "otel-logs-%{service.name}",
    bulk_action: "index",
    ...single,
  });
  const data = logs([kv("service.name", "api")], [{ body: "a" }, {
    body: "b",
    attributes: [kv("service.name", "override")],
  }]);
  await consumer.consume(Payload.of("logs", data));
  await exporter.shutdown();
  await server.close();
  const [r] = server.received;
  assert.ok(r);
  assert.equal(r.url.pathname, "/_bulk");
  assert.match(r.url.search, /filter_path=/);
  assert.equal(r.headers.get("content-type"), "application/x-ndjson");
  assert.equal(r.headers.get("x-extra"), "1");
  assert.deepEqual(r.items.map((i) => i.action), [
    { index: { _index: "otel-logs-api" } },
    { index: { _index: "otel-logs-override" } },
  ]);
  assert.deepEqual(r.items.map((i) => i.doc.body), ["a", "b"]);
});

Deno.test("opensearch exporter sends spans to ss4o_traces-<dataset>-<namespace>", async () => {
  const server = fakeBulk();
  const { exporter, traces } = await started({
    http: { endpoint: server.url },
    dataset: "web",
    ...single,
  });
  await traces.consume(Payload.of("traces", {
    resourceSpans: [{
      resource: newResource(),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope(),
        schemaUrl: "",
        spans: [newSpan({ name: "s1" }), newSpan({ name: "s2" })],
      }],
    }],
  }));
  await exporter.shutdown();
  await server.close();
  assert.deepEqual(server.received[0]!.items.map((i) => [i.action, i.doc.name]), [
    [{ create: { _index: "ss4o_traces-web-namespace" } }, "s1"],
    [{ create: { _index: "ss4o_traces-web-namespace" } }, "s2"],
  ]);
});

Deno.test("opensearch exporter retries only retryable items and counts rejected ones", async () => {
  const server = fakeBulk((r, n) =>
    n === 1 ? bulkWith([201, 400, 429, 503]) : bulkOk(r.items.length)
  );
  const { exporter, logs: consumer, registry, warnings } = await started({
    http: { endpoint: server.url },
    ...fastRetry,
  });
  await consumer.consume(
    Payload.of("logs", logs([], [{ body: "0" }, { body: "1" }, { body: "2" }, { body: "3" }])),
  );
  await exporter.shutdown();
  await server.close();
  assert.equal(server.received.length, 2);
  assert.deepEqual(server.received[1]!.items.map((i) => i.doc.body), ["2", "3"]);
  assert.match(registry.render(), /tfo_exporter_rejected_log_records\{exporter="opensearch"\} 1/);
  assert.ok(warnings().some((w) => String(w.reason).includes("mapper_parsing_exception")));
});

Deno.test("opensearch exporter: 429 and 5xx requests retried whole, other 4xx permanent", async () => {
  const flaky = fakeBulk((r, n) =>
    n === 1
      ? new Response("busy", { status: 429, headers: { "retry-after": "0" } })
      : n === 2
      ? new Response("x", { status: 502 })
      : bulkOk(r.items.length)
  );
  const a = await started({ http: { endpoint: flaky.url }, ...fastRetry });
  await a.logs.consume(Payload.of("logs", logs([], [{ body: "a" }, { body: "b" }])));
  assert.equal(flaky.received.length, 3);
  assert.deepEqual(flaky.received[2]!.items.map((i) => i.doc.body), ["a", "b"]);
  await a.exporter.shutdown();
  await flaky.close();

  const bad = fakeBulk(() => new Response('{"error":"bad request"}', { status: 400 }));
  const b = await started({ http: { endpoint: bad.url }, ...fastRetry });
  const error = await b.logs.consume(Payload.of("logs", logs([], [{ body: "a" }]))).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(error instanceof ConsumerError);
  assert.equal(error.permanent, true);
  assert.match(error.message, /HTTP 400/);
  assert.equal(bad.received.length, 1);
  await b.exporter.shutdown();
  await bad.close();
});

Deno.test("opensearch exporter: documents that cannot be written are counted, the rest sent", async () => {
  const server = fakeBulk();
  const { exporter, logs: consumer, registry } = await started({
    http: { endpoint: server.url },
    ...single,
  });
  await consumer.consume(
    Payload.of("logs", logs([], [{ body: "ok" }, { body: "nan", attributes: [kv("v", NaN)] }])),
  );
  await exporter.shutdown();
  await server.close();
  assert.deepEqual(server.received[0]!.items.map((i) => i.doc.body), ["ok"]);
  assert.match(registry.render(), /tfo_exporter_rejected_log_records\{exporter="opensearch"\} 1/);
});

Deno.test("opensearch exporter carries the client authenticator's headers", async () => {
  const server = fakeBulk();
  const auth = headersAuthKit();
  const config = opensearchConfigSchema.parse({
    http: { endpoint: server.url, auth: { authenticator: "headersauth" } },
    ...single,
  });
  const kit = settingsFor("opensearch", config);
  const exporter = opensearchExporterFactory.create(kit.settings, ["logs"]);
  const ext = (auth.factory as { create: (s: unknown) => { capabilities: unknown } }).create({
    id: "headersauth",
    config: { headers: { Authorization: "Basic dTpw" } },
  });
  await exporter.start({
    getExtension: (id: string) => id === "headersauth" ? ext as never : undefined,
    status: () => "running",
  });
  await (exporter.consumers.logs as Consumer<"logs">).consume(
    Payload.of("logs", logs([], [{ body: "a" }])),
  );
  await exporter.shutdown();
  await server.close();
  assert.equal(server.received[0]!.headers.get("authorization"), "Basic dTpw");
});

Deno.test("opensearch config: defaults, and unimplemented modes and keys refused", () => {
  const c = opensearchConfigSchema.parse({ http: { endpoint: "http://x:9200" } });
  assert.equal(c.dataset, "default");
  assert.equal(c.namespace, "namespace");
  assert.equal(c.bulk_action, "create");
  assert.equal(c.mapping.mode, "ss4o");
  assert.equal(c.timeout, 5000);
  const refused = (input: Record<string, unknown>) =>
    opensearchConfigSchema.safeParse({ http: { endpoint: "http://x" }, ...input }).success ===
      false;
  assert.ok(refused({ mapping: { mode: "ecs" } }));
  assert.ok(refused({ mapping: { mode: "nope" } }));
  assert.ok(refused({ mapping: { dedot: true } }));
  assert.ok(refused({ bulk_action: "update" }));
  assert.ok(refused({ dataset: "" }));
  assert.ok(refused({ pipeline: "p" }));
  assert.ok(opensearchConfigSchema.safeParse({}).success === false);
});

Deno.test("opensearch exporter speaks TLS to a server whose CA tls.ca_file trusts", async (t) => {
  const certs = await testCertificates();
  if (certs === undefined) {
    await t.step({ name: "openssl is not installed", ignore: true, fn() {} });
    return;
  }
  const received: string[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: certs.serverCertPem,
    key: certs.serverKeyPem,
    onListen() {},
  }, async (req) => {
    received.push(await req.text());
    return bulkOk(1);
  });
  try {
    const { exporter, logs: consumer } = await started({
      http: { endpoint: `https://localhost:${server.addr.port}`, tls: { ca_file: certs.caFile } },
      ...single,
    }, ["logs"]);
    await consumer.consume(Payload.of("logs", logs([], [{ body: "secret" }])));
    await exporter.shutdown();
    assert.equal(received.length, 1);
    assert.match(received[0]!, /"body":"secret"/);
    // Without the CA the server is not trusted: a retryable failure, nothing sent.
    const untrusted = await started({
      http: { endpoint: `https://localhost:${server.addr.port}` },
      ...single,
    }, ["logs"]);
    const error = await untrusted.logs.consume(Payload.of("logs", logs([], [{ body: "x" }])))
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof ConsumerError);
    assert.equal(error.permanent, false);
    assert.equal(received.length, 1);
    await untrusted.exporter.shutdown();
  } finally {
    await server.shutdown();
    await certs.remove();
  }
});
