/**
 * A test-side decoder of Loki's `logproto.PushRequest`, written independently of the exporter's
 * encoder from the message definitions, and a fake Loki push server that decodes what it gets.
 */
import { snappyUncompress } from "../../../../lib/net/snappy.ts";

/** One decoded entry. */
export interface DecodedEntry {
  timeUnixNano: bigint;
  line: string;
}

/** One decoded stream. */
export interface DecodedStream {
  labels: string;
  entries: DecodedEntry[];
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    while (true) {
      if (this.pos >= this.end) throw new Error("truncated varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }

  /** Calls `field` for each field until the end; length-delimited fields get a sub-reader. */
  each(field: (no: number, wt: number, r: Reader) => void): void {
    while (this.pos < this.end) {
      const tag = Number(this.varint());
      const no = tag >>> 3;
      const wt = tag & 7;
      if (wt === 2) {
        const len = Number(this.varint());
        const sub = new Reader(this.buf, this.pos + len);
        sub.pos = this.pos;
        field(no, wt, sub);
        this.pos += len;
      } else if (wt === 0) {
        const sub = new Reader(this.buf, this.end);
        sub.pos = this.pos;
        field(no, wt, sub);
        this.pos = sub.pos;
      } else {
        throw new Error(`unexpected wire type ${wt}`);
      }
    }
  }

  text(): string {
    return new TextDecoder().decode(this.buf.subarray(this.pos, this.end));
  }
}

/** Decodes a (not compressed) PushRequest. */
export function decodePushRequest(bytes: Uint8Array): DecodedStream[] {
  const streams: DecodedStream[] = [];
  new Reader(bytes).each((no, _wt, r) => {
    if (no !== 1) return;
    const stream: DecodedStream = { labels: "", entries: [] };
    r.each((sno, _swt, sr) => {
      if (sno === 1) stream.labels = sr.text();
      if (sno === 2) {
        let seconds = 0n;
        let nanos = 0n;
        let line = "";
        sr.each((eno, _ewt, er) => {
          if (eno === 1) {
            er.each((tno, _twt, tr) => {
              if (tno === 1) seconds = tr.varint();
              if (tno === 2) nanos = tr.varint();
            });
          }
          if (eno === 2) line = er.text();
        });
        stream.entries.push({ timeUnixNano: seconds * 1_000_000_000n + nanos, line });
      }
    });
    streams.push(stream);
  });
  return streams;
}

/** What the fake server got in one request. */
export interface PushReceived {
  headers: Headers;
  streams: DecodedStream[];
}

/** A fake Loki push server on 127.0.0.1 answering with `respond` (default 204). */
export function fakeLoki(
  respond: (r: PushReceived, n: number) => Response | Promise<Response> = () =>
    new Response(null, { status: 204 }),
) {
  const received: PushReceived[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const raw = await req.bytes();
    const type = req.headers.get("content-type") ?? "";
    let streams: DecodedStream[];
    if (type === "application/json") {
      const body = JSON.parse(new TextDecoder().decode(raw)) as {
        streams: { stream: Record<string, string>; values: [string, string][] }[];
      };
      streams = body.streams.map((s) => ({
        labels: `{${
          Object.entries(s.stream).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")
        }}`,
        entries: s.values.map(([t, line]) => ({ timeUnixNano: BigInt(t), line })),
      }));
    } else {
      streams = decodePushRequest(snappyUncompress(raw));
    }
    const r = { headers: req.headers, streams };
    received.push(r);
    return await respond(r, received.length);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/loki/api/v1/push`,
    received,
    close: () => server.shutdown(),
  };
}
