/**
 * Bad input through a full running service: good OTLP/HTTP requests interleaved with malformed,
 * oversized and mistyped ones. Each gets its status, the service keeps running, and every good
 * request arrives downstream (through the batch processor) while no bad one does.
 */
import assert from "node:assert/strict";
import { encodeTracesRequest } from "../../lib/otlp/mod.ts";
import { newResource, newScope, newSpan } from "../../lib/pdata/new.ts";
import type { TracesData } from "../../lib/pdata/types.ts";
import {
  gzip,
  logsProto,
  metricsJson,
  post,
  tracesJson,
  tracesProto,
} from "../components/receiver/otlp/_helpers.ts";
import { recorded, recordedItems, startService, waitFor } from "../fixtures/interop/services.ts";

const LIMIT = 1024 * 1024;
const PB = { "content-type": "application/x-protobuf" };
const JSON_CT = { "content-type": "application/json" };

/** One span whose string attribute makes the encoded request exactly `size` bytes. */
function tracesOfSize(size: number): { bytes: Uint8Array<ArrayBuffer>; valueLength: number } {
  const make = (n: number): TracesData => ({
    resourceSpans: [{
      resource: newResource({ attributes: [{ key: "service.name", value: "big" }] }),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope({ name: "big" }),
        schemaUrl: "",
        spans: [newSpan({
          name: "huge-attribute",
          traceId: new Uint8Array(16).fill(7),
          spanId: new Uint8Array(8).fill(8),
          attributes: [{ key: "blob", value: "v".repeat(n) }],
        })],
      }],
    }],
  });
  // Length prefixes grow by whole bytes; step down until the size fits exactly.
  let n = size;
  for (;;) {
    const bytes = encodeTracesRequest(make(n)) as Uint8Array<ArrayBuffer>;
    if (bytes.length === size) return { bytes, valueLength: n };
    n -= Math.max(1, bytes.length - size);
    assert.ok(n > 0, "a request of that size can be built");
  }
}

Deno.test("a running service answers each bad OTLP/HTTP request with its status, keeps running and delivers every good one", async () => {
  await using tfo = await startService(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
        max_request_body_size: ${LIMIT}
processors:
  batch:
    timeout: 10ms
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [recorder] }
    metrics: { receivers: [otlp], processors: [batch], exporters: [recorder] }
    logs: { receivers: [otlp], processors: [batch], exporters: [recorder] }
`);
  const base = `http://127.0.0.1:${tfo.port("otlp", "http")}`;
  const good = tracesProto("a", "b", "c");
  const bomb = await gzip(new Uint8Array(64 * 1024 * 1024));
  assert.ok(bomb.length < LIMIT / 4, "the bomb itself is small");
  const nearLimit = tracesOfSize(LIMIT - 1);

  type Case = {
    name: string;
    path: string;
    body: BodyInit;
    headers: Record<string, string>;
    status: number;
  };
  const cases: Case[] = [
    { name: "good protobuf traces", path: "traces", body: good, headers: PB, status: 200 },
    {
      name: "truncated protobuf",
      path: "traces",
      body: good.subarray(0, good.length - 5),
      headers: PB,
      status: 400,
    },
    {
      name: "good JSON metrics",
      path: "metrics",
      body: metricsJson("m", 1, 2),
      headers: JSON_CT,
      status: 200,
    },
    {
      // Field 1 (resource_spans, length-delimited) sent as a varint.
      name: "wrong wire type",
      path: "traces",
      body: new Uint8Array([0x08, 0x01]),
      headers: PB,
      status: 400,
    },
    {
      name: "good gzip protobuf logs",
      path: "logs",
      body: await gzip(logsProto("l1", "l2")),
      headers: { ...PB, "content-encoding": "gzip" },
      status: 200,
    },
    {
      name: "invalid JSON",
      path: "logs",
      body: '{"resourceLogs": [{"scopeLogs": [',
      headers: JSON_CT,
      status: 400,
    },
    {
      name: "good JSON traces",
      path: "traces",
      body: tracesJson("j"),
      headers: JSON_CT,
      status: 200,
    },
    {
      name: "gzip bomb",
      path: "traces",
      body: bomb,
      headers: { ...PB, "content-encoding": "gzip" },
      status: 413,
    },
    {
      name: "body over the limit",
      path: "traces",
      body: new Uint8Array(LIMIT + 1),
      headers: PB,
      status: 413,
    },
    {
      name: "wrong content type",
      path: "traces",
      body: good,
      headers: { "content-type": "text/plain" },
      status: 415,
    },
    {
      name: "enormous attribute value just under the limit",
      path: "traces",
      body: nearLimit.bytes,
      headers: PB,
      status: 200,
    },
    { name: "good protobuf traces again", path: "traces", body: good, headers: PB, status: 200 },
  ];

  // Twice in order, then all at once.
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
    const send = (c: Case) =>
      post(`${base}/v1/${c.path}`, c.body, c.headers).then((r) => ({ c, status: r.status }));
    const results = round < 2
      ? await cases.reduce<Promise<{ c: Case; status: number }[]>>(
        async (acc, c) => [...await acc, await send(c)],
        Promise.resolve([]),
      )
      : await Promise.all(cases.map(send));
    assert.deepEqual(
      results.map((r) => `${r.c.name}: ${r.status}`),
      cases.map((c) => `${c.name}: ${c.status}`),
      `round ${round + 1}`,
    );
    assert.equal(tfo.service.status, "running");
  }

  // The batch processor (no queue behind it) answers once it holds the data: wait for its flush.
  const spansPerRound = 3 + 1 + 1 + 3; // good, JSON, near-limit, good again
  await waitFor(
    "the batches to reach the recorder",
    () =>
      recordedItems(tfo.kit, "recorder", "traces") >= rounds * spansPerRound &&
      recordedItems(tfo.kit, "recorder", "metrics") >= rounds * 2 &&
      recordedItems(tfo.kit, "recorder", "logs") >= rounds * 2,
  ).catch(() => {});
  assert.equal(recordedItems(tfo.kit, "recorder", "traces"), rounds * spansPerRound);
  assert.equal(recordedItems(tfo.kit, "recorder", "metrics"), rounds * 2);
  assert.equal(recordedItems(tfo.kit, "recorder", "logs"), rounds * 2);
  const blobs = recorded(tfo.kit, "recorder", "traces").flatMap((d) =>
    d.resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) =>
        ss.spans.flatMap((s) => s.attributes.filter((a) => a.key === "blob"))
      )
    )
  );
  assert.equal(blobs.length, rounds);
  for (const b of blobs) assert.equal((b.value as string).length, nearLimit.valueLength);
});
