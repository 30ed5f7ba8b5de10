import assert from "node:assert/strict";
import {
  type Http1ServerOptions,
  type HttpRequest,
  readRequestBody,
  serveHttp1,
} from "../../../../lib/net/http1/server.ts";
import { testCertificates } from "../../../components/exporter/otlp/_kit.ts";
import { closeQuietly, connect, readUntilClosed, send, statuses } from "./_raw.ts";

/** Generous: a deadline of a few hundred ms must have closed the connection well before this. */
const WAIT_MS = 15_000;

/** The whole body: through the body stream for paths under `/s/`, else read directly. */
async function bodyOf(request: HttpRequest): Promise<Uint8Array> {
  if (new URL(request.url).pathname.startsWith("/s/")) {
    return new Uint8Array(await new Response(request.body).arrayBuffer());
  }
  return await readRequestBody(request, 64 << 20);
}

/** A server whose handler reads the whole body and answers with its length. */
function echoServer(options: Partial<Http1ServerOptions> = {}) {
  const seen: string[] = [];
  const server = serveHttp1({ hostname: "127.0.0.1", port: 0, ...options }, async (request) => {
    const body = await bodyOf(request);
    seen.push(`${request.method} ${new URL(request.url).pathname} ${body.length}`);
    return new Response(`${body.length}`);
  });
  return { server, seen, [Symbol.asyncDispose]: () => server.shutdown() };
}

Deno.test("http1 server answers fetch with fixed, streamed and large bodies, keeping the connection", async () => {
  await using s = echoServer();
  const base = `http://127.0.0.1:${s.server.port}`;
  assert.equal(await (await fetch(`${base}/a`)).text(), "0");
  assert.equal(await (await fetch(`${base}/b`, { method: "POST", body: "hello" })).text(), "5");
  const big = new Uint8Array(3 << 20).fill(7);
  assert.equal(
    await (await fetch(`${base}/c`, { method: "POST", body: big })).text(),
    `${3 << 20}`,
  );
  const viaStream = await fetch(`${base}/s/c`, { method: "POST", body: big });
  assert.equal(await viaStream.text(), `${3 << 20}`);
  const stream = ReadableStream.from([new Uint8Array(10), new Uint8Array(20)]);
  assert.equal(await (await fetch(`${base}/d`, { method: "POST", body: stream })).text(), "30");
  const stream2 = ReadableStream.from([new Uint8Array(7), new Uint8Array(9)]);
  assert.equal(await (await fetch(`${base}/s/d`, { method: "POST", body: stream2 })).text(), "16");
  assert.deepEqual(s.seen, [
    "GET /a 0",
    "POST /b 5",
    `POST /c ${3 << 20}`,
    `POST /s/c ${3 << 20}`,
    "POST /d 30",
    "POST /s/d 16",
  ]);
  assert.ok(s.server.connections <= 1, `fetch reused its connection (${s.server.connections})`);
});

Deno.test("http1 server answers pipelined requests one at a time, in order", async () => {
  await using s = echoServer();
  const conn = await connect(s.server.port);
  await send(
    conn,
    "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
      "POST /s/2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n" +
      "GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const r = await readUntilClosed(conn, WAIT_MS);
  closeQuietly(conn);
  assert.ok(r.closedByServer);
  assert.deepEqual(statuses(r.text), [200, 200, 200]);
  assert.deepEqual(s.seen, ["POST /1 3", "POST /s/2 2", "GET /3 0"]);
  assert.match(r.text, /connection: close\r\n\r\n0$/);
});

Deno.test("http1 server closes a connection whose head does not arrive within read_header_timeout", async () => {
  await using s = echoServer({ readHeaderTimeoutMs: 300 });
  const silent = await connect(s.server.port);
  const partial = await connect(s.server.port);
  await send(partial, "POST /v1/traces HTTP/1.1\r\nHost: x\r\n");
  const drip = await connect(s.server.port);
  // A byte every 100 ms: every read is quick, but the head never completes in time.
  let dripping = true;
  const dripper = (async () => {
    for (let i = 0; dripping && i < 200; i++) {
      await send(drip, "X").catch(() => (dripping = false));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const [a, b, c] = await Promise.all(
    [silent, partial, drip].map((c) => readUntilClosed(c, WAIT_MS)),
  );
  dripping = false;
  await dripper;
  for (const conn of [silent, partial, drip]) closeQuietly(conn);
  assert.deepEqual([a!.closedByServer, b!.closedByServer, c!.closedByServer], [true, true, true]);
  assert.equal(a!.text + b!.text + c!.text, "", "closed without an answer, as Go's server does");
});

Deno.test("http1 server closes a slow body at read_timeout and at write_timeout", async () => {
  for (const options of [{ readTimeoutMs: 400 }, { writeTimeoutMs: 400 }]) {
    await using s = echoServer(options);
    const conn = await connect(s.server.port);
    await send(conn, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab");
    const r = await readUntilClosed(conn, WAIT_MS);
    closeQuietly(conn);
    assert.ok(r.closedByServer, JSON.stringify(options));
    assert.deepEqual(s.seen, []);
  }
});

Deno.test("http1 server closes an idle kept-alive connection after idle_timeout, and keeps a busy one", async () => {
  await using s = echoServer({ idleTimeoutMs: 400 });
  const conn = await connect(s.server.port);
  // Requests closer together than the idle time keep the connection.
  for (let i = 0; i < 4; i++) {
    await send(conn, `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const r = await readUntilClosed(conn, WAIT_MS, (t) => t.endsWith("\r\n\r\n0"));
    assert.deepEqual(statuses(r.text), [200]);
    await new Promise((res) => setTimeout(res, 100));
  }
  const r = await readUntilClosed(conn, WAIT_MS);
  closeQuietly(conn);
  assert.ok(r.closedByServer);
  assert.equal(s.seen.length, 4);
});

Deno.test("http1 server answers 413 before reading a declared body and closes instead of reading it", async () => {
  let read = false;
  const server = serveHttp1({ hostname: "127.0.0.1", port: 0 }, (request) => {
    if (Number(request.headers.get("content-length")) > 1000) {
      return new Response("too large", { status: 413 });
    }
    read = true;
    return new Response("ok");
  });
  try {
    const conn = await connect(server.port);
    await send(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
    await send(conn, new Uint8Array(4096));
    const r = await readUntilClosed(conn, WAIT_MS);
    closeQuietly(conn);
    assert.ok(r.closedByServer);
    assert.deepEqual(statuses(r.text), [413]);
    assert.match(r.text, /connection: close/);
    assert.equal(read, false);
  } finally {
    await server.shutdown();
  }
});

Deno.test("http1 server refuses a head over the limit with 431 and closes", async () => {
  await using s = echoServer({ maxHeaderBytes: 4096 });
  for (
    const head of [
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(8000)}\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(8000)}`, // never finished
      `GET /${"p".repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ]
  ) {
    const conn = await connect(s.server.port);
    await send(conn, head).catch(() => {});
    const r = await readUntilClosed(conn, WAIT_MS);
    closeQuietly(conn);
    assert.ok(r.closedByServer);
    assert.deepEqual(statuses(r.text), [431]);
  }
  assert.deepEqual(s.seen, []);
});

Deno.test("http1 server refuses malformed heads, hosts and chunked framing with 400 and closes", async () => {
  await using s = echoServer();
  for (
    const [text, status] of [
      ["GET / HTTP/1.1\r\n\r\n", 400],
      [
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
      ],
      ["GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505],
      ["GET http://[bad/ HTTP/1.1\r\nHost: x\r\n\r\n", 400],
      ["GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: user@host\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: [::1]:4318\r\nConnection: close\r\n\r\n", 200],
    ] as const
  ) {
    const conn = await connect(s.server.port);
    await send(conn, text);
    const r = await readUntilClosed(conn, WAIT_MS);
    closeQuietly(conn);
    assert.ok(r.closedByServer, text);
    assert.deepEqual(statuses(r.text), [status], text);
  }
  // Broken chunked framing reaches the handler as a body error; the connection is not reused.
  const conn = await connect(s.server.port);
  await send(conn, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  const r = await readUntilClosed(conn, WAIT_MS);
  closeQuietly(conn);
  assert.ok(r.closedByServer);
  assert.deepEqual(statuses(r.text), [500], "the echo handler fails reading the body");
});

Deno.test("http1 server sends 100 Continue only when the handler reads the body", async () => {
  const server = serveHttp1({ hostname: "127.0.0.1", port: 0 }, async (request) => {
    if (new URL(request.url).pathname === "/refuse") return new Response("no", { status: 401 });
    return new Response(`${(await bodyOf(request)).length}`);
  });
  try {
    const ok = await connect(server.port);
    await send(
      ok,
      "POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    );
    const interim = await readUntilClosed(ok, WAIT_MS, (t) => t.includes("\r\n\r\n"));
    assert.equal(interim.text, "HTTP/1.1 100 Continue\r\n\r\n");
    await send(ok, "abcd");
    const final = await readUntilClosed(ok, WAIT_MS, (t) => t.endsWith("\r\n\r\n4"));
    closeQuietly(ok);
    assert.deepEqual(statuses(final.text), [200]);

    const refused = await connect(server.port);
    await send(
      refused,
      "POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    );
    const r = await readUntilClosed(refused, WAIT_MS);
    closeQuietly(refused);
    assert.deepEqual(statuses(r.text), [401]);
    assert.ok(r.closedByServer);
  } finally {
    await server.shutdown();
  }
});

Deno.test("http1 server closes connections over max_connections and serves again once they go", async () => {
  await using s = echoServer({ maxConnections: 3 });
  const held = await Promise.all([0, 1, 2].map(() => connect(s.server.port)));
  // The server counts a connection once it accepted it: wait for all three.
  for (let i = 0; i < 500 && s.server.connections < 3; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(s.server.connections, 3);
  const extra = await connect(s.server.port);
  const r = await readUntilClosed(extra, WAIT_MS);
  closeQuietly(extra);
  assert.ok(r.closedByServer);
  assert.equal(r.text, "");
  for (const c of held) closeQuietly(c);
  for (let i = 0; i < 500 && s.server.connections > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(await (await fetch(`http://127.0.0.1:${s.server.port}/`)).text(), "0");
});

Deno.test("http1 server shutdown closes idle connections and lets a request in progress finish", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const server = serveHttp1({ hostname: "127.0.0.1", port: 0 }, async () => {
    await gate;
    return new Response("done");
  });
  const idle = await connect(server.port);
  const busy = await connect(server.port);
  await send(busy, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  for (let i = 0; i < 500 && server.connections < 2; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 50));
  const stopped = server.shutdown();
  const idleResult = await readUntilClosed(idle, WAIT_MS);
  assert.ok(idleResult.closedByServer);
  release();
  const busyResult = await readUntilClosed(busy, WAIT_MS);
  await stopped;
  closeQuietly(idle);
  closeQuietly(busy);
  assert.deepEqual(statuses(busyResult.text), [200]);
  assert.match(busyResult.text, /connection: close\r\n\r\ndone$/);
  await assert.rejects(() => connect(server.port));
});

Deno.test("http1 server serves HTTPS and closes a TLS client whose head does not arrive in time", async () => {
  const certs = await testCertificates();
  if (certs === undefined) {
    console.warn("skipped: openssl is not installed");
    return;
  }
  await using s = echoServer({
    tls: { cert: certs.serverCertPem, key: certs.serverKeyPem },
    readHeaderTimeoutMs: 400,
  });
  const client = Deno.createHttpClient({ caCerts: [certs.caPem], http2: false });
  try {
    const r = await fetch(`https://localhost:${s.server.port}/tls`, {
      method: "POST",
      body: "secret",
      client,
    });
    assert.equal(await r.text(), "6");
  } finally {
    client.close();
  }
  const stalled = await Deno.connectTls({
    hostname: "localhost",
    port: s.server.port,
    caCerts: [certs.caPem],
  });
  await stalled.handshake();
  await send(stalled, "POST /v1/traces HTTP/1.1\r\nHost: x\r\n");
  const r = await readUntilClosed(stalled, WAIT_MS);
  closeQuietly(stalled);
  assert.ok(r.closedByServer);
  assert.deepEqual(s.seen, ["POST /tls 6"]);
  await certs.remove();
});

Deno.test("http1 server reports a taken port clearly", async () => {
  await using s = echoServer();
  assert.throws(
    () => serveHttp1({ hostname: "127.0.0.1", port: s.server.port }, () => new Response()),
    /Cannot listen on 127\.0\.0\.1:\d+: address already in use/,
  );
});

Deno.test("http1 server keeps the connection after an answer that left a small buffered body unread", async () => {
  const server = serveHttp1(
    { hostname: "127.0.0.1", port: 0 },
    () => new Response("unsupported", { status: 415 }),
  );
  try {
    const conn = await connect(server.port);
    await send(
      conn,
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
        "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nworld",
    );
    const r = await readUntilClosed(conn, WAIT_MS);
    closeQuietly(conn);
    assert.deepEqual(statuses(r.text), [415, 415]);
    assert.equal(r.text.match(/connection: close/g)?.length, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("http1 server reads bodies within a limit: declared or chunked, over it is BodyTooLargeError", async () => {
  const server = serveHttp1({ hostname: "127.0.0.1", port: 0 }, async (request) => {
    try {
      return new Response(`${(await readRequestBody(request, 10)).length}`);
    } catch (error) {
      return new Response((error as Error).name, { status: 413 });
    }
  });
  try {
    const base = `http://127.0.0.1:${server.port}/`;
    const answer = async (body: BodyInit) => {
      const r = await fetch(base, { method: "POST", body });
      return `${r.status} ${await r.text()}`;
    };
    assert.equal(await answer("0123456789"), "200 10");
    assert.equal(await answer("0123456789A"), "413 BodyTooLargeError");
    assert.equal(
      await answer(ReadableStream.from([new Uint8Array(6), new Uint8Array(4)])),
      "200 10",
    );
    assert.equal(
      await answer(ReadableStream.from([new Uint8Array(6), new Uint8Array(5)])),
      "413 BodyTooLargeError",
    );
  } finally {
    await server.shutdown();
  }
});
