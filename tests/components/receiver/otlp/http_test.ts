import assert from "node:assert/strict";
import { permanentError, retryableError } from "../../../../lib/consumer/consumer.ts";
import { GrpcCode } from "../../../../lib/net/rpc_status.ts";
import {
  gzip,
  logsJson,
  logsProto,
  metricsJson,
  metricsProto,
  post,
  spanNames,
  startHarness,
  tracesJson,
  tracesProto,
} from "./_helpers.ts";

const PB = { "content-type": "application/x-protobuf" };
const JSON_CT = { "content-type": "application/json" };

/** Reads `code` and `message` of a protobuf `google.rpc.Status`. */
function readStatus(bytes: Uint8Array): { code: number; message: string } {
  let pos = 0;
  let code = 0;
  let message = "";
  const varint = () => {
    let v = 0;
    let shift = 0;
    while (true) {
      const b = bytes[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    if (tag === 8) code = varint();
    else if ((tag & 7) === 2) {
      const len = varint();
      if (tag >> 3 === 2) message = new TextDecoder().decode(bytes.subarray(pos, pos + len));
      pos += len;
    } else throw new Error(`unexpected tag ${tag}`);
  }
  return { code, message };
}

Deno.test("otlp http receiver delivers protobuf traces, metrics and logs still encoded", async () => {
  await using h = await startHarness({ http: null });
  const t = await post(`${h.httpBase}/v1/traces`, tracesProto("a", "b"), PB);
  assert.equal(t.status, 200);
  assert.equal(t.headers.get("content-type"), "application/x-protobuf");
  assert.equal(t.body.length, 0);
  const m = await post(`${h.httpBase}/v1/metrics`, metricsProto("cpu", 1, 2, 3), PB);
  assert.equal(m.status, 200);
  const l = await post(`${h.httpBase}/v1/logs`, logsProto("hello"), PB);
  assert.equal(l.status, 200);

  const traces = h.sinks.traces.payloads[0]!;
  assert.ok(traces.encodedProto !== undefined, "protobuf stays encoded");
  assert.deepEqual(spanNames(h.sinks.traces), ["a", "b"]);
  const span = traces.read().resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  assert.equal(span.startTimeUnixNano, 1700000000123456789n);
  assert.deepEqual(span.attributes, [{ key: "http.route", value: "/cart" }]);
  assert.equal(traces.client.address?.startsWith("127.0.0.1:"), true);
  assert.equal(traces.client.metadata.size, 0);

  const metrics = h.sinks.metrics.payloads[0]!;
  assert.equal(metrics.itemCount, 3);
  assert.equal(metrics.read().resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.name, "cpu");
  const logs = h.sinks.logs.payloads[0]!;
  assert.equal(logs.read().resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.body, "hello");
});

Deno.test("otlp http receiver takes JSON and answers in JSON", async () => {
  await using h = await startHarness({ http: null });
  for (
    const [path, body] of [
      ["traces", tracesJson("j1")],
      ["metrics", metricsJson("mem", 5)],
      ["logs", logsJson("x", "y")],
    ] as const
  ) {
    const res = await post(`${h.httpBase}/v1/${path}`, body, {
      "content-type": "application/json; charset=utf-8",
    });
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(res.body)), {});
  }
  assert.deepEqual(spanNames(h.sinks.traces), ["j1"]);
  const span = h.sinks.traces.payloads[0]!.read().resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  assert.equal(
    [...span.traceId].map((b) => b.toString(16).padStart(2, "0")).join(""),
    "5b8efff798038103d269b633813fc60c",
  );
  assert.equal(h.sinks.metrics.payloads[0]!.itemCount, 1);
  assert.equal(h.sinks.logs.payloads[0]!.itemCount, 2);
});

Deno.test("otlp http receiver serves the /v2 paths and custom paths", async () => {
  await using h = await startHarness({ http: { traces_url_path: "custom/traces" } });
  assert.equal((await post(`${h.httpBase}/v2/traces`, tracesProto("v2"), PB)).status, 200);
  assert.equal((await post(`${h.httpBase}/custom/traces`, tracesProto("c"), PB)).status, 200);
  assert.equal((await post(`${h.httpBase}/v2/metrics`, metricsProto("m", 1), PB)).status, 200);
  assert.equal((await post(`${h.httpBase}/v2/logs`, logsJson("l"), JSON_CT)).status, 200);
  assert.equal((await post(`${h.httpBase}/v1/traces`, tracesProto("x"), PB)).status, 404);
  assert.deepEqual(spanNames(h.sinks.traces), ["v2", "c"]);
  assert.equal(h.sinks.metrics.payloads.length, 1);
  assert.equal(h.sinks.logs.payloads.length, 1);
});

Deno.test("otlp http receiver decompresses gzip, deflate and zstd bodies", async () => {
  await using h = await startHarness({ http: null });
  const gz = await gzip(tracesProto("gz"));
  const res = await post(`${h.httpBase}/v1/traces`, gz, { ...PB, "content-encoding": "gzip" });
  assert.equal(res.status, 200);
  const deflated = new Uint8Array(
    await new Response(
      new Blob([tracesProto("zl")]).stream().pipeThrough(new CompressionStream("deflate")),
    ).arrayBuffer(),
  );
  const res2 = await post(`${h.httpBase}/v1/traces`, deflated, {
    ...PB,
    "content-encoding": "deflate",
  });
  assert.equal(res2.status, 200);
  const { zstdCompressSync } = await import("node:zlib");
  const zs = new Uint8Array(zstdCompressSync(new TextEncoder().encode(tracesJson("zs"))));
  const res3 = await post(`${h.httpBase}/v1/traces`, zs, {
    ...JSON_CT,
    "content-encoding": "zstd",
  });
  assert.equal(res3.status, 200);
  assert.deepEqual(spanNames(h.sinks.traces), ["gz", "zl", "zs"]);
});

Deno.test("otlp http receiver copies lower-cased headers into client metadata with include_metadata", async () => {
  await using h = await startHarness({ http: { include_metadata: true } });
  const res = await post(`${h.httpBase}/v1/traces`, tracesProto("m"), {
    ...PB,
    "X-Tenant-ID": "acme",
  });
  assert.equal(res.status, 200);
  const client = h.sinks.traces.payloads[0]!.client;
  assert.deepEqual(client.metadata.get("x-tenant-id"), ["acme"]);
  assert.deepEqual(client.metadata.get("content-type"), ["application/x-protobuf"]);
  assert.match(client.address ?? "", /^127\.0\.0\.1:\d+$/);
});

Deno.test("otlp http receiver answers malformed input with 400 and a google.rpc.Status", async () => {
  await using h = await startHarness({ http: null });
  const good = tracesProto("a", "b", "c");
  const truncated = await post(`${h.httpBase}/v1/traces`, good.subarray(0, good.length - 7), PB);
  assert.equal(truncated.status, 400);
  assert.equal(truncated.headers.get("content-type"), "application/x-protobuf");
  const status = readStatus(truncated.body);
  assert.equal(status.code, GrpcCode.INVALID_ARGUMENT);
  assert.ok(status.message.length > 0);

  const badJson = await post(`${h.httpBase}/v1/traces`, '{"resourceSpans": [', JSON_CT);
  assert.equal(badJson.status, 400);
  assert.equal(badJson.headers.get("content-type"), "application/json");
  const json = JSON.parse(new TextDecoder().decode(badJson.body));
  assert.equal(json.code, GrpcCode.INVALID_ARGUMENT);
  assert.equal(typeof json.message, "string");

  const wrongShape = await post(`${h.httpBase}/v1/metrics`, '{"resourceMetrics": 7}', JSON_CT);
  assert.equal(wrongShape.status, 400);

  const badGzip = await post(`${h.httpBase}/v1/logs`, new Uint8Array([0x1f, 0x8b, 1, 2, 3]), {
    ...PB,
    "content-encoding": "gzip",
  });
  assert.equal(badGzip.status, 400);
  const gz = await gzip(tracesProto("x"));
  const truncatedGzip = await post(`${h.httpBase}/v1/traces`, gz.subarray(0, gz.length - 4), {
    ...PB,
    "content-encoding": "gzip",
  });
  assert.equal(truncatedGzip.status, 400);

  const unknownCoding = await post(`${h.httpBase}/v1/traces`, good, {
    ...PB,
    "content-encoding": "br",
  });
  assert.equal(unknownCoding.status, 400);
  assert.match(readStatus(unknownCoding.body).message, /Content-Encoding: br/);
  assert.equal(h.sinks.traces.payloads.length, 0);
  assert.equal(h.sinks.metrics.payloads.length, 0);
  assert.equal(h.sinks.logs.payloads.length, 0);
});

Deno.test("otlp http receiver answers 415, 405 and 404 as the Collector does", async () => {
  await using h = await startHarness({ http: null });
  const wrongType = await post(`${h.httpBase}/v1/traces`, "x", { "content-type": "text/plain" });
  assert.equal(wrongType.status, 415);
  const noType = await fetch(`${h.httpBase}/v1/traces`, {
    method: "POST",
    body: new Uint8Array(1),
  });
  await noType.body?.cancel();
  assert.equal(noType.status, 415);
  const get = await fetch(`${h.httpBase}/v1/traces`);
  await get.body?.cancel();
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  const put = await fetch(`${h.httpBase}/v1/logs`, { method: "PUT", body: "x", headers: PB });
  await put.body?.cancel();
  assert.equal(put.status, 405);
  const unknown = await post(`${h.httpBase}/v1/profiles`, tracesProto("x"), PB);
  assert.equal(unknown.status, 404);
  const root = await post(`${h.httpBase}/`, tracesProto("x"), PB);
  assert.equal(root.status, 404);
});

Deno.test("otlp http receiver answers 413 for bodies over max_request_body_size", async () => {
  await using h = await startHarness({ http: { max_request_body_size: "1MiB" } });
  // Declared too large.
  const big = new Uint8Array(1024 * 1024 + 10);
  const declared = await post(`${h.httpBase}/v1/traces`, big, PB);
  assert.equal(declared.status, 413);
  assert.equal(readStatus(declared.body).code, GrpcCode.RESOURCE_EXHAUSTED);
  // Streamed (chunked, no Content-Length) past the limit.
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent > 8 * 1024 * 1024) return controller.close();
      sent += 64 * 1024;
      controller.enqueue(new Uint8Array(64 * 1024));
    },
  });
  const streamed = await fetch(`${h.httpBase}/v1/traces`, {
    method: "POST",
    body: stream,
    headers: JSON_CT,
  });
  assert.equal(streamed.status, 413);
  assert.equal(JSON.parse(await streamed.text()).code, GrpcCode.RESOURCE_EXHAUSTED);
  assert.equal(h.sinks.traces.payloads.length, 0);
});

Deno.test("otlp http receiver answers 413 to a gzip bomb without inflating it", async () => {
  await using h = await startHarness({ http: { max_request_body_size: "1MiB" } });
  const bomb = await gzip(new Uint8Array(10 * 1024 * 1024));
  assert.ok(bomb.length < 1024 * 1024);
  const res = await post(`${h.httpBase}/v1/traces`, bomb, { ...PB, "content-encoding": "gzip" });
  assert.equal(res.status, 413);
  assert.equal(readStatus(res.body).code, GrpcCode.RESOURCE_EXHAUSTED);
  // A legitimate compressed request right after still goes through.
  const ok = await post(`${h.httpBase}/v1/traces`, await gzip(tracesProto("after")), {
    ...PB,
    "content-encoding": "gzip",
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(spanNames(h.sinks.traces), ["after"]);
});

Deno.test("otlp http receiver maps pipeline refusals: retryable 503 with Retry-After, permanent 400", async () => {
  await using h = await startHarness({ http: null });
  h.sinks.traces.fail = () => retryableError("queue is full", { retryAfterMs: 2500 });
  const busy = await post(`${h.httpBase}/v1/traces`, tracesProto("a"), PB);
  assert.equal(busy.status, 503);
  assert.equal(busy.headers.get("retry-after"), "3");
  const status = readStatus(busy.body);
  assert.equal(status.code, GrpcCode.UNAVAILABLE);
  assert.doesNotMatch(status.message, /queue is full/, "internal details stay inside");

  h.sinks.traces.fail = () => retryableError("down");
  const down = await post(`${h.httpBase}/v1/traces`, tracesJson("a"), JSON_CT);
  assert.equal(down.status, 503);
  assert.equal(down.headers.get("retry-after"), null);
  assert.equal(JSON.parse(new TextDecoder().decode(down.body)).code, GrpcCode.UNAVAILABLE);

  h.sinks.traces.fail = () => new Error("unexpected");
  assert.equal((await post(`${h.httpBase}/v1/traces`, tracesProto("a"), PB)).status, 503);

  h.sinks.traces.fail = () => permanentError("bad data");
  const bad = await post(`${h.httpBase}/v1/traces`, tracesProto("a"), PB);
  assert.equal(bad.status, 400);
  assert.equal(readStatus(bad.body).code, GrpcCode.INVALID_ARGUMENT);
});

Deno.test("otlp http receiver keeps serving good requests interleaved with bad ones", async () => {
  await using h = await startHarness({ http: { max_request_body_size: "64KiB" } });
  const bomb = await gzip(new Uint8Array(4 * 1024 * 1024));
  const requests: Promise<number>[] = [];
  for (let i = 0; i < 30; i++) {
    requests.push(post(`${h.httpBase}/v1/traces`, tracesProto(`s${i}`), PB).then((r) => r.status));
    requests.push(
      post(`${h.httpBase}/v1/traces`, new Uint8Array([0xff, 0xff, 0xff]), PB).then((r) => r.status),
    );
    requests.push(
      post(`${h.httpBase}/v1/traces`, bomb, { ...PB, "content-encoding": "gzip" }).then((r) =>
        r.status
      ),
    );
    requests.push(post(`${h.httpBase}/v1/logs`, "{", JSON_CT).then((r) => r.status));
  }
  const statuses = await Promise.all(requests);
  for (let i = 0; i < statuses.length; i += 4) {
    assert.deepEqual(statuses.slice(i, i + 4), [200, 400, 413, 400]);
  }
  assert.equal(spanNames(h.sinks.traces).length, 30);
  assert.deepEqual(
    new Set(spanNames(h.sinks.traces)),
    new Set(Array.from({ length: 30 }, (_, i) => `s${i}`)),
  );
});

Deno.test("otlp http receiver answers CORS preflights for allowed origins only", async () => {
  await using h = await startHarness({
    http: {
      cors: {
        allowed_origins: ["https://*.example.com", "http://localhost:3000"],
        allowed_headers: ["X-Custom"],
        max_age: 600,
      },
    },
  });
  const preflight = (origin: string, headers = "content-type") =>
    fetch(`${h.httpBase}/v1/traces`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": headers,
      },
    });
  const ok = await preflight("https://app.example.com", "content-type, x-custom");
  await ok.body?.cancel();
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example.com");
  assert.equal(ok.headers.get("access-control-allow-methods"), "POST");
  assert.equal(ok.headers.get("access-control-allow-headers"), "content-type, x-custom");
  assert.equal(ok.headers.get("access-control-max-age"), "600");

  const exact = await preflight("http://localhost:3000");
  await exact.body?.cancel();
  assert.equal(exact.headers.get("access-control-allow-origin"), "http://localhost:3000");

  for (
    const origin of ["https://evil.com", "https://example.com.evil.org", "http://app.example.com"]
  ) {
    const denied = await preflight(origin);
    await denied.body?.cancel();
    assert.equal(denied.status, 204);
    assert.equal(denied.headers.get("access-control-allow-origin"), null, origin);
  }
  const badHeader = await preflight("https://app.example.com", "x-other");
  await badHeader.body?.cancel();
  assert.equal(badHeader.headers.get("access-control-allow-origin"), null);

  const actual = await fetch(`${h.httpBase}/v1/traces`, {
    method: "POST",
    body: tracesProto("cors"),
    headers: { ...PB, origin: "https://app.example.com" },
  });
  await actual.body?.cancel();
  assert.equal(actual.status, 200);
  assert.equal(actual.headers.get("access-control-allow-origin"), "https://app.example.com");
});

Deno.test("otlp http receiver without cors answers OPTIONS with 405", async () => {
  await using h = await startHarness({ http: null });
  const res = await fetch(`${h.httpBase}/v1/traces`, {
    method: "OPTIONS",
    headers: { origin: "https://a.example.com", "access-control-request-method": "POST" },
  });
  await res.body?.cancel();
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("access-control-allow-origin"), null);
});

Deno.test("otlp http receiver serves only signals that have a consumer", async () => {
  await using h = await startHarness({ http: null }, ["logs"]);
  assert.equal((await post(`${h.httpBase}/v1/traces`, tracesProto("a"), PB)).status, 404);
  assert.equal((await post(`${h.httpBase}/v1/logs`, logsProto("a"), PB)).status, 200);
});

Deno.test("otlp http receiver survives clients that vanish mid-body or send garbage", async () => {
  await using h = await startHarness({ http: null });
  const port = Number(new URL(h.httpBase).port);
  for (
    const raw of [
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n" +
      "Content-Length: 1000\r\n\r\n0123456789",
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
      "Transfer-Encoding: chunked\r\n\r\nzz\r\nbroken",
      "\x00\x01\x02 not http at all\r\n\r\n",
    ]
  ) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(raw));
    conn.close();
  }
  await new Promise((r) => setTimeout(r, 50));
  const ok = await post(`${h.httpBase}/v1/traces`, tracesProto("alive"), PB);
  assert.equal(ok.status, 200);
  assert.deepEqual(spanNames(h.sinks.traces), ["alive"]);
  assert.deepEqual(h.logs.filter((l) => l.includes('"level":"error"')), []);
});
