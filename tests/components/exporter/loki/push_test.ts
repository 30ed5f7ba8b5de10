/**
 * The loki exporter's `logproto.PushRequest` encoder, read back by the tests' own decoder
 * (written from the .proto field numbers): ASCII, non-ASCII and empty lines, times with and
 * without seconds or nanoseconds, several streams, and a request larger than the scratch buffer
 * it starts with.
 */
import assert from "node:assert/strict";
import { encodePushRequest } from "../../../../components/exporter/loki/push.ts";
import type { LokiRequest } from "../../../../components/exporter/loki/convert.ts";
import { decodePushRequest } from "./_logproto.ts";

function request(streams: [string, [bigint, string][]][]): LokiRequest {
  return {
    tenant: "",
    records: 0,
    streams: streams.map(([labels, entries]) => ({
      labels,
      labelPairs: [],
      entries: entries.map(([timeUnixNano, line]) => ({ timeUnixNano, line })),
    })),
  };
}

Deno.test("loki push request encodes every kind of line and time, read back exactly", () => {
  const lines: [bigint, string][] = [
    [1700000000123456789n, '{"body":"plain ascii"}'],
    [1700000000000000000n, "no nanoseconds"],
    [123n, "nanoseconds only"],
    [0n, "no time at all"],
    [1700000001000000001n, "non-ASCII: é, ü, 日本語, 🎉 (surrogate pair)"],
    [1700000002000000000n, ""],
    [1700000003000000000n, "x".repeat(200) + "é".repeat(100)],
  ];
  const req = request([['{job="a"}', lines], ['{job="ß"}', lines.slice(0, 2)]]);
  const decoded = decodePushRequest(encodePushRequest(req));
  assert.equal(decoded.length, 2);
  assert.equal(decoded[0]!.labels, '{job="a"}');
  assert.equal(decoded[1]!.labels, '{job="ß"}');
  const back = decoded[0]!.entries.map((e) => [e.timeUnixNano, e.line]);
  assert.deepEqual(back, lines);
});

Deno.test("loki push request grows past its scratch buffer and hands finish a view", () => {
  const entries: [bigint, string][] = Array.from(
    { length: 3000 },
    (_, i) => [1700000000000000000n + BigInt(i), `line ${i} ${"y".repeat(i % 500)}`],
  );
  let seen: Uint8Array | undefined;
  const out = encodePushRequest(request([['{job="big"}', entries]]), (body) => {
    seen = body;
    return body.slice();
  });
  assert.ok(out.length > 256 * 1024);
  assert.deepEqual(out, seen);
  const decoded = decodePushRequest(out);
  assert.equal(decoded[0]!.entries.length, 3000);
  assert.equal(decoded[0]!.entries[2999]!.line, entries[2999]![1]);
});
