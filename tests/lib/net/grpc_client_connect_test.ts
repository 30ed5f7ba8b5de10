/**
 * tfo's gRPC client connecting ahead of its first call (`connect()`, what the otlp exporter does
 * at start): the connection opens with the HTTP/2 preface and no request, the first call then
 * uses it, and a server that is not up yet only costs a rejected `connect()` — the next call dials
 * again.
 */
import assert from "node:assert/strict";
import { GrpcCallError, GrpcClient } from "../../../lib/net/grpc_client.ts";
import { serveGrpc } from "../../../lib/net/grpc_server.ts";
import { GrpcCode } from "../../../lib/net/rpc_status.ts";
import { freePort } from "../../fixtures/interop/services.ts";

const EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/** HTTP/2 frame types that carry a request. */
const DATA = 0;
const HEADERS = 1;

/** The frame types in `bytes` after the client preface. */
function frameTypes(bytes: Uint8Array): number[] {
  const types: number[] = [];
  let at = PREFACE.length;
  while (at + 9 <= bytes.length) {
    const length = (bytes[at]! << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!;
    types.push(bytes[at + 3]!);
    at += 9 + length;
  }
  return types;
}

Deno.test("grpc client connect() opens the connection with the HTTP/2 preface and sends no request", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = new GrpcClient({
    target: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    tls: undefined,
  });
  const conn = await Promise.all([client.connect(), listener.accept()]).then(([, c]) => c);
  try {
    const received: number[] = [];
    const buf = new Uint8Array(4096);
    // Everything the client writes on its own arrives well within this.
    const until = Date.now() + 300;
    while (Date.now() < until) {
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"quiet">((resolve) => setTimeout(() => resolve("quiet"), until - Date.now())),
      ]);
      if (n === "quiet" || n === null) break;
      received.push(...buf.subarray(0, n));
    }
    const bytes = new Uint8Array(received);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, PREFACE.length)), PREFACE);
    const types = frameTypes(bytes);
    assert.ok(types.length > 0, "the client's SETTINGS follow the preface");
    assert.ok(!types.includes(HEADERS) && !types.includes(DATA), `frames: ${types}`);
  } finally {
    client.close();
    conn.close();
    listener.close();
  }
});

Deno.test("grpc client's first call after connect() goes over the connection already open", async () => {
  const server = await serveGrpc(
    { hostname: "127.0.0.1", port: 0, maxRecvMsgBytes: 1 << 20 },
    new Map([[EXPORT, () => Promise.resolve(new Uint8Array())]]),
  );
  // Counts the TCP connections the client opens to the server, through a one-way relay.
  const front = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open: Deno.Conn[] = [];
  let accepted = 0;
  const relaying = (async () => {
    for await (const conn of front) {
      accepted++;
      const up = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      open.push(conn, up);
      void conn.readable.pipeTo(up.writable).catch(() => {});
      void up.readable.pipeTo(conn.writable).catch(() => {});
    }
  })().catch(() => {});
  const client = new GrpcClient({
    target: `127.0.0.1:${(front.addr as Deno.NetAddr).port}`,
    tls: undefined,
  });
  try {
    await client.connect();
    await client.connect(); // already open: no second connection
    assert.deepEqual(
      await client.unary(EXPORT, new Uint8Array(3), { timeoutMs: 5000 }),
      new Uint8Array(),
    );
    await client.unary(EXPORT, new Uint8Array(3), { timeoutMs: 5000 });
    assert.equal(accepted, 1);
  } finally {
    client.close();
    front.close();
    await relaying;
    for (const c of open) {
      try {
        c.close();
      } catch {
        // closed by the pipe already
      }
    }
    await server.shutdown();
  }
});

Deno.test("grpc client connect() to a server that is not up rejects UNAVAILABLE and the next call dials again", async () => {
  const port = freePort();
  const client = new GrpcClient({ target: `127.0.0.1:${port}`, tls: undefined });
  try {
    const refused = await client.connect(2000).catch((e) => e);
    assert.ok(refused instanceof GrpcCallError);
    assert.equal(refused.code, GrpcCode.UNAVAILABLE);
    const server = await serveGrpc(
      { hostname: "127.0.0.1", port, maxRecvMsgBytes: 1 << 20 },
      new Map([[EXPORT, () => Promise.resolve(new Uint8Array([8, 1]))]]),
    );
    try {
      assert.deepEqual(
        await client.unary(EXPORT, new Uint8Array(3), { timeoutMs: 5000 }),
        new Uint8Array([8, 1]),
      );
    } finally {
      client.close();
      await server.shutdown();
    }
  } finally {
    client.close();
  }
});

Deno.test("grpc client connect() after close() rejects without dialing", async () => {
  const client = new GrpcClient({ target: "127.0.0.1:1", tls: undefined });
  client.close();
  const closed = await client.connect().catch((e) => e);
  assert.ok(closed instanceof GrpcCallError);
  assert.equal(closed.code, GrpcCode.UNAVAILABLE);
});
