import assert from "node:assert/strict";
import { findHeadEnd, HeadError, parseHead } from "../../../../lib/net/http1/_head.ts";
import { ChunkedDecoder, ChunkedError } from "../../../../lib/net/http1/_chunked.ts";

const enc = new TextEncoder();

function head(text: string) {
  return parseHead(enc.encode(text));
}

function refusal(text: string): number {
  try {
    head(text);
  } catch (error) {
    if (error instanceof HeadError) return error.status;
    throw error;
  }
  return 0;
}

Deno.test("http1 head: the end is found across reads, only after CRLF CRLF", () => {
  const bytes = enc.encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT");
  const end = bytes.length - 4;
  for (let cut = 0; cut <= bytes.length; cut++) {
    const first = findHeadEnd(bytes, 0, 0, cut);
    const found = first >= 0 ? first : findHeadEnd(bytes, 0, cut, bytes.length);
    assert.equal(found, end, `cut at ${cut}`);
  }
  assert.equal(findHeadEnd(enc.encode("GET / HTTP/1.1\nHost: a\n\n"), 0, 0, 24), -1);
});

Deno.test("http1 head: request line, fields and framing facts", () => {
  const h = head(
    "POST /v1/traces?x=1 HTTP/1.1\r\nHost: collector:4318\r\nContent-Type:  application/json \r\n" +
      "Content-Length: 12, 12\r\nConnection: keep-alive, Close\r\nExpect: 100-Continue\r\n" +
      "X-Obs: caf\xe9\r\n\r\n",
  );
  assert.equal(h.method, "POST");
  assert.equal(h.target, "/v1/traces?x=1");
  assert.equal(h.minorVersion, 1);
  assert.equal(h.host, "collector:4318");
  assert.equal(h.contentLength, 12);
  assert.equal(h.chunked, false);
  assert.equal(h.close, true);
  assert.equal(h.expectContinue, true);
  assert.deepEqual(h.headers[1], ["content-type", "application/json"]);
  const obs = parseHead(
    new Uint8Array([...enc.encode("GET / HTTP/1.1\r\nHost: a\r\nX: caf"), 0xe9, 13, 10, 13, 10]),
  );
  assert.deepEqual(obs.headers[1], ["x", "caf\u00e9"]);
  const chunked = head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
  assert.equal(chunked.chunked, true);
  assert.equal(chunked.contentLength, undefined);
  assert.equal(head("GET / HTTP/1.0\r\n\r\n").close, true);
});

Deno.test("http1 head: malformed and ambiguous heads are refused with their status", () => {
  const cases: Array<[string, number]> = [
    ["GET /\r\nHost: a\r\n\r\n", 400],
    ["GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
    ["PRI * HTTP/2.0\r\n\r\n", 505],
    ["GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
    [
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      501,
    ],
    ["POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417],
  ];
  for (const [text, status] of cases) assert.equal(refusal(text), status, JSON.stringify(text));
});

function decodeAll(
  wire: Uint8Array,
  cuts: number[],
): { data: number[]; consumed: number; done: boolean } {
  const d = new ChunkedDecoder(1024);
  const data: number[] = [];
  let at = 0;
  for (const cut of [...cuts, wire.length]) {
    while (at < cut && !d.done) {
      const step = d.step(wire, at, cut);
      data.push(...wire.subarray(step.from, step.to));
      at += step.consumed;
      if (step.consumed === 0) break;
    }
  }
  return { data, consumed: at, done: d.done };
}

Deno.test("http1 chunked: decodes across any split, skips extensions and trailers, stops at the end", () => {
  const wire = enc.encode("5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET");
  const body = [...enc.encode("hello0123456789")];
  for (let cut = 0; cut <= wire.length; cut++) {
    const r = decodeAll(wire, [cut]);
    assert.deepEqual(r.data, body, `cut at ${cut}`);
    assert.equal(r.done, true);
    assert.equal(r.consumed, wire.length - 3);
  }
  const bytewise = decodeAll(wire, Array.from({ length: wire.length }, (_, i) => i));
  assert.deepEqual(bytewise.data, body);
});

Deno.test("http1 chunked: malformed framing and over-long lines are errors", () => {
  const bad = [
    "x\r\n",
    "\r\n",
    "5\r\nhelloXX",
    "5\nhello\r\n",
    "12345678901234\r\n",
    `1;${"e".repeat(5000)}\r\n`,
    `0\r\n${"X: y\r\n".repeat(400)}\r\n`,
    "0\r\nX: y\n\r\n",
  ];
  for (const text of bad) {
    assert.throws(
      () => decodeAll(enc.encode(text), []),
      ChunkedError,
      JSON.stringify(text.slice(0, 30)),
    );
  }
});
