import assert from "node:assert/strict";
import { rawReader, readHead, skipBody, writeAll } from "../../bench/_raw_http.ts";
import { renderWorkersRuns, sumCounter } from "../../bench/workers_bench.ts";

/** A connected pair: what `send` writes in pieces arrives at the returned reader. */
async function pair(): Promise<{ client: Deno.Conn; server: Deno.Conn; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await accepted;
  listener.close();
  return {
    client,
    server,
    close() {
      for (const c of [client, server]) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
    },
  };
}

const enc = new TextEncoder();

Deno.test("raw http: heads, content-length and chunked bodies split across reads, back to back", async () => {
  const p = await pair();
  try {
    // A tiny buffer (just over the longest head) makes messages cross reads and compactions.
    const reader = rawReader(p.server, 128);
    const body = "x".repeat(300);
    const writes = [
      `POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      "HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\nConnection: close\r\n\r\n",
      "5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
      "GET /stats HTTP/1.1\r\n\r\n",
    ].join("");
    const sending = (async () => {
      const bytes = enc.encode(writes);
      for (let i = 0; i < bytes.length; i += 7) {
        await writeAll(p.client, bytes.subarray(i, i + 7));
      }
      p.client.closeWrite();
    })();
    const first = await readHead(reader);
    assert.deepEqual(first, {
      status: 0,
      target: "/v1/traces",
      contentLength: 300,
      chunked: false,
      close: false,
    });
    assert.equal(await skipBody(reader, first!), 300);
    const second = await readHead(reader);
    assert.equal(second!.status, 503);
    assert.equal(second!.chunked, true);
    assert.equal(second!.close, true);
    assert.equal(await skipBody(reader, second!), 5 + 26);
    const third = await readHead(reader);
    assert.equal(third!.target, "/stats");
    assert.equal(await skipBody(reader, third!), 0);
    assert.equal(await readHead(reader), undefined, "a clean end of stream between messages");
    await sending;
  } finally {
    p.close();
  }
});

Deno.test("raw http: malformed or truncated messages throw instead of hanging", async () => {
  for (
    const text of [
      "HTTP/1.1 abc OK\r\n\r\n",
      "POST / HTTP/1.1\r\nno colon here\r\n\r\n",
      "POST / HTTP/1.1\r\ncontent-length: -4\r\n\r\n",
      "POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\nshort",
      "POST / HTTP/1.1\r\nhost: a\r\n",
    ]
  ) {
    const p = await pair();
    try {
      await writeAll(p.client, enc.encode(text));
      p.client.closeWrite();
      const reader = rawReader(p.server, 64);
      await assert.rejects(
        async () => {
          const head = await readHead(reader);
          await skipBody(reader, head!);
        },
        Error,
        text,
      );
    } finally {
      p.close();
    }
  }
});

Deno.test("raw http: a head longer than the buffer is an error", async () => {
  const p = await pair();
  try {
    const sending = writeAll(
      p.client,
      enc.encode(`POST / HTTP/1.1\r\nx: ${"y".repeat(200)}\r\n\r\n`),
    );
    await assert.rejects(() => readHead(rawReader(p.server, 64)), /longer than the read buffer/);
    await sending;
  } finally {
    p.close();
  }
});

Deno.test("workers bench: sumCounter adds every series of one counter and no other", () => {
  const text = [
    "# TYPE otelcol_exporter_sent_spans counter",
    'otelcol_exporter_sent_spans{exporter="a"} 10',
    'otelcol_exporter_sent_spans{exporter="b",x="y z"} 5',
    "otelcol_exporter_sent_spans_other 100",
    'otelcol_exporter_send_failed_spans{exporter="a"} 7',
    "otelcol_exporter_sent_spans 2",
  ].join("\n");
  assert.equal(sumCounter(text, "otelcol_exporter_sent_spans"), 17);
  assert.equal(sumCounter(text, "otelcol_receiver_accepted_spans"), 0);
});

Deno.test("workers bench: the table gives medians, speed-up and both ceilings from the 1-worker runs", () => {
  const run = (workers: number, items: number, tfo: number, main: number) => ({
    path: "decode" as const,
    workers,
    itemsPerSecond: items,
    acceptedPerSecond: items,
    generatorPerSecond: items,
    sinkBytesPerItem: 400,
    tfoHwmBytes: 100 * 2 ** 20,
    tfoCores: tfo,
    tfoThreads: { primary: main },
    generatorCores: 0.05,
    sinkCores: 0.05,
    errors: 0,
    connects: 16,
    load1: [0.5, 1] as const,
    at: "2026-12-03T13:40:00.000Z",
  });
  // 1 worker: 200k/s on 1.25 cores, 1.0 of them the main thread: 6.25 µs tfo, 5 µs main, 0.5 µs
  // harness; ceilings 2·6.25/6.75 = 1.85x and 2·5/6.75 = 1.48x.
  const table = renderWorkersRuns([
    run(1, 190_000, 1.25, 1),
    run(2, 300_000, 1.9, 0.95),
    run(1, 200_000, 1.25, 1),
    run(2, 280_000, 1.9, 0.95),
    run(1, 210_000, 1.25, 1),
  ]);
  const rows = table.split("\n");
  assert.equal(rows.length, 4);
  assert.match(rows[2]!, /^\| decode \| 1 \| 190000, 200000, 210000 \| 200000 \|/);
  assert.match(rows[2]!, /\| 1\.00x \| 1\.85x \/ 1\.48x \|$/);
  assert.match(rows[3]!, /^\| decode \| 2 \| 300000, 280000 \| 300000 \|.*\| 1\.50x \| {2}\|$/);
});
