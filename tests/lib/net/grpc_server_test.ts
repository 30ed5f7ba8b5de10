/**
 * tfo's gRPC server, call by call, driven by a raw HTTP/2 peer: framing rules, encodings, size
 * limits before buffering, deadlines, metadata, keepalive enforcement and connection age.
 */
import assert from "node:assert/strict";
import { type GrpcCall, GrpcError, serveGrpc } from "../../../lib/net/grpc_server.ts";
import { GrpcCode } from "../../../lib/net/rpc_status.ts";
import { encodeFrame, ErrorCode, Flags, FrameType, pingFrame } from "../../../lib/net/h2/frames.ts";
import { type HeaderField, HpackDecoder } from "../../../lib/net/h2/hpack.ts";
import { EXPORT, RawPeer } from "./h2/_harness.ts";

async function server(
  options: Partial<Parameters<typeof serveGrpc>[0]> = {},
  handler: (call: GrpcCall) => Promise<Uint8Array> = () => Promise.resolve(new Uint8Array([7])),
) {
  return await serveGrpc(
    { hostname: "127.0.0.1", port: 0, maxRecvMsgBytes: 1000, ...options },
    new Map([[EXPORT, handler]]),
  );
}

/** Sends one call and returns every header field the server answered on it. */
async function call(
  port: number,
  extra: HeaderField[],
  body: Uint8Array | undefined,
): Promise<Map<string, string>> {
  const peer = await RawPeer.connect(port);
  await peer.send(
    peer.headers(1, body === undefined, extra),
    ...(body === undefined ? [] : [encodeFrame(FrameType.DATA, Flags.END_STREAM, 1, body)]),
  );
  const ended = (f: typeof peer.frames) =>
    f.some((x) =>
      x.streamId === 1 &&
      (x.type === FrameType.RST_STREAM ||
        (x.type === FrameType.HEADERS && (x.flags & Flags.END_STREAM) !== 0))
    );
  await peer.waitFor(ended);
  await peer.close();
  const decoder = new HpackDecoder();
  const fields = new Map<string, string>();
  for (const f of peer.frames) {
    if (f.type === FrameType.HEADERS) {
      for (const [n, v] of decoder.decode(f.payload).headers) fields.set(n, v);
    }
  }
  return fields;
}

const message = (bytes: number[], flag = 0) =>
  Uint8Array.from([flag, 0, 0, 0, bytes.length, ...bytes]);

Deno.test("grpc server answers a unary call with headers, one message and grpc-status 0", async () => {
  let seen: GrpcCall | undefined;
  const s = await server({}, (c) => {
    seen = c;
    return Promise.resolve(new Uint8Array([7]));
  });
  try {
    const fields = await call(s.port, [["x-tenant", "A"], ["x-id-bin", "AAEC"]], message([1, 2]));
    assert.equal(fields.get(":status"), "200");
    assert.equal(fields.get("grpc-status"), "0");
    assert.deepEqual([...seen!.request], [1, 2]);
    const metadata = seen!.metadata();
    assert.deepEqual(metadata.get("x-tenant"), ["A"]);
    assert.deepEqual(metadata.get("x-id-bin"), ["AAEC"]);
    assert.equal(metadata.has("content-type"), false);
    assert.match(seen!.peer, /^127\.0\.0\.1:\d+$/);
  } finally {
    await s.shutdown();
  }
});

Deno.test("grpc server enforces the framing rules of the gRPC protocol", async () => {
  const s = await server();
  try {
    const status = async (extra: HeaderField[], body: Uint8Array | undefined) =>
      (await call(s.port, extra, body)).get("grpc-status");
    assert.equal(
      await status([], message([1], 1)),
      String(GrpcCode.INTERNAL),
      "flag 1, no encoding",
    );
    assert.equal(await status([], message([1], 2)), String(GrpcCode.INTERNAL), "flag 2");
    assert.equal(await status([], undefined), String(GrpcCode.INTERNAL), "no message");
    assert.equal(
      await status([], message([1]).subarray(0, 4)),
      String(GrpcCode.INTERNAL),
      "truncated",
    );
    const twice = new Uint8Array([...message([1]), ...message([2])]);
    assert.equal(
      await status([], twice),
      String(GrpcCode.INTERNAL),
      "two messages on a unary call",
    );
    const unknown = await call(s.port, [["grpc-encoding", "snappy"]], message([1], 1));
    assert.equal(unknown.get("grpc-status"), String(GrpcCode.UNIMPLEMENTED));
    assert.match(unknown.get("grpc-accept-encoding") ?? "", /gzip/);
    // A 4 GiB - 1 length prefix: refused from the prefix alone, nothing buffered.
    const huge = Uint8Array.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    assert.equal(await status([], huge), String(GrpcCode.RESOURCE_EXHAUSTED));
    assert.equal(await status([["grpc-timeout", "soon"]], message([1])), String(GrpcCode.INTERNAL));
  } finally {
    await s.shutdown();
  }
});

Deno.test("grpc server decompresses gzip within the size limit and refuses bombs", async () => {
  const gzip = async (bytes: Uint8Array) =>
    await new Response(
      new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).bytes();
  let got: Uint8Array | undefined;
  const s = await server({}, (c) => {
    got = c.request;
    return Promise.resolve(new Uint8Array());
  });
  try {
    const small = await gzip(new Uint8Array(500).fill(3));
    const framed = (b: Uint8Array) => {
      const out = new Uint8Array(5 + b.length);
      out[0] = 1;
      new DataView(out.buffer).setUint32(1, b.length);
      out.set(b, 5);
      return out;
    };
    const ok = await call(s.port, [["grpc-encoding", "gzip"]], framed(small));
    assert.equal(ok.get("grpc-status"), "0");
    assert.equal(got?.length, 500);
    const bomb = await gzip(new Uint8Array(1_000_000));
    const refused = await call(s.port, [["grpc-encoding", "gzip"]], framed(bomb));
    assert.equal(refused.get("grpc-status"), String(GrpcCode.RESOURCE_EXHAUSTED));
  } finally {
    await s.shutdown();
  }
});

Deno.test("grpc server ends calls past their grpc-timeout with DEADLINE_EXCEEDED", async () => {
  const s = await server({}, () => new Promise((r) => setTimeout(() => r(new Uint8Array()), 1500)));
  try {
    const fields = await call(s.port, [["grpc-timeout", "100m"]], message([1]));
    assert.equal(fields.get("grpc-status"), String(GrpcCode.DEADLINE_EXCEEDED));
  } finally {
    await s.shutdown();
  }
});

Deno.test("grpc server sends handler errors as Trailers-Only with a percent-encoded message and RetryInfo", async () => {
  const s = await server({}, () => {
    throw new GrpcError(GrpcCode.UNAVAILABLE, "busy 100% ✓", { retryAfterMs: 2000 });
  });
  try {
    const fields = await call(s.port, [], message([1]));
    assert.equal(fields.get("grpc-status"), String(GrpcCode.UNAVAILABLE));
    assert.equal(fields.get("grpc-message"), "busy 100%25 %E2%9C%93");
    assert.ok(fields.has("grpc-status-details-bin"));
  } finally {
    await s.shutdown();
  }
});

Deno.test("grpc server enforces the keepalive policy: pings without calls end in ENHANCE_YOUR_CALM", async () => {
  const strict = await server();
  const lenient = await server({ keepalive: { permitWithoutStream: true, minTimeMs: 0 } });
  try {
    const peer = await RawPeer.connect(strict.port);
    for (let i = 0; i < 4; i++) await peer.send(pingFrame(new Uint8Array(8).fill(i)));
    await peer.waitFor((f) => f.some((x) => x.type === FrameType.GOAWAY));
    await peer.close();
    assert.equal(peer.goawayCode(), ErrorCode.ENHANCE_YOUR_CALM);
    const goaway = peer.frames.find((f) => f.type === FrameType.GOAWAY)!;
    assert.match(new TextDecoder().decode(goaway.payload.subarray(8)), /too_many_pings/);

    const ok = await RawPeer.connect(lenient.port);
    for (let i = 0; i < 4; i++) await ok.send(pingFrame(new Uint8Array(8).fill(i)));
    await ok.waitFor((f) => f.filter((x) => x.type === FrameType.PING).length >= 4);
    await ok.close();
    assert.equal(ok.goawayCode(), undefined);
  } finally {
    await strict.shutdown();
    await lenient.shutdown();
  }
});

Deno.test("grpc server closes connections past max_connection_age after the grace period", async () => {
  const s = await server({ keepalive: { maxConnectionAgeMs: 200, maxConnectionAgeGraceMs: 300 } });
  try {
    const peer = await RawPeer.connect(s.port);
    await peer.send(peer.headers(1, false)); // a call that never ends
    const closed = await Promise.race([
      peer.closed.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    await peer.close();
    assert.ok(closed);
    assert.equal(peer.goawayCode(), ErrorCode.NO_ERROR);
  } finally {
    await s.shutdown();
  }
});

Deno.test("grpc server shutdown waits for calls in progress and refuses TLS client CAs clearly", async () => {
  let release!: () => void;
  const s = await server({}, () => new Promise((r) => release = () => r(new Uint8Array([1]))));
  const answered = call(s.port, [], message([1]));
  await new Promise((r) => setTimeout(r, 200));
  let done = false;
  const stopping = s.shutdown().then(() => done = true);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(done, false);
  release();
  assert.equal((await answered).get("grpc-status"), "0");
  await stopping;
  await assert.rejects(
    serveGrpc({
      hostname: "127.0.0.1",
      port: 0,
      maxRecvMsgBytes: 1,
      tls: { cert: new Uint8Array(), key: new Uint8Array(), clientCa: new Uint8Array() },
    }, new Map()),
    /client_ca_file is not supported/,
  );
});
