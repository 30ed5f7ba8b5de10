/**
 * Draining an isolate's shared-port servers (lib/net/drain.ts), on tfo's HTTP/1.1 and gRPC
 * servers directly: a request in flight whose handler never answers, a new request on a
 * connection already open, and a new connection, before and after each step. This file runs in
 * an isolate of its own: the drain is the isolate's and cannot be undone.
 *
 * @module
 */
import assert from "node:assert/strict";
import { refuseNewRequests, refuseRequestsInFlight } from "../../../lib/net/drain.ts";
import { readRequestBody, serveHttp1 } from "../../../lib/net/http1/server.ts";
import { serveGrpc } from "../../../lib/net/grpc_server.ts";
import { GrpcCallError, GrpcClient } from "../../../lib/net/grpc_client.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Sends one request on `conn` and reads until the end of its answer's head and body. */
async function request(conn: Deno.Conn, path: string): Promise<string> {
  await conn.write(enc.encode(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi`));
  let text = "";
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return text;
    text += dec.decode(buf.subarray(0, n));
    const head = text.indexOf("\r\n\r\n");
    const length = /content-length: (\d+)/i.exec(text);
    if (head >= 0 && length !== null && text.length >= head + 4 + Number(length[1])) return text;
  }
}

Deno.test("a draining isolate's HTTP and gRPC servers refuse new and in-flight requests retryably, then stop", async () => {
  const never = new Promise<never>(() => {});
  const http = serveHttp1({ hostname: "127.0.0.1", port: 0, reusePort: true }, async (req) => {
    await readRequestBody(req, 1024);
    if (new URL(req.url).pathname === "/slow") await never;
    return new Response("ok");
  });
  const method = "/test.Service/Call";
  const grpc = await serveGrpc(
    { hostname: "127.0.0.1", port: 0, reusePort: true, maxRecvMsgBytes: 1 << 20 },
    new Map([[method, () => never]]),
  );
  const kept = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
  const slow = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
  const client = new GrpcClient({
    target: `127.0.0.1:${grpc.port}`,
    tls: undefined,
    compression: "none",
  });
  try {
    assert.match(await request(kept, "/"), /^HTTP\/1.1 200/);
    const slowAnswer = request(slow, "/slow");
    const call = client.unary(method, new Uint8Array([1]), { timeoutMs: 10_000 }).then(
      () => undefined,
      (error) => error,
    );
    await new Promise((r) => setTimeout(r, 100));

    assert.equal(refuseNewRequests(2000), 2);
    // A new request on a connection already open: 503, Retry-After in seconds, then closed.
    const refused = await request(kept, "/");
    assert.match(refused, /^HTTP\/1.1 503/);
    assert.match(refused, /retry-after: 2\r\n/i);
    assert.match(refused, /connection: close\r\n/i);
    // The listeners close (after the queue drain): new connections go elsewhere.
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: http.port }));
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: grpc.port }));

    // Requests in flight whose handlers never answer are answered now.
    refuseRequestsInFlight();
    assert.match(await slowAnswer, /^HTTP\/1.1 503/);
    const error = await call;
    assert(error instanceof GrpcCallError, String(error));
    assert.equal(error.code, 14); // UNAVAILABLE
    assert(error.statusDetails !== undefined, "with a retry delay");
    // Shutdown is not held by the handlers that never answered.
    await Promise.all([http.shutdown(), grpc.shutdown()]);
  } finally {
    client.close();
    kept.close();
    slow.close();
  }
});
