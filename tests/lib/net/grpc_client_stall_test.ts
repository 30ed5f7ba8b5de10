/**
 * tfo's gRPC client against servers that go silent: a peer that stops reading must not hold the
 * client's connection for ever (a call deadline, then an unanswered PING, closes it and the next
 * call dials anew, with no keepalive configured); a server that is only slow keeps its connection.
 */
import assert from "node:assert/strict";
import { GrpcCallError, GrpcClient } from "../../../lib/net/grpc_client.ts";
import { serveGrpc } from "../../../lib/net/grpc_server.ts";
import { GrpcCode } from "../../../lib/net/rpc_status.ts";

const EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/** A TCP proxy to `port` that counts connections; in `stall` mode it accepts and never reads. */
function countingProxy(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open: Deno.Conn[] = [];
  const state = { stall: false, accepted: 0 };
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // Closed.
    }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch {
        // Closed already.
      }
    }
  };
  const serving = (async () => {
    for await (const conn of listener) {
      state.accepted++;
      open.push(conn);
      if (state.stall) continue;
      const up = await Deno.connect({ hostname: "127.0.0.1", port });
      open.push(up);
      void pipe(conn, up);
      void pipe(up, conn);
    }
  })().catch(() => {});
  return Object.assign(state, {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await serving;
      for (const c of open) {
        try {
          c.close();
        } catch {
          // Closed already.
        }
      }
    },
  });
}

Deno.test("grpc client gives up a connection whose peer stopped reading and dials anew", async () => {
  const server = await serveGrpc(
    { hostname: "127.0.0.1", port: 0, maxRecvMsgBytes: 64 << 20 },
    new Map([[EXPORT, () => Promise.resolve(new Uint8Array())]]),
  );
  const proxy = countingProxy(server.port);
  const client = new GrpcClient({ target: `127.0.0.1:${proxy.port}`, tls: undefined });
  try {
    await client.unary(EXPORT, new Uint8Array(10), { timeoutMs: 10_000 });
    assert.equal(proxy.accepted, 1);
    // From now on the proxy swallows nothing: new connections are accepted and never read.
    proxy.stall = true;
    // Break the live connection so that the next call dials the stalling proxy.
    client.close();
    const stalled = new GrpcClient({ target: `127.0.0.1:${proxy.port}`, tls: undefined });
    try {
      const big = new Uint8Array(16 << 20);
      const first = await stalled.unary(EXPORT, big, { timeoutMs: 500 }).catch((e) => e);
      assert.ok(first instanceof GrpcCallError);
      assert.equal(first.code, GrpcCode.DEADLINE_EXCEEDED);
      assert.equal(proxy.accepted, 2);
      // The PING sent after the silent timeout is not answered: within its 5 s the connection
      // closes, and a later call dials again instead of queueing behind the stuck one.
      proxy.stall = false;
      let answered = false;
      for (let i = 0; i < 40 && !answered; i++) {
        answered = await stalled.unary(EXPORT, new Uint8Array(10), { timeoutMs: 500 })
          .then(() => true, () => false);
      }
      assert.ok(answered, "a call succeeded on a new connection");
      assert.equal(proxy.accepted, 3);
    } finally {
      stalled.close();
    }
  } finally {
    client.close();
    await proxy.close();
    await server.shutdown();
  }
});

Deno.test("grpc client keeps the connection of a server that is slow but answers PINGs", async () => {
  let delayMs = 0;
  const server = await serveGrpc(
    { hostname: "127.0.0.1", port: 0, maxRecvMsgBytes: 1 << 20 },
    new Map([[EXPORT, async () => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return new Uint8Array();
    }]]),
  );
  const proxy = countingProxy(server.port);
  const client = new GrpcClient({ target: `127.0.0.1:${proxy.port}`, tls: undefined });
  try {
    // A first call settles the connection, so the slow call's timeout finds it silent since.
    await client.unary(EXPORT, new Uint8Array(10), { timeoutMs: 10_000 });
    delayMs = 1_500;
    const slow = await client.unary(EXPORT, new Uint8Array(10), { timeoutMs: 200 }).catch((e) => e);
    assert.ok(slow instanceof GrpcCallError);
    assert.equal(slow.code, GrpcCode.DEADLINE_EXCEEDED);
    // Past the probe's 5 s, the answered PING left the connection open.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    delayMs = 0;
    await client.unary(EXPORT, new Uint8Array(10), { timeoutMs: 10_000 });
    assert.equal(proxy.accepted, 1);
  } finally {
    client.close();
    await proxy.close();
    await server.shutdown();
  }
});
