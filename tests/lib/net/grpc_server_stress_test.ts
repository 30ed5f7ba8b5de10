/**
 * Crash scenarios for tfo's gRPC server: what made the grpc-js server on Deno's `node:http2` abort
 * the process (nghttp2 `find_stream_on_goaway_func` assertion, `free(): invalid pointer`, SIGSEGV,
 * denoland/deno#36788) and the classic HTTP/2 attacks. The server runs in a child process
 * (`tests/fixtures/grpc_stress/server.ts`) so that an abort fails the test; node:http2 and grpc-js
 * clients run in child processes too. After each scenario the server must still answer a normal
 * Export. Every loop is bounded by a count; waits are bounded by generous timeouts.
 */
import assert from "node:assert/strict";
import { GrpcClient } from "../../../lib/net/grpc_client.ts";
import {
  encodeFrame,
  ErrorCode,
  Flags,
  FrameType,
  pingFrame,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
} from "../../../lib/net/h2/frames.ts";
import { HpackDecoder } from "../../../lib/net/h2/hpack.ts";
import {
  assertServes,
  EXPORT,
  grpcJsClient,
  nodeH2Client,
  RawPeer,
  type ServerChild,
  startServer,
} from "./h2/_harness.ts";

const RSS_BOUND_MIB = 300;

async function withServer(
  options: Record<string, unknown>,
  fn: (server: ServerChild) => Promise<void>,
): Promise<void> {
  const server = await startServer(options);
  try {
    await fn(server);
    await assertServes(server);
  } finally {
    const status = await server.stop();
    assert.equal(status.signal, null, `The server child died: ${server.describe()}`);
  }
}

for (const mode of ["close", "destroy"] as const) {
  Deno.test(`grpc server survives node:http2 sessions that ${mode} after 100 concurrent calls, 10 rounds`, async () => {
    await withServer({}, async (server) => {
      const result = await nodeH2Client([String(server.port), "concurrent", "100", "10", mode]);
      assert.ok(server.alive(), server.describe());
      assert.ok(result.json !== undefined, `client output: ${result.stdout}${result.stderr}`);
      if (mode === "close") assert.equal(result.json.ok, 1000, JSON.stringify(result.json));
    });
  });
}

Deno.test("grpc server survives 500 sequential node:http2 calls and a close", async () => {
  await withServer({}, async (server) => {
    const result = await nodeH2Client([String(server.port), "sequential", "500"]);
    assert.equal(result.json?.ok, 500, result.stdout + result.stderr);
  });
});

Deno.test("grpc server refuses streams over 100 with REFUSED_STREAM and stays small with 1,000 on one connection", async () => {
  await withServer({ delayMs: 500 }, async (server) => {
    const peer = await RawPeer.connect(server.port);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = 1 + 2 * i;
      parts.push(peer.headers(id, false), peer.message(id));
    }
    await peer.send(...parts);
    const decoder = new HpackDecoder();
    const outcome = new Map<number, string>();
    const settle = () => {
      for (const f of peer.frames.splice(0)) {
        if (f.type === FrameType.HEADERS) {
          const { headers } = decoder.decode(f.payload);
          const status = headers.find(([n]) => n === "grpc-status")?.[1];
          if (status !== undefined) outcome.set(f.streamId, `grpc-${status}`);
        } else if (f.type === FrameType.RST_STREAM) {
          const code = new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0);
          if (!outcome.has(f.streamId)) outcome.set(f.streamId, `rst-${code}`);
        }
      }
      return outcome.size >= 1000;
    };
    await peer.waitFor(settle, 30_000);
    const rss = await server.rssMiB();
    await peer.close();
    const counts: Record<string, number> = {};
    for (const o of outcome.values()) counts[o] = (counts[o] ?? 0) + 1;
    assert.equal(outcome.size, 1000, JSON.stringify(counts));
    assert.deepEqual(
      Object.keys(counts).sort(),
      ["grpc-0", `rst-${ErrorCode.REFUSED_STREAM}`],
      JSON.stringify(counts),
    );
    assert.ok(counts["grpc-0"]! >= 100, JSON.stringify(counts));
    assert.ok(rss < RSS_BOUND_MIB, `server RSS ${rss.toFixed(0)} MiB`);
  });
});

Deno.test("grpc server survives a node:http2 session with 1,000 concurrent calls", async () => {
  await withServer({}, async (server) => {
    const result = await nodeH2Client([String(server.port), "concurrent", "1000", "1", "close"]);
    assert.ok(server.alive(), server.describe());
    assert.ok(result.json !== undefined, result.stdout + result.stderr);
    assert.ok((await server.rssMiB()) < RSS_BOUND_MIB);
  });
});

Deno.test("grpc server closes an idle session with GOAWAY and the peer's GOAWAY after it is harmless (deno#36788)", async () => {
  await withServer({ keepalive: { maxConnectionIdleMs: 300 } }, async (server) => {
    const node = await nodeH2Client([String(server.port), "idle", "1200"]);
    assert.equal(node.json?.ok, 1, node.stdout + node.stderr);

    const peer = await RawPeer.connect(server.port);
    await peer.send(peer.headers(1, false), peer.message(1));
    const gotGoaway = await peer.waitFor((f) => f.some((x) => x.type === FrameType.GOAWAY));
    assert.ok(gotGoaway, "the idle connection got GOAWAY");
    assert.equal(peer.goawayCode(), ErrorCode.NO_ERROR);
    const goaway = new Uint8Array(8);
    await peer.send(encodeFrame(FrameType.GOAWAY, 0, 0, goaway));
    await peer.close();

    // tfo's own client reconnects after the server closed its idle connection.
    const client = new GrpcClient({ target: `127.0.0.1:${server.port}`, tls: undefined });
    try {
      await client.unary(EXPORT, new Uint8Array(), { timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 1000));
      await client.unary(EXPORT, new Uint8Array(), { timeoutMs: 10_000 });
    } finally {
      client.close();
    }
  });
});

Deno.test("grpc server survives grpc-js clients that close their channels under overload", async () => {
  await withServer({ delayMs: 200 }, async (server) => {
    const target = `127.0.0.1:${server.port}`;
    const results = await Promise.all(
      [0, 1, 2, 3].map(() => grpcJsClient([target, "400", "200", "300"])),
    );
    assert.ok(server.alive(), server.describe());
    for (const r of results) assert.ok(r.json !== undefined || r.status.signal !== null);
  });
});

Deno.test("grpc server survives clients that reset connections mid-request and peers that stop reading", async () => {
  await withServer({ delayMs: 50 }, async (server) => {
    for (let i = 0; i < 30; i++) {
      const peer = await RawPeer.connect(server.port);
      const prefix = new Uint8Array(5 + 1000);
      new DataView(prefix.buffer).setUint32(1, 1_000_000);
      await peer.send(
        peer.headers(1, false),
        encodeFrame(FrameType.DATA, 0, 1, prefix),
        peer.headers(3, false),
        peer.message(3),
      );
      if (i % 2 === 0) await new Promise((r) => setTimeout(r, 10));
      await peer.close();
    }
    // A peer that sends requests as fast as it can and never reads the answers.
    const greedy = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const raw = await RawPeer.connect(server.port, true);
    await raw.close();
    const encoder = new (await import("../../../lib/net/h2/hpack.ts")).HpackEncoder();
    const block = (id: number) =>
      encodeFrame(
        FrameType.HEADERS,
        Flags.END_HEADERS | Flags.END_STREAM,
        id,
        encoder.encode([
          [":method", "POST"],
          [":scheme", "http"],
          [":path", EXPORT],
          ["content-type", "application/grpc"],
        ]),
      );
    const writing = (async () => {
      try {
        await greedy.write(new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        await greedy.write(settingsFrame([]));
        for (let batch = 0; batch < 200; batch++) {
          const frames = Array.from({ length: 1000 }, (_, i) => block(1 + 2 * (batch * 1000 + i)));
          const bytes = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
          let o = 0;
          for (const f of frames) {
            bytes.set(f, o);
            o += f.length;
          }
          let written = 0;
          while (written < bytes.length) written += await greedy.write(bytes.subarray(written));
        }
      } catch {
        // The socket was closed below while the write was blocked.
      }
    })();
    await new Promise((r) => setTimeout(r, 3000));
    const rss = await server.rssMiB();
    greedy.close();
    await writing;
    assert.ok(rss < RSS_BOUND_MIB, `server RSS ${rss.toFixed(0)} MiB`);
  });
});

/** Sends `frames` after the preface and expects GOAWAY with `code` and a closed connection. */
async function expectGoaway(server: ServerChild, code: number, ...frames: Uint8Array[]) {
  const peer = await RawPeer.connect(server.port);
  await peer.send(...frames);
  const got = await peer.waitFor((f) => f.some((x) => x.type === FrameType.GOAWAY), 10_000);
  const closed = await Promise.race([
    peer.closed.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
  ]);
  await peer.close();
  assert.ok(got, `GOAWAY ${code} expected`);
  assert.equal(peer.goawayCode(), code);
  assert.ok(closed, "the server closed the connection");
}

Deno.test("grpc server answers malformed and abusive frames with GOAWAY and keeps serving", async () => {
  await withServer({}, async (server) => {
    // A garbage preface: the connection is closed.
    const garbage = await RawPeer.connect(server.port, false);
    await garbage.send(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await garbage.waitFor(() => false, 3000);
    await garbage.close();

    const peer = await RawPeer.connect(server.port);
    const headers = (id: number) => peer.headers(id, false);
    await peer.close();

    await expectGoaway(
      server,
      ErrorCode.COMPRESSION_ERROR,
      encodeFrame(
        FrameType.HEADERS,
        Flags.END_HEADERS,
        1,
        new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
      ),
    );
    const oversized = new Uint8Array(9);
    oversized.set([0x10, 0, 0, FrameType.DATA, 0, 0, 0, 0, 1]); // 1 MiB DATA frame header
    await expectGoaway(server, ErrorCode.FRAME_SIZE_ERROR, oversized);
    await expectGoaway(server, ErrorCode.FLOW_CONTROL_ERROR, windowUpdateFrame(0, 0x7fff_ffff));
    const continuation = [encodeFrame(FrameType.HEADERS, 0, 1, headers(1).subarray(9))];
    for (let i = 0; i < 2000; i++) {
      continuation.push(encodeFrame(FrameType.CONTINUATION, 0, 1, new Uint8Array(16_384)));
    }
    await expectGoaway(server, ErrorCode.ENHANCE_YOUR_CALM, ...continuation);
    const emptyContinuation = [encodeFrame(FrameType.HEADERS, 0, 1, headers(1).subarray(9))];
    for (let i = 0; i < 10_000; i++) {
      emptyContinuation.push(encodeFrame(FrameType.CONTINUATION, 0, 1));
    }
    await expectGoaway(server, ErrorCode.ENHANCE_YOUR_CALM, ...emptyContinuation);

    const rapid = await RawPeer.connect(server.port);
    const resets: Uint8Array[] = [];
    for (let i = 0; i < 5000; i++) {
      const id = 1 + 2 * i;
      resets.push(rapid.headers(id, false), rstStreamFrame(id, ErrorCode.CANCEL));
    }
    await rapid.send(...resets);
    assert.ok(await rapid.waitFor((f) => f.some((x) => x.type === FrameType.GOAWAY)));
    assert.equal(rapid.goawayCode(), ErrorCode.ENHANCE_YOUR_CALM, "rapid reset");
    await rapid.close();

    const pings = Array.from({ length: 5000 }, () => pingFrame(new Uint8Array(8)));
    await expectGoaway(server, ErrorCode.ENHANCE_YOUR_CALM, ...pings);
    const settings = Array.from({ length: 5000 }, () => settingsFrame([[4, 65535]]));
    await expectGoaway(server, ErrorCode.ENHANCE_YOUR_CALM, ...settings);
    await expectGoaway(
      server,
      ErrorCode.PROTOCOL_ERROR,
      encodeFrame(FrameType.DATA, 0, 7, new Uint8Array(10)), // DATA on an idle stream
    );
    assert.ok((await server.rssMiB()) < RSS_BOUND_MIB);
  });
});
