import assert from "node:assert/strict";
import { LineSpans, LogLinesEncoder } from "../../../lib/otlp/log_lines_proto.ts";
import { decodeLogsRequest, encodeLogsRequest } from "../../../lib/otlp/logs_proto.ts";
import { newBodyLogRecord, newLogsData } from "../../../lib/pdata/new.ts";
import type { KeyValue } from "../../../lib/pdata/types.ts";

const utf8 = new TextEncoder();

/** Lines of `text` split at "\n", as spans over its bytes. */
function spansOf(text: string): { data: Uint8Array; spans: LineSpans; lines: string[] } {
  const data = utf8.encode(text);
  const spans = new LineSpans(2);
  const lines = text.split("\n");
  let pos = 0;
  for (const line of lines) {
    spans.push(pos, pos + line.length);
    pos += line.length + 1;
  }
  return { data, spans, lines };
}

function expected(lines: string[], observed: bigint, attributes: KeyValue[]): Uint8Array {
  return encodeLogsRequest(
    newLogsData(lines.map((l) => newBodyLogRecord(observed, l, attributes.map((a) => ({ ...a }))))),
  );
}

Deno.test("LogLinesEncoder writes the bytes encodeLogsRequest writes for the same records", () => {
  const lengths = [0, 1, 5, 116, 119, 127, 128, 200, 255, 256, 300, 16_383, 16_384, 70_000];
  const text = lengths.map((n, i) => String.fromCharCode(97 + i % 26).repeat(n)).join("\n");
  const { data, spans, lines } = spansOf(text);
  const cases: [bigint, KeyValue[]][] = [
    [0n, []],
    [1_764_000_000_123_456_789n, []],
    [1_764_000_000_123_456_789n, [{ key: "log.file.name", value: "app.log" }]],
    [2n ** 63n + 5n, [{ key: "a", value: "" }, { key: "long", value: "v".repeat(200) }]],
  ];
  for (const [observed, attributes] of cases) {
    const got = new LogLinesEncoder(observed, attributes).encode(data, spans);
    assert.deepEqual(got, expected(lines, observed, attributes));
    const decoded = decodeLogsRequest(got).resourceLogs[0]!.scopeLogs[0]!.logRecords;
    assert.deepEqual(decoded.map((r) => r.body), lines);
    assert.ok(decoded.every((r) => r.observedTimeUnixNano === observed));
  }
});

Deno.test("LogLinesEncoder encodes ranges in the middle of a buffer, all of them or some", () => {
  let text = "";
  for (let i = 0; i < 5000; i++) text += `line ${i} ${"x".repeat(i % 300)}\n`;
  const data = utf8.encode(`junk${text}junk`);
  const spans = new LineSpans(1);
  const lines: string[] = [];
  let pos = 4;
  for (const line of text.slice(0, -1).split("\n")) {
    spans.push(pos, pos + line.length);
    lines.push(line);
    pos += line.length + 1;
  }
  const attributes = [{ key: "log.file.name", value: "x.log" }];
  const encoder = new LogLinesEncoder(7n, attributes);
  assert.deepEqual(encoder.encode(data, spans), expected(lines, 7n, attributes));
  assert.deepEqual(
    encoder.encode(data, spans, 100, 250),
    expected(lines.slice(100, 250), 7n, attributes),
  );
});

Deno.test("LogLinesEncoder.encodeInto writes several requests into one buffer, each as encode writes it", () => {
  const lengths = [3, 0, 120, 127, 128, 16_384, 9, 70_000, 1];
  const text = lengths.map((n, i) => String.fromCharCode(97 + i % 26).repeat(n)).join("\n");
  const { data, spans } = spansOf(text);
  const encoder = new LogLinesEncoder(7n, [{ key: "log.file.name", value: "app.log" }]);
  const cuts = [[0, 2], [2, 2], [2, 5], [5, 9]];
  let total = 0;
  for (const [from, to] of cuts) total += encoder.size(spans, from, to);
  // Filled with 0xee so that a byte left unwritten would show.
  const buffer = new Uint8Array(total + 3).fill(0xee);
  let pos = 3;
  for (const [from, to] of cuts) {
    const end = encoder.encodeInto(buffer, pos, data, spans, from, to);
    const alone = encoder.encode(data, spans, from, to);
    assert.equal(end - pos, alone.length);
    assert.deepEqual(buffer.subarray(pos, end), alone);
    pos = end;
  }
  assert.equal(pos, buffer.length);
  assert.deepEqual(buffer.subarray(0, 3), new Uint8Array([0xee, 0xee, 0xee]));
});
