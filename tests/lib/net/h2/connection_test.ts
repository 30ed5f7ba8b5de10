import assert from "node:assert/strict";
import { H2Connection, type H2Stream } from "../../../../lib/net/h2/connection.ts";
import {
  CLIENT_PREFACE,
  encodeFrame,
  ErrorCode,
  Flags,
  FrameParser,
  framePayloadContent,
  FrameType,
  H2Error,
  headersFrames,
  pingFrame,
  settingsFrame,
} from "../../../../lib/net/h2/frames.ts";
import { MessageReader, parseGrpcTimeout } from "../../../../lib/net/h2/grpc_wire.ts";

Deno.test("frame parser cuts frames across reads and refuses frames over the maximum size", () => {
  const parser = new FrameParser(16_384);
  const a = encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8).fill(7));
  const b = encodeFrame(FrameType.DATA, Flags.END_STREAM, 3, new Uint8Array(1000).fill(1));
  const both = new Uint8Array([...a, ...b]);
  parser.push(both.subarray(0, 5));
  assert.equal(parser.next(), undefined);
  parser.push(both.subarray(5, 30));
  const ping = parser.next()!;
  assert.equal(ping.type, FrameType.PING);
  assert.deepEqual([...ping.payload], new Array(8).fill(7));
  assert.equal(parser.next(), undefined);
  parser.push(both.subarray(30));
  const data = parser.next()!;
  assert.deepEqual([data.type, data.flags, data.streamId, data.payload.length], [0, 1, 3, 1000]);

  const big = new FrameParser(16_384);
  big.push(new Uint8Array([0x00, 0x40, 0x01, 0, 0, 0, 0, 0, 1]));
  assert.throws(
    () => big.next(),
    (e: unknown) => e instanceof H2Error && e.code === ErrorCode.FRAME_SIZE_ERROR,
  );
});

Deno.test("padding and priority fields are stripped; padding longer than the frame is an error", () => {
  const payload = new Uint8Array([3, 9, 9, 0, 0, 0]); // pad length 3, "9 9", 3 padding bytes
  const frame = { type: FrameType.DATA, flags: Flags.PADDED, streamId: 1, payload };
  assert.deepEqual([...framePayloadContent(frame)], [9, 9]);
  const priority = {
    type: FrameType.HEADERS,
    flags: Flags.PRIORITY,
    streamId: 1,
    payload: new Uint8Array([0, 0, 0, 0, 16, 0x82]),
  };
  assert.deepEqual([...framePayloadContent(priority)], [0x82]);
  const bad = {
    type: FrameType.DATA,
    flags: Flags.PADDED,
    streamId: 1,
    payload: new Uint8Array([9, 1]),
  };
  assert.throws(() => framePayloadContent(bad), H2Error);
});

Deno.test("a header block larger than the peer's frame size goes out as HEADERS and CONTINUATION", () => {
  const bytes = headersFrames(5, new Uint8Array(40_000), true, 16_384);
  const parser = new FrameParser(16_384);
  parser.push(bytes);
  const frames = [parser.next()!, parser.next()!, parser.next()!];
  assert.deepEqual(frames.map((f) => [f.type, f.flags, f.payload.length]), [
    [FrameType.HEADERS, Flags.END_STREAM, 16_384],
    [FrameType.CONTINUATION, 0, 16_384],
    [FrameType.CONTINUATION, Flags.END_HEADERS, 40_000 - 32_768],
  ]);
});

Deno.test("grpc message reader reads the full 32-bit length and refuses big messages before buffering", () => {
  const reader = new MessageReader(1000, 1);
  reader.push(Uint8Array.from([0, 0, 0, 0, 3, 1, 2]));
  assert.ok(reader.partial);
  reader.push(Uint8Array.from([3]));
  assert.deepEqual([...reader.messages[0]!.data], [1, 2, 3]);
  // 0x1_0000_0003 does not fit; a length whose low bits are small must not pass as small.
  assert.throws(
    () => new MessageReader(1000).push(Uint8Array.from([0, 0x80, 0, 0, 3])),
    /larger than max/,
  );
  assert.throws(
    () => new MessageReader(1000).push(Uint8Array.from([2, 0, 0, 0, 0])),
    /compressed flag 2/,
  );
  assert.throws(() => reader.push(Uint8Array.from([0, 0, 0, 0, 0])), /More request messages/);
  assert.equal(parseGrpcTimeout("100m"), 100);
  assert.equal(parseGrpcTimeout("2S"), 2000);
  assert.equal(parseGrpcTimeout("123456789S"), undefined);
});

/** A server and a client H2Connection over loopback TCP. */
async function pair(
  server: Partial<ConstructorParameters<typeof H2Connection>[1]>,
  onStream: (s: H2Stream) => void,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const clientConn = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  const serverConn = await accepted;
  listener.close();
  const s = new H2Connection(serverConn, { ...server, role: "server", onStream });
  const c = new H2Connection(clientConn, { role: "client" });
  s.start();
  c.start();
  return {
    client: c,
    server: s,
    async close() {
      c.close();
      s.close();
      await Promise.all([c.closed, s.closed]);
    },
  };
}

const REQUEST = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/x"],
  [":authority", "a"],
] as const;

Deno.test("flow control: a sender never exceeds the window the receiver grants", async () => {
  let received = 0;
  let auto = false;
  let stream: H2Stream | undefined;
  const got = Promise.withResolvers<void>();
  const conns = await pair({ initialWindowSize: 65_535, connectionWindowSize: 65_535 }, (s) => {
    stream = s;
    s.handlers = {
      onData(chunk, end) {
        received += chunk.length; // not consumed until `auto`: no credit goes back
        if (auto) s.consume(chunk.length);
        if (end) got.resolve();
      },
    };
  });
  try {
    const request = await conns.client.request(REQUEST, false);
    const body = new Uint8Array(200_000);
    const writing = request.write(body, true);
    for (let i = 0; i < 500 && received < 65_535; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received, 65_535, "exactly the window, then the sender waits");
    auto = true;
    stream!.consume(received);
    await got.promise;
    await writing;
    assert.equal(received, 200_000);
  } finally {
    await conns.close();
  }
});

Deno.test("a request beyond MAX_CONCURRENT_STREAMS waits on the client instead of being refused", async () => {
  const open: H2Stream[] = [];
  const conns = await pair({ maxConcurrentStreams: 2 }, (s) => {
    open.push(s);
    s.handlers = {};
  });
  try {
    await conns.client.request(REQUEST, true);
    await new Promise((r) => setTimeout(r, 100)); // the server's SETTINGS arrive
    await conns.client.request(REQUEST, true);
    let third = false;
    const pending = conns.client.request(REQUEST, true).then((s) => (third = true, s));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(third, false);
    open[0]!.sendHeaders([[":status", "200"]], true);
    await pending;
    assert.equal(third, true);
  } finally {
    await conns.close();
  }
});

Deno.test("graceful GOAWAY lets open streams finish, then closes", async () => {
  const open: H2Stream[] = [];
  const conns = await pair({}, (s) => {
    open.push(s);
    s.handlers = {};
  });
  try {
    const stream = await conns.client.request(REQUEST, true);
    const answer = Promise.withResolvers<string | undefined>();
    stream.handlers = { onHeaders: (h) => answer.resolve(h.find(([n]) => n === ":status")?.[1]) };
    await new Promise((r) => setTimeout(r, 100));
    conns.server.goaway(ErrorCode.NO_ERROR);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(conns.client.isDraining, true);
    await assert.rejects(conns.client.request(REQUEST, true), /going away/);
    open[0]!.sendHeaders([[":status", "204"]], true);
    assert.equal(await answer.promise, "204");
    await conns.server.closed;
    await conns.client.closed;
  } finally {
    await conns.close();
  }
});

/**
 * A TCP proxy that hands the server's bytes to the client `delayMs` late and, as simple proxies
 * do, closes both sides when either fails (a reset from the server cuts the client off).
 */
function slowProxy(upstreamPort: number, delayMs: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const conns: Deno.Conn[] = [];
  const closeAll = () => {
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // Closed already.
      }
    }
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn, delay: number) => {
    const buf = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        const chunk = buf.slice(0, n);
        if (delay > 0) await sleep(delay);
        let off = 0;
        while (off < chunk.length) off += await to.write(chunk.subarray(off));
      }
    } catch {
      // Either side went.
    }
    closeAll();
  };
  const serving = (async () => {
    const client = await listener.accept();
    const up = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort });
    conns.push(client, up);
    await Promise.all([pipe(client, up, 0), pipe(up, client, delayMs)]);
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      closeAll();
      await serving.catch(() => {});
    },
  };
}

Deno.test("a request that crosses the server's idle GOAWAY meets the GOAWAY, not a reset", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  // The GOAWAY reaches the client 300 ms after the server sent it, so the client's next frames
  // cross it, as a request does that races the idle timer behind a busy proxy.
  const proxy = slowProxy((listener.addr as Deno.NetAddr).port, 300);
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  const server = new H2Connection(await accepted, {
    role: "server",
    idleTimeoutMs: 100,
    onStream: (s) => (s.handlers = {}),
  });
  listener.close();
  server.start();
  try {
    await raw.write(CLIENT_PREFACE);
    await raw.write(settingsFrame([]));
    await new Promise((r) => setTimeout(r, 200)); // past the idle GOAWAY, before it arrives
    const pings = new Uint8Array(1_000 * 17);
    for (let i = 0; i < 1_000; i++) pings.set(pingFrame(new Uint8Array(8)), i * 17);
    for (let i = 0; i < 10; i++) {
      await raw.write(pings).catch(() => 0);
      await new Promise((r) => setTimeout(r, 10));
    }
    const parser = new FrameParser(1 << 14);
    const types: number[] = [];
    let error: unknown;
    try {
      for (;;) {
        const space = parser.space();
        const n = await raw.read(space);
        if (n === null) break;
        parser.commit(n);
        let frame;
        while ((frame = parser.next()) !== undefined) types.push(frame.type);
      }
    } catch (e) {
      error = e;
    }
    assert.equal(error, undefined, `the read failed: ${error}`);
    assert.ok(types.includes(FrameType.GOAWAY), `frames: ${types.join(",")}`);
    await server.closed;
  } finally {
    raw.close();
    server.close();
    await proxy.close();
  }
});
