/**
 * Slow clients on tfo's gRPC server: connections that never send the HTTP/2 client preface (or
 * only part of it) are closed at the preface timeout, while real calls are served meanwhile.
 */
import assert from "node:assert/strict";
import { serveGrpc } from "../../../lib/net/grpc_server.ts";
import { GrpcClient } from "../../../lib/net/grpc_client.ts";
import { EXPORT } from "./h2/_harness.ts";
import { closeQuietly, connect, readUntilClosed, send } from "./http1/_raw.ts";

Deno.test("grpc server closes 500 connections that stall before or inside the preface, serving calls meanwhile", async () => {
  let calls = 0;
  const server = await serveGrpc(
    { hostname: "127.0.0.1", port: 0, maxRecvMsgBytes: 1000, prefaceTimeoutMs: 500 },
    new Map([[EXPORT, () => {
      calls++;
      return Promise.resolve(new Uint8Array([7]));
    }]]),
  );
  const client = new GrpcClient({ target: `127.0.0.1:${server.port}`, tls: undefined });
  try {
    const stalled = await Promise.all(Array.from({ length: 500 }, () => connect(server.port)));
    // Half send nothing, half the first line of the preface and then nothing.
    await Promise.all(
      stalled.map((c, i) => i % 2 === 0 ? Promise.resolve() : send(c, "PRI * HTTP/2.0\r\n")),
    );
    const served = (async () => {
      for (let i = 0; i < 10; i++) {
        assert.deepEqual([
          ...await client.unary(EXPORT, new Uint8Array([1]), { timeoutMs: 20_000 }),
        ], [7]);
      }
    })();
    const results = await Promise.all(stalled.map((c) => readUntilClosed(c, 20_000)));
    for (const c of stalled) closeQuietly(c);
    await served;
    assert.equal(results.filter((r) => r.closedByServer).length, 500);
    assert.equal(calls, 10);
  } finally {
    client.close();
    await server.shutdown();
  }
});
