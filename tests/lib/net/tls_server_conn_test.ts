import * as assert from "node:assert/strict";
import { testCertificates } from "../../components/exporter/otlp/_kit.ts";
import { serverTlsContext, TlsServerConn } from "../../../lib/net/tls_server_conn.ts";
import { serveHttp1 } from "../../../lib/net/http1/server.ts";

const MiB = 1 << 20;

/** A TCP listener whose connections become TlsServerConns, and the certificates behind it. */
async function tlsListener(alpnProtocols?: string[]) {
  const certs = await testCertificates();
  if (certs === undefined) return undefined;
  const context = serverTlsContext({
    cert: certs.serverCertPem,
    key: certs.serverKeyPem,
    alpnProtocols,
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return {
    certs,
    port: (listener.addr as Deno.NetAddr).port,
    accept: async () => new TlsServerConn(await listener.accept(), context),
    async [Symbol.asyncDispose]() {
      listener.close();
      await certs.remove();
    },
  };
}

Deno.test("a TLS server connection reads, writes, negotiates ALPN and half-closes", async () => {
  await using l = await tlsListener(["h2", "http/1.1"]);
  if (l === undefined) return console.warn("skipped: openssl is not installed");
  const client = await Deno.connectTls({
    hostname: "localhost",
    port: l.port,
    caCerts: [l.certs.caPem],
    alpnProtocols: ["h2"],
  });
  const server = await l.accept();
  const [info, clientInfo] = await Promise.all([server.handshake(), client.handshake()]);
  assert.equal(info.alpnProtocol, "h2");
  assert.equal(clientInfo.alpnProtocol, "h2");
  assert.equal(server.remoteAddr.port, (client.localAddr as Deno.NetAddr).port);
  await client.write(new TextEncoder().encode("ping"));
  const buf = new Uint8Array(16);
  const n = await server.read(buf);
  assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "ping");
  assert.equal(await server.write(new TextEncoder().encode("pong")), 4);
  await server.closeWrite();
  let got = "";
  for (;;) {
    const m = await client.read(buf);
    if (m === null) break;
    got += new TextDecoder().decode(buf.subarray(0, m));
  }
  assert.equal(got, "pong");
  client.close();
  assert.equal(await server.read(buf), null);
  server.close();
  server.close();
  await assert.rejects(() => server.read(buf), Deno.errors.BadResource);
  await assert.rejects(() => server.write(buf), Deno.errors.BadResource);
});

Deno.test("closing a TLS server connection mid-handshake closes its TCP socket at once", async () => {
  await using l = await tlsListener();
  if (l === undefined) return console.warn("skipped: openssl is not installed");
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  // Half a ClientHello record header: the server waits for the rest.
  await client.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00]));
  const server = await l.accept();
  const handshake = server.handshake();
  server.close();
  await assert.rejects(() => handshake);
  // The client sees the end of its stream; with Deno.listenTls it would wait for ever.
  const read = client.read(new Uint8Array(64)).catch(() => null);
  const result = await Promise.race([
    read,
    new Promise<"open">((resolve) => setTimeout(() => resolve("open"), 20_000)),
  ]);
  assert.equal(result, null);
  client.close();
});

Deno.test("a failed handshake rejects reads with ConnectionReset and never throws unhandled", async () => {
  await using l = await tlsListener();
  if (l === undefined) return console.warn("skipped: openssl is not installed");
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  await client.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const server = await l.accept();
  await assert.rejects(() => server.read(new Uint8Array(16)), Deno.errors.ConnectionReset);
  server.close();
  client.close();
});

Deno.test("a TLS server connection that is not read stops reading the socket (bounded buffering)", async () => {
  await using l = await tlsListener();
  if (l === undefined) return console.warn("skipped: openssl is not installed");
  const client = await Deno.connectTls({
    hostname: "localhost",
    port: l.port,
    caCerts: [l.certs.caPem],
  });
  const server = await l.accept();
  await Promise.all([server.handshake(), client.handshake()]);
  const total = 128 * MiB;
  let written = 0;
  const writing = (async () => {
    const chunk = new Uint8Array(256 * 1024);
    while (written < total) written += await client.write(chunk);
  })();
  // Wait until the writer makes no progress for a while: the server holds a bounded amount.
  let last = -1;
  for (let i = 0; i < 400 && written !== last && written < total; i++) {
    last = written;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.ok(written < 48 * MiB, `the writer was held back, not ${written} bytes in`);
  // Reading everything lets the writer finish.
  let read = 0;
  const buf = new Uint8Array(64 * 1024);
  while (read < total) {
    const n = await server.read(buf);
    if (n === null) break;
    read += n;
  }
  await writing;
  assert.equal(read, total);
  client.close();
  server.close();
});

Deno.test("a write blocked by a peer that does not read fails once the connection is closed", async () => {
  await using l = await tlsListener();
  if (l === undefined) return console.warn("skipped: openssl is not installed");
  const client = await Deno.connectTls({
    hostname: "localhost",
    port: l.port,
    caCerts: [l.certs.caPem],
  });
  const server = await l.accept();
  await Promise.all([server.handshake(), client.handshake()]);
  let blocked: Promise<unknown> | undefined;
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < 256 && blocked === undefined; i++) {
    const write = server.write(chunk);
    const done = await Promise.race([
      write.then(() => true, () => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 500)),
    ]);
    if (!done) blocked = write;
  }
  assert.ok(blocked !== undefined, "the writes were held back by the peer");
  server.close();
  const outcome = await Promise.race([
    blocked.then(() => "resolved", () => "rejected"),
    new Promise<string>((resolve) => setTimeout(() => resolve("pending"), 10_000)),
  ]);
  assert.equal(outcome, "rejected");
  client.close();
});

Deno.test("a TLS server context refuses text that is not a certificate, a key, or a matching pair", async () => {
  const a = await testCertificates();
  const b = await testCertificates();
  if (a === undefined || b === undefined) return console.warn("skipped: openssl is not installed");
  try {
    assert.throws(
      () => serverTlsContext({ cert: "nope", key: a.serverKeyPem }),
      /The TLS certificate cannot be read: it is not PEM text/,
    );
    assert.throws(
      () => serverTlsContext({ cert: a.serverCertPem, key: a.serverCertPem }),
      /The TLS key cannot be read/,
    );
    assert.throws(
      () => serverTlsContext({ cert: a.serverCertPem, key: b.serverKeyPem }),
      /The TLS key does not match the certificate/,
    );
    assert.ok(serverTlsContext({ cert: a.serverCertPem, key: a.serverKeyPem }));
    // The servers report it as a start failure.
    assert.throws(
      () =>
        serveHttp1(
          { hostname: "127.0.0.1", port: 0, tls: { cert: "x", key: "y" } },
          () => new Response(),
        ),
      /Cannot listen on 127\.0\.0\.1:0: The TLS certificate cannot be read/,
    );
  } finally {
    await a.remove();
    await b.remove();
  }
});
