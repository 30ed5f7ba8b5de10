/**
 * Slow and hostile HTTP clients against the otlp receiver (issue 21, "slow clients"): with the
 * Collector's confighttp keys set short, slowloris connections, slow heads, slow bodies and idle
 * keep-alive connections are closed, a declared oversized body gets 413 and a close, a huge head
 * 431 — and valid clients are served all along.
 */
import assert from "node:assert/strict";
import {
  httpServerTimeouts,
  otlpConfigSchema,
} from "../../../../components/receiver/otlp/config.ts";
import {
  closeQuietly,
  connect,
  readUntilClosed,
  send,
  statuses,
} from "../../../lib/net/http1/_raw.ts";
import { startHarness, tracesProto } from "./_helpers.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** A deadline of a few hundred ms must have closed a connection long before this. */
const WAIT_MS = 20_000;
const PB = { "content-type": "application/x-protobuf" };

function post(port: number, body: Uint8Array<ArrayBuffer>): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/v1/traces`, { method: "POST", headers: PB, body });
}

function portOf(base: string): number {
  return Number(new URL(base).port);
}

Deno.test("otlp http receiver closes 500 slowloris connections at read_header_timeout while serving valid clients", async () => {
  await using h = await startHarness({ http: { read_header_timeout: "500ms" } }, ["traces"]);
  const port = portOf(h.httpBase);
  const loris = await Promise.all(Array.from({ length: 500 }, () => connect(port)));
  // Each sends part of a head and then a header line now and then, never the blank line.
  await Promise.all(
    loris.map((c, i) => send(c, `POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-${i}: a\r\n`)),
  );
  let trickling = true;
  const trickle = (async () => {
    for (let round = 0; trickling && round < 100; round++) {
      await new Promise((r) => setTimeout(r, 150));
      await Promise.all(loris.map((c) => send(c, "X-More: b\r\n").catch(() => {})));
    }
  })();
  // Valid requests keep arriving meanwhile.
  const valid = (async () => {
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      const r = await post(port, tracesProto(`valid-${i}`));
      await r.body?.cancel();
      if (r.status === 200) ok++;
    }
    return ok;
  })();
  const results = await Promise.all(loris.map((c) => readUntilClosed(c, WAIT_MS)));
  trickling = false;
  await trickle;
  for (const c of loris) closeQuietly(c);
  const closed = results.filter((r) => r.closedByServer).length;
  assert.equal(closed, 500, `${closed} of 500 slowloris connections closed by tfo`);
  assert.equal(results.filter((r) => r.text.length > 0).length, 0, "none was answered");
  assert.equal(await valid, 20);
  assert.deepEqual(
    h.sinks.traces.payloads.map((p) => p.read().resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name),
    Array.from({ length: 20 }, (_, i) => `valid-${i}`),
  );
});

Deno.test("otlp http receiver closes a body that does not arrive within read_timeout", async () => {
  await using h = await startHarness({ http: { read_timeout: "500ms" } }, ["traces"]);
  const conn = await connect(portOf(h.httpBase));
  const body = tracesProto("slow");
  await send(
    conn,
    `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`,
  );
  await send(conn, body.subarray(0, 3));
  const r = await readUntilClosed(conn, WAIT_MS);
  closeQuietly(conn);
  assert.ok(r.closedByServer);
  assert.equal(h.sinks.traces.payloads.length, 0);
});

Deno.test("otlp http receiver bounds a trickling body by write_timeout even without read_timeout", async () => {
  await using h = await startHarness({ http: { write_timeout: "600ms" } }, ["traces"]);
  const conn = await connect(portOf(h.httpBase));
  await send(
    conn,
    "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{",
  );
  let dripping = true;
  const drip = (async () => {
    for (let i = 0; dripping && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await send(conn, " ").catch(() => (dripping = false));
    }
  })();
  const r = await readUntilClosed(conn, WAIT_MS);
  dripping = false;
  await drip;
  closeQuietly(conn);
  assert.ok(r.closedByServer);
  assert.equal(h.sinks.traces.payloads.length, 0);
});

Deno.test("otlp http receiver closes an idle keep-alive connection at keepalive::idle_timeout", async () => {
  await using h = await startHarness(
    { http: { keepalive: { idle_timeout: "500ms" } } },
    ["traces"],
  );
  const conn = await connect(portOf(h.httpBase));
  const body = tracesProto("kept");
  const head = `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`;
  await send(conn, new Uint8Array([...new TextEncoder().encode(head), ...body]));
  const answered = await readUntilClosed(
    conn,
    WAIT_MS,
    (t) => /content-length: (\d+)\r\n\r\n/.test(t),
  );
  assert.deepEqual(statuses(answered.text), [200]);
  const idle = await readUntilClosed(conn, WAIT_MS);
  closeQuietly(conn);
  assert.ok(idle.closedByServer);
  assert.equal(h.sinks.traces.payloads.length, 1);
});

Deno.test("otlp http receiver closes every connection after its answer with keepalive::enabled false", async () => {
  await using h = await startHarness({ http: { keepalive: { enabled: false } } }, ["traces"]);
  const conn = await connect(portOf(h.httpBase));
  const body = tracesProto("once");
  await send(
    conn,
    `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`,
  );
  await send(conn, body);
  const r = await readUntilClosed(conn, WAIT_MS);
  closeQuietly(conn);
  assert.ok(r.closedByServer);
  assert.deepEqual(statuses(r.text), [200]);
  assert.match(r.text, /connection: close/);
});

Deno.test("otlp http receiver answers a declared oversized body 413 and closes without reading it", async () => {
  await using h = await startHarness({ http: { max_request_body_size: 1000 } }, ["traces"]);
  const conn = await connect(portOf(h.httpBase));
  await send(
    conn,
    "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n" +
      "Content-Length: 50000000\r\n\r\n",
  );
  await send(conn, new Uint8Array(2000));
  const r = await readUntilClosed(conn, WAIT_MS);
  closeQuietly(conn);
  assert.ok(r.closedByServer);
  assert.deepEqual(statuses(r.text), [413]);
  assert.match(r.text, /connection: close/);
  // The same with Expect: 100-continue: no 100, the client need not send the body at all.
  const polite = await connect(portOf(h.httpBase));
  await send(
    polite,
    "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n" +
      "Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n",
  );
  const p = await readUntilClosed(polite, WAIT_MS);
  closeQuietly(polite);
  assert.deepEqual(statuses(p.text), [413]);
  assert.ok(p.closedByServer);
  assert.equal(h.sinks.traces.payloads.length, 0);
});

Deno.test("otlp http receiver answers 431 to a huge head and closes", async () => {
  await using h = await startHarness({ http: null }, ["traces"]);
  const conn = await connect(portOf(h.httpBase));
  await send(conn, `POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Huge: ${"h".repeat(200_000)}\r\n\r\n`)
    .catch(() => {});
  const r = await readUntilClosed(conn, WAIT_MS);
  closeQuietly(conn);
  assert.ok(r.closedByServer);
  assert.deepEqual(statuses(r.text), [431]);
  const ok = await post(portOf(h.httpBase), tracesProto("after"));
  await ok.body?.cancel();
  assert.equal(ok.status, 200);
});

Deno.test("otlp http receiver config: the Collector's deadline keys, defaults and conflicts", () => {
  const parse = (http: Record<string, unknown>) =>
    otlpConfigSchema.safeParse({ protocols: { http } });
  const defaults = otlpConfigSchema.parse({ protocols: { http: null } }).protocols.http!;
  assert.equal(defaults.read_header_timeout, 60_000);
  assert.equal(defaults.read_timeout, 0);
  assert.equal(defaults.write_timeout, 30_000);
  const deprecated = parse({ idle_timeout: "5s", keep_alives_enabled: true });
  assert.ok(deprecated.success);
  const mixed = parse({ idle_timeout: "5s", keepalive: { idle_timeout: "1s" } });
  assert.ok(!mixed.success);
  assert.match(mixed.error.issues[0]!.message, /cannot be used with the deprecated idle_timeout/);
  assert.ok(!parse({ keepalive: { idle_time: "1s" } }).success, "unknown keys are refused");
  assert.ok(!parse({ read_header_timeout: "soon" }).success);
  const timeouts = (http: Record<string, unknown>) =>
    httpServerTimeouts(otlpConfigSchema.parse({ protocols: { http } }).protocols.http!);
  assert.deepEqual(timeouts({}), {
    readTimeoutMs: 0,
    readHeaderTimeoutMs: 60_000,
    writeTimeoutMs: 30_000,
    idleTimeoutMs: 60_000,
    keepAlive: true,
  });
  assert.equal(timeouts({ idle_timeout: "5s" }).idleTimeoutMs, 5000);
  assert.equal(timeouts({ keep_alives_enabled: false }).keepAlive, false);
  assert.equal(timeouts({ keepalive: { idle_timeout: "2s" } }).idleTimeoutMs, 2000);
  assert.equal(timeouts({ keepalive: null }).keepAlive, true);
  assert.equal(timeouts({ keepalive: null, idle_timeout: "5s" }).idleTimeoutMs, 5000);
  assert.equal(timeouts({ keepalive: { enabled: false } }).keepAlive, false);
});
