/**
 * Writing a body given as parts (an encoded batch as it was merged): the parts go into DATA
 * frames as views, split at the peer's frame size and the flow-control windows, and arrive
 * byte-exact; a peer that stops reading holds the writers back at the write queue's bound instead
 * of letting it grow, and gets every byte once it reads again.
 */
import assert from "node:assert/strict";
import { H2Connection, type H2Socket, type H2Stream } from "../../../../lib/net/h2/connection.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_BYTES,
  MAX_WINDOW,
} from "../../../../lib/net/h2/frames.ts";
import { freePort } from "../../../fixtures/interop/services.ts";
import { patternBytes } from "../../../fixtures/pattern_bytes.ts";

const REQUEST = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/x"],
  [":authority", "a"],
] as const;

/** A socket whose reads wait while `paused` (a peer that stops reading). */
function gated(conn: Deno.Conn) {
  let resume: PromiseWithResolvers<void> | undefined;
  const socket: H2Socket = {
    async read(p) {
      while (resume !== undefined) await resume.promise;
      return await conn.read(p);
    },
    write: (p) => conn.write(p),
    close: () => conn.close(),
  };
  return {
    socket,
    pause() {
      resume ??= Promise.withResolvers<void>();
    },
    resume() {
      const r = resume;
      resume = undefined;
      r?.resolve();
    },
  };
}

/** A connected client and server; the server's reads can be paused. */
async function pair(
  server: Partial<ConstructorParameters<typeof H2Connection>[1]>,
  onStream: (s: H2Stream) => void,
) {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const accepted = listener.accept();
  const clientConn = await Deno.connect({ hostname: "127.0.0.1", port });
  const serverConn = await accepted;
  listener.close();
  const gate = gated(serverConn);
  const s = new H2Connection(gate.socket, { ...server, role: "server", onStream });
  const c = new H2Connection(clientConn, { role: "client" });
  s.start();
  c.start();
  return {
    client: c,
    gate,
    async close() {
      c.close();
      s.close();
      await Promise.all([c.closed, s.closed]);
    },
  };
}

/** A server stream handler that keeps what arrives, returns credit and answers at the end. */
function collecting(bodies: Map<number, Uint8Array[]>) {
  return (s: H2Stream) => {
    const chunks: Uint8Array[] = [];
    bodies.set(s.id, chunks);
    s.handlers = {
      onData(chunk, end) {
        chunks.push(chunk.slice());
        s.consume(chunk.length);
        if (end) s.sendHeaders([[":status", "200"]], true);
      },
    };
  };
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

async function answered(stream: H2Stream): Promise<void> {
  const done = Promise.withResolvers<void>();
  stream.handlers = {
    onHeaders(_headers, end) {
      if (end) done.resolve();
    },
    onClose: () => done.resolve(),
  };
  await done.promise;
}

Deno.test("a body in parts arrives byte-exact across frames, windows and part boundaries", async () => {
  const bodies = new Map<number, Uint8Array[]>();
  // Windows smaller than the body, so the writer waits for credit in the middle of parts.
  const conns = await pair(
    { initialWindowSize: 100_000, connectionWindowSize: 150_000 },
    collecting(bodies),
  );
  try {
    const parts = [
      new Uint8Array(0),
      patternBytes(5, 1),
      patternBytes(DEFAULT_MAX_FRAME_SIZE - 3, 2),
      new Uint8Array(0),
      patternBytes(DEFAULT_MAX_FRAME_SIZE + 7, 3),
      patternBytes(70_000, 4),
      patternBytes(1, 5),
      patternBytes(300_001, 6),
    ];
    const copies = parts.map((p) => p.slice());
    const stream = await conns.client.request(REQUEST, false);
    const done = answered(stream);
    await stream.write(parts, true);
    await done;
    const got = join(bodies.get(stream.id)!);
    assert.equal(got.length, 402_779);
    assert.deepEqual(got, join(copies));
    assert.deepEqual(parts, copies, "the parts are not changed");
  } finally {
    await conns.close();
  }
});

Deno.test("a peer that stops reading holds writers at the write queue's bound; all arrives once it reads", async () => {
  const bodies = new Map<number, Uint8Array[]>();
  // Windows so large that only the socket (the peer not reading) holds the writers back.
  const conns = await pair(
    { initialWindowSize: MAX_WINDOW, connectionWindowSize: MAX_WINDOW },
    collecting(bodies),
  );
  try {
    // A first exchange settles SETTINGS both ways, then the server stops reading.
    const hello = await conns.client.request(REQUEST, false);
    const helloDone = answered(hello);
    await hello.write(new Uint8Array(1), true);
    await helloDone;
    conns.gate.pause();

    const block = patternBytes(1 << 20, 7);
    const parts = Array.from({ length: 16 }, () => block); // 16 MiB per stream, one buffer
    const writers = 4;
    const streams = await Promise.all(
      Array.from({ length: writers }, () => conns.client.request(REQUEST, false)),
    );
    const done = streams.map(answered);
    let settled = 0;
    const writes = streams.map((s) => s.write(parts, true).finally(() => settled++));

    const bound = (1 << 20) + writers * (DEFAULT_MAX_FRAME_SIZE + FRAME_HEADER_BYTES);
    // Fill the socket's kernel buffers until the writers wait on the queue.
    for (let i = 0; i < 400 && conns.client.bufferedBytes <= 1 << 20; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(conns.client.bufferedBytes > 1 << 20, "the queue reached its bound");
    let highest = 0;
    for (let i = 0; i < 10; i++) {
      highest = Math.max(highest, conns.client.bufferedBytes);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(highest <= bound, `queued ${highest} bytes, bound ${bound}`);
    assert.equal(settled, 0, "64 MiB cannot all fit in the socket: the writers wait");

    conns.gate.resume();
    await Promise.all(writes);
    await Promise.all(done);
    const expected = 16 << 20;
    for (const s of streams) {
      const chunks = bodies.get(s.id)!;
      assert.equal(chunks.reduce((n, c) => n + c.length, 0), expected);
      let offset = 0;
      for (const c of chunks) {
        const start = offset % block.length;
        if (start + c.length <= block.length) {
          assert.deepEqual(c, block.subarray(start, start + c.length));
        } else {
          assert.deepEqual(
            c,
            join([block.subarray(start), block.subarray(0, c.length - (block.length - start))]),
          );
        }
        offset += c.length;
      }
    }
  } finally {
    await conns.close();
  }
});
