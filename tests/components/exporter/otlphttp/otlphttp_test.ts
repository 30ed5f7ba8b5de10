import assert from "node:assert/strict";
import { otlphttpExporterFactory } from "../../../../components/exporter/otlphttp/factory.ts";
import { otlphttpConfigSchema } from "../../../../components/exporter/otlphttp/config.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import { ConsumerError } from "../../../../lib/consumer/consumer.ts";
import { encodeRpcStatus } from "../../../../lib/net/rpc_status.ts";
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  decodeTracesJson,
  decodeTracesRequest,
  encodeTracesRequest,
  encodeTracesResponse,
  encodeTracesResponseJson,
  TRACES_PROTO,
} from "../../../../lib/otlp/mod.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { Signal } from "../../../../lib/pdata/types.ts";
import { spanNamesOf, tracesOf, tracesPayload } from "../../../fixtures/graph_kit.ts";
import {
  closedPort,
  gunzip,
  logsPayload,
  metricsPayload,
  settingsFor,
  testCertificates,
} from "../otlp/_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

interface Received {
  path: string;
  headers: Headers;
  /** The body as sent (compressed when it was). */
  raw: Uint8Array;
  /** The body after gunzip, when it was gzipped. */
  body: Uint8Array;
}

/** A fake OTLP/HTTP server on 127.0.0.1 that records requests and answers with `respond`. */
function fakeServer(respond: (r: Received) => Response | Promise<Response> = () => ok()) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const raw = await req.bytes();
    const gzipped = req.headers.get("content-encoding") === "gzip";
    const r: Received = {
      path: new URL(req.url).pathname,
      headers: req.headers,
      raw,
      body: gzipped ? await gunzip(raw) : raw,
    };
    received.push(r);
    return await respond(r);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
  };
}

/** A response body from bytes. */
function bytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}

function ok(): Response {
  return new Response(bytes(encodeTracesResponse(undefined)), {
    headers: { "content-type": "application/x-protobuf" },
  });
}

async function started(input: Record<string, unknown>, signals: Signal[] = ["traces"]) {
  const config = otlphttpConfigSchema.parse(input);
  const kit = settingsFor("otlphttp", config);
  const exporter = otlphttpExporterFactory.create(kit.settings, signals);
  await exporter.start({ getExtension: () => undefined, status: () => "running" });
  const traces = exporter.consumers.traces as Consumer<"traces">;
  return { exporter, traces, ...kit };
}

/** No queue and no retry: one consume, one attempt, its classified error returned. */
function single(input: Record<string, unknown>): Record<string, unknown> {
  return { ...input, sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };
}

async function rejection(promise: Promise<unknown>): Promise<ConsumerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConsumerError, `a ConsumerError, got ${error}`);
    return error;
  }
  assert.fail("expected a rejection");
}

Deno.test("otlphttp exporter posts gzipped protobuf to /v1/traces with the configured headers", async () => {
  const server = fakeServer();
  const { exporter, traces } = await started({
    endpoint: server.url,
    headers: { "x-tenant": "acme", authorization: "Bearer secret" },
  });
  await traces.consume(tracesPayload("a", "b"));
  await exporter.shutdown();
  await server.close();
  const [r] = server.received;
  assert.ok(r);
  assert.equal(r.path, "/v1/traces");
  assert.equal(r.headers.get("content-type"), "application/x-protobuf");
  assert.equal(r.headers.get("content-encoding"), "gzip");
  assert.equal(r.headers.get("x-tenant"), "acme");
  assert.equal(r.headers.get("authorization"), "Bearer secret");
  assert.match(r.headers.get("user-agent") ?? "", /^tfo\/0\.0\.0-test/);
  assert.notDeepEqual(r.raw, r.body, "the body was compressed");
  assert.deepEqual(spanNamesOf(decodeTracesRequest(r.body)), ["a", "b"]);
});

Deno.test("otlphttp exporter sends an encoded payload byte for byte", async () => {
  const server = fakeServer();
  const { exporter, traces } = await started({ endpoint: server.url });
  const bytes = encodeTracesRequest(tracesOf("x", "y", "z"));
  await traces.consume(Payload.fromProto("traces", bytes, TRACES_PROTO));
  await exporter.shutdown();
  await server.close();
  assert.deepEqual(server.received[0]?.body, bytes);
});

for (const compression of ["none", "gzip"]) {
  Deno.test(`otlphttp exporter sends a merged batch's parts without joining them (compression ${compression})`, async () => {
    const server = fakeServer();
    const { exporter, traces } = await started({ endpoint: server.url, compression });
    const parts = [tracesOf("a"), tracesOf("b", "c"), tracesOf("d")].map(encodeTracesRequest);
    const batch = Payload.merge(
      "traces",
      parts.map((b) => Payload.fromProto("traces", b, TRACES_PROTO)),
    );
    assert.equal(batch.encodedParts?.length, 3, "the batch holds its parts");
    await traces.consume(batch);
    await exporter.shutdown();
    await server.close();
    const [r] = server.received;
    assert.ok(r);
    const joined = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
    let offset = 0;
    for (const b of parts) {
      joined.set(b, offset);
      offset += b.length;
    }
    assert.deepEqual(r.body, joined, "every part arrived, in order, byte for byte");
    assert.equal(r.headers.get("content-length"), String(r.raw.length), "sent with a length");
    assert.equal(r.headers.get("transfer-encoding"), null, "not chunked");
    assert.deepEqual(spanNamesOf(decodeTracesRequest(r.body)), ["a", "b", "c", "d"]);
  });
}

Deno.test("otlphttp exporter sends OTLP/JSON uncompressed with compression none", async () => {
  const server = fakeServer(() =>
    new Response(encodeTracesResponseJson(undefined), {
      headers: { "content-type": "application/json" },
    })
  );
  const { exporter, traces } = await started({
    endpoint: server.url + "/",
    encoding: "json",
    compression: "none",
  });
  await traces.consume(tracesPayload("j"));
  await exporter.shutdown();
  await server.close();
  const [r] = server.received;
  assert.ok(r);
  assert.equal(r.path, "/v1/traces", "a trailing slash of endpoint is not doubled");
  assert.equal(r.headers.get("content-type"), "application/json");
  assert.equal(r.headers.get("content-encoding"), null);
  assert.deepEqual(spanNamesOf(decodeTracesJson(r.body)), ["j"]);
});

Deno.test("otlphttp exporter sends each signal to its path, and per-signal endpoints override", async () => {
  const server = fakeServer(() => new Response(null, { status: 200 }));
  const { exporter } = await started(
    { endpoint: server.url, logs_endpoint: `${server.url}/custom/logs` },
    ["traces", "metrics", "logs"],
  );
  await exporter.consumers.metrics!.consume(metricsPayload("m", 2));
  await exporter.consumers.logs!.consume(logsPayload("hello"));
  await exporter.shutdown();
  await server.close();
  assert.deepEqual(server.received.map((r) => r.path), ["/v1/metrics", "/custom/logs"]);
  const metrics = decodeMetricsRequest(server.received[0]!.body);
  assert.equal(metrics.resourceMetrics[0]?.scopeMetrics[0]?.metrics[0]?.name, "m");
  const logs = decodeLogsRequest(server.received[1]!.body);
  assert.equal(logs.resourceLogs[0]?.scopeLogs[0]?.logRecords[0]?.body, "hello");
});

Deno.test("otlphttp exporter accepts a partial success, warns once and counts the rejected items", async () => {
  const server = fakeServer(() =>
    new Response(
      bytes(encodeTracesResponse({ rejectedItems: 3n, errorMessage: "spans too old" })),
      {
        headers: { "content-type": "application/x-protobuf" },
      },
    )
  );
  const { exporter, traces, warnings, registry } = await started({ endpoint: server.url });
  await traces.consume(tracesPayload("a", "b", "c", "d"));
  await exporter.shutdown();
  await server.close();
  const [warning, ...more] = warnings();
  assert.equal(more.length, 0);
  assert.equal(warning?.rejected_spans, 3);
  assert.equal(warning?.message, "spans too old");
  assert.equal(registry.value("tfo_exporter_rejected_spans", { exporter: "otlphttp" }), 3);
});

Deno.test("otlphttp exporter reads a JSON partial success", async () => {
  const server = fakeServer(() =>
    new Response(encodeTracesResponseJson({ rejectedItems: 1n, errorMessage: "bad" }), {
      headers: { "content-type": "application/json; charset=utf-8" },
    })
  );
  const { exporter, traces, warnings } = await started({ endpoint: server.url, encoding: "json" });
  await traces.consume(tracesPayload("a"));
  await exporter.shutdown();
  await server.close();
  assert.equal(warnings()[0]?.rejected_spans, 1);
});

Deno.test("otlphttp exporter treats 400 as permanent and reports the Status message", async () => {
  const server = fakeServer(() =>
    new Response(bytes(encodeRpcStatus({ code: 3, message: "span 2 has no trace ID" })), {
      status: 400,
      headers: { "content-type": "application/x-protobuf" },
    })
  );
  const { exporter, traces } = await started(single({ endpoint: server.url }));
  const error = await rejection(traces.consume(tracesPayload("a")));
  await exporter.shutdown();
  await server.close();
  assert.equal(error.permanent, true);
  assert.match(error.message, /HTTP 400: span 2 has no trace ID/);
});

for (const status of [401, 403, 404, 413, 500, 501]) {
  Deno.test(`otlphttp exporter treats HTTP ${status} as permanent`, async () => {
    const server = fakeServer(() => new Response("nope", { status }));
    const { exporter, traces } = await started(single({ endpoint: server.url }));
    const error = await rejection(traces.consume(tracesPayload("a")));
    await exporter.shutdown();
    await server.close();
    assert.equal(error.permanent, true);
    assert.match(error.message, new RegExp(`HTTP ${status}: nope`));
  });
}

Deno.test("otlphttp exporter treats 429 as retryable and honours Retry-After seconds", async () => {
  const server = fakeServer(() =>
    new Response(null, { status: 429, headers: { "retry-after": "7" } })
  );
  const { exporter, traces } = await started(single({ endpoint: server.url }));
  const error = await rejection(traces.consume(tracesPayload("a")));
  await exporter.shutdown();
  await server.close();
  assert.equal(error.permanent, false);
  assert.equal(error.retryAfterMs, 7000);
});

Deno.test("otlphttp exporter honours a Retry-After HTTP date", async () => {
  const when = new Date(Date.now() + 60_000).toUTCString();
  const server = fakeServer(() =>
    new Response(null, { status: 503, headers: { "retry-after": when } })
  );
  const { exporter, traces } = await started(single({ endpoint: server.url }));
  const error = await rejection(traces.consume(tracesPayload("a")));
  await exporter.shutdown();
  await server.close();
  assert.equal(error.permanent, false);
  assert.ok(error.retryAfterMs! > 55_000 && error.retryAfterMs! <= 60_000, `${error.retryAfterMs}`);
});

for (const status of [502, 503, 504]) {
  Deno.test(`otlphttp exporter treats HTTP ${status} as retryable`, async () => {
    const server = fakeServer(() => new Response(null, { status }));
    const { exporter, traces } = await started(single({ endpoint: server.url }));
    const error = await rejection(traces.consume(tracesPayload("a")));
    await exporter.shutdown();
    await server.close();
    assert.equal(error.permanent, false);
    assert.equal(error.retryAfterMs, undefined);
  });
}

Deno.test("otlphttp exporter treats a refused connection as retryable", async () => {
  const { exporter, traces } = await started(
    single({ endpoint: `http://127.0.0.1:${closedPort()}` }),
  );
  const error = await rejection(traces.consume(tracesPayload("a")));
  await exporter.shutdown();
  assert.equal(error.permanent, false);
  assert.match(error.message, /Cannot export traces to http:\/\/127\.0\.0\.1/);
});

Deno.test("otlphttp exporter times out on a server that never answers, as retryable", async () => {
  const { promise: release, resolve } = Promise.withResolvers<void>();
  const server = fakeServer(async () => {
    await release;
    return ok();
  });
  const { exporter, traces } = await started(single({ endpoint: server.url, timeout: "150ms" }));
  const began = Date.now();
  const error = await rejection(traces.consume(tracesPayload("a")));
  const took = Date.now() - began;
  await exporter.shutdown();
  resolve();
  await server.close();
  assert.equal(error.permanent, false);
  assert.match(error.message, /timed out/);
  assert.ok(took >= 140 && took < 5000, `took ${took}ms`);
});

/** A raw TCP server that reads a request, then answers with `reply` and closes the connection. */
function rawServer(reply: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(65536));
      if (reply !== "") await conn.write(new TextEncoder().encode(reply)).catch(() => 0);
      conn.close();
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async close() {
      listener.close();
      await done.catch(() => {});
    },
  };
}

Deno.test("otlphttp exporter treats a connection reset in the middle of the response body as retryable", async () => {
  const server = rawServer(
    "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100\r\n\r\n\x0a\x05",
  );
  const { exporter, traces } = await started(single({ endpoint: server.url }));
  const error = await rejection(traces.consume(tracesPayload("a")));
  await exporter.shutdown();
  await server.close();
  assert.equal(error.permanent, false);
});

Deno.test("otlphttp exporter treats a connection closed before any response as retryable", async () => {
  const server = rawServer("");
  const { exporter, traces } = await started(single({ endpoint: server.url }));
  const error = await rejection(traces.consume(tracesPayload("a")));
  await exporter.shutdown();
  await server.close();
  assert.equal(error.permanent, false);
});

Deno.test("otlphttp exporter refuses data before start and after shutdown, as retryable", async () => {
  const config = otlphttpConfigSchema.parse({ endpoint: "http://127.0.0.1:1" });
  const exporter = otlphttpExporterFactory.create(settingsFor("otlphttp", config).settings, [
    "traces",
  ]);
  const before = await rejection(exporter.consumers.traces!.consume(tracesPayload("a")));
  assert.match(before.message, /not started/);
  await exporter.shutdown();
  await exporter.shutdown();
  const after = await rejection(exporter.consumers.traces!.consume(tracesPayload("a")));
  assert.equal(after.permanent, false);
  assert.match(after.message, /shut down/);
  assert.equal(exporter.consumers.traces!.mutatesData, false);
});

Deno.test("otlphttp config has the Collector's defaults", () => {
  const c = otlphttpConfigSchema.parse({ endpoint: "https://collector:4318" });
  assert.equal(c.encoding, "proto");
  assert.equal(c.compression, "gzip");
  assert.equal(c.timeout, 30_000);
  assert.deepEqual(c.headers, {});
  assert.equal(c.tls.insecure_skip_verify, false);
  assert.equal(c.retry_on_failure.enabled, true);
  assert.equal(c.retry_on_failure.initial_interval, 5000);
  assert.equal(c.retry_on_failure.max_elapsed_time, 300_000);
  assert.equal(c.sending_queue.enabled, true);
  assert.equal(c.sending_queue.num_consumers, 10);
  assert.equal(c.sending_queue.queue_size, 1000);
});

Deno.test("otlphttp config requires endpoint unless every per-signal endpoint is set", () => {
  const missing = otlphttpConfigSchema.safeParse({ traces_endpoint: "http://a:4318/v1/traces" });
  assert.equal(missing.success, false);
  assert.match(missing.error!.issues[0]!.message, /metrics_endpoint, logs_endpoint/);
  assert.deepEqual(missing.error!.issues[0]!.path, ["endpoint"]);
  const all = otlphttpConfigSchema.safeParse({
    traces_endpoint: "http://a:4318/t",
    metrics_endpoint: "http://a:4318/m",
    logs_endpoint: "http://a:4318/l",
  });
  assert.equal(all.success, true);
});

Deno.test("otlphttp config rejects what tfo does not implement", () => {
  for (
    const input of [
      { endpoint: "http://a:4318", retry_on_failure: { backoff: "1s" } },
      { endpoint: "http://a:4318", sending_queue: { persistent: true } },
      { endpoint: "http://a:4318", sending_queue: { num_consumers: 0 } },
      { endpoint: "http://a:4318", tls: { insecure_skip_verify: true } },
      { endpoint: "http://a:4318", tls: { cert_file: "c.pem" } },
      { endpoint: "http://a:4318", encoding: "xml" },
      { endpoint: "http://a:4318", compression: "lz4" },
      { endpoint: "a:4318" },
    ]
  ) {
    assert.equal(otlphttpConfigSchema.safeParse(input).success, false, JSON.stringify(input));
  }
});

Deno.test("otlphttp exporter trusts the CA of tls.ca_file over https", async (t) => {
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
    received.push(new URL(req.url).pathname);
    await req.body?.cancel();
    return new Response(null, { status: 200 });
  });
  const url = `https://localhost:${server.addr.port}`;
  try {
    const trusted = await started({ endpoint: url, tls: { ca_file: certs.caFile } });
    await trusted.traces.consume(tracesPayload("a"));
    await trusted.exporter.shutdown();
    assert.deepEqual(received, ["/v1/traces"]);

    const untrusted = await started(single({ endpoint: url }));
    const error = await rejection(untrusted.traces.consume(tracesPayload("a")));
    await untrusted.exporter.shutdown();
    assert.equal(error.permanent, false, "a TLS failure is retryable");
    assert.deepEqual(received, ["/v1/traces"]);
  } finally {
    await server.shutdown();
    await certs.remove();
  }
});

Deno.test("otlphttp exporter fails to start when a TLS file cannot be read", async () => {
  const config = otlphttpConfigSchema.parse({
    endpoint: "https://localhost:4318",
    tls: { ca_file: "/nonexistent/ca.pem" },
  });
  const exporter = otlphttpExporterFactory.create(settingsFor("otlphttp", config).settings, [
    "traces",
  ]);
  await assert.rejects(
    exporter.start({ getExtension: () => undefined, status: () => "running" }),
    /Cannot read the CA file "\/nonexistent\/ca.pem"/,
  );
  await exporter.shutdown();
});
