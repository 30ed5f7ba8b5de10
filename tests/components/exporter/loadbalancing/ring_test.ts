/** The consistent-hash ring and the split by routing key of the `loadbalancing` exporter. */
import assert from "node:assert/strict";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  buildRing,
  hashBytes,
  hashString,
} from "../../../../components/exporter/loadbalancing/ring.ts";
import { splitByOwner } from "../../../../components/exporter/loadbalancing/split.ts";
import type { LogsData, MetricsData, TracesData } from "../../../../lib/pdata/types.ts";
import { newLogRecord, newResource, newScope, newSpan } from "../../../../lib/pdata/new.ts";

function keys(n: number): number[] {
  return Array.from({ length: n }, (_, i) => hashString(`key-${i}`));
}

Deno.test("the ring gives every key to one backend, the same for the same backends", () => {
  const a = buildRing(["b:1", "a:1", "c:1"]);
  const b = buildRing(["c:1", "b:1", "a:1", "a:1"]);
  assertEquals(a.endpoints, ["a:1", "b:1", "c:1"]);
  for (const k of keys(2000)) assertEquals(a.owner(k), b.owner(k));
  assertEquals(buildRing([]).owner(1), undefined);
  assertEquals(buildRing(["x:1"]).owner(0xffffffff), "x:1");
});

Deno.test("adding a 4th backend moves about 1/4 of the keys, all of them to the new one", () => {
  const before = buildRing(["10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317"]);
  const after = buildRing(["10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317", "10.0.0.4:4317"]);
  const all = keys(20_000);
  let moved = 0;
  for (const k of all) {
    if (before.owner(k) === after.owner(k)) continue;
    moved++;
    assertEquals(after.owner(k), "10.0.0.4:4317", "a moved key goes to the new backend only");
  }
  const share = moved / all.length;
  assert(share > 0.2 && share < 0.3, `moved share ${share} is about 1/4`);
});

Deno.test("removing a backend moves only its keys", () => {
  const before = buildRing(["a:1", "b:1", "c:1"]);
  const after = buildRing(["a:1", "c:1"]);
  for (const k of keys(10_000)) {
    if (before.owner(k) !== "b:1") assertEquals(after.owner(k), before.owner(k));
  }
});

Deno.test("random trace IDs spread within 5% of even over three backends", () => {
  const ring = buildRing(["127.0.0.1:4317", "127.0.0.1:4318", "127.0.0.1:4319"]);
  const counts = new Map<string, number>();
  const n = 60_000;
  for (let i = 0; i < n; i++) {
    const owner = ring.owner(hashBytes(crypto.getRandomValues(new Uint8Array(16))))!;
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  for (const [owner, count] of counts) {
    assert(Math.abs(count / (n / 3) - 1) < 0.05, `${owner} got ${count} of ${n}`);
  }
});

function tracesOf(traceIds: number[], spansPerTrace: number): TracesData {
  const spans = traceIds.flatMap((t) =>
    Array.from({ length: spansPerTrace }, (_, i) =>
      newSpan({
        traceId: new Uint8Array(16).fill(t),
        spanId: new Uint8Array(8).fill(i + 1),
        name: `s${t}.${i}`,
      }))
  );
  return {
    resourceSpans: [{
      resource: newResource({ attributes: [{ key: "service.name", value: "svc" }] }),
      schemaUrl: "",
      scopeSpans: [{ scope: newScope({ name: "lib" }), schemaUrl: "", spans }],
    }],
  };
}

Deno.test("traces split by trace ID keep each trace whole and keep resource and scope", () => {
  const ring = buildRing(["a:1", "b:1", "c:1"]);
  const data = tracesOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3);
  const parts = splitByOwner("traces", data, "traceID", (h) => ring.owner(h)!);
  let total = 0;
  const ownerOfTrace = new Map<number, string>();
  for (const [owner, part] of parts) {
    for (const rs of part.resourceSpans) {
      assertEquals(rs.resource, data.resourceSpans[0]!.resource);
      for (const ss of rs.scopeSpans) {
        assertEquals(ss.scope.name, "lib");
        for (const span of ss.spans) {
          total++;
          const t = span.traceId[0]!;
          assertEquals(ownerOfTrace.get(t) ?? owner, owner, `trace ${t} has one owner`);
          ownerOfTrace.set(t, owner);
          assertEquals(owner, ring.owner(hashBytes(span.traceId)));
        }
      }
    }
  }
  assertEquals(total, 30);
  assert(parts.size > 1, "ten traces reach more than one backend");
});

Deno.test("traces split by service send a resource entry whole", () => {
  const ring = buildRing(["a:1", "b:1"]);
  const data = tracesOf([1, 2, 3], 2);
  const parts = splitByOwner("traces", data, "service", (h) => ring.owner(h)!);
  assertEquals([...parts.keys()], [ring.owner(hashString("svc"))]);
  assertEquals([...parts.values()][0]!.resourceSpans[0], data.resourceSpans[0]);
});

Deno.test("metrics split by streamID send each data point stream to its owner", () => {
  const ring = buildRing(["a:1", "b:1", "c:1"]);
  const data: MetricsData = {
    resourceMetrics: [{
      resource: newResource({ attributes: [{ key: "service.name", value: "svc" }] }),
      schemaUrl: "",
      scopeMetrics: [{
        scope: newScope({ name: "lib" }),
        schemaUrl: "",
        metrics: [{
          name: "m",
          description: "",
          unit: "",
          metadata: [],
          data: {
            type: "gauge",
            dataPoints: Array.from({ length: 30 }, (_, i) => ({
              attributes: [{ key: "k", value: `v${i % 10}` }],
              startTimeUnixNano: 0n,
              timeUnixNano: BigInt(i),
              value: i,
              exemplars: [],
              flags: 0,
            })),
          },
        }],
      }],
    }],
  };
  const parts = splitByOwner("metrics", data, "streamID", (h) => ring.owner(h)!);
  const ownerOfStream = new Map<string, string>();
  let points = 0;
  for (const [owner, part] of parts) {
    for (const metric of part.resourceMetrics[0]!.scopeMetrics[0]!.metrics) {
      assertEquals(metric.name, "m");
      for (const p of metric.data!.dataPoints) {
        points++;
        const v = String(p.attributes[0]!.value);
        assertEquals(ownerOfStream.get(v) ?? owner, owner);
        ownerOfStream.set(v, owner);
      }
    }
  }
  assertEquals(points, 30);
  assertEquals(ownerOfStream.size, 10);
  assertEquals(data.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.data!.dataPoints.length, 30);
  const byName = splitByOwner("metrics", data, "metric", (h) => ring.owner(h)!);
  assertEquals([...byName.keys()], [ring.owner(hashString("m"))]);
});

Deno.test("logs split by trace ID keep a trace's records together; records without one still go somewhere", () => {
  const ring = buildRing(["a:1", "b:1", "c:1"]);
  const records = Array.from({ length: 60 }, (_, i) =>
    newLogRecord({
      body: `r${i}`,
      traceId: i < 40 ? new Uint8Array(16).fill((i % 8) + 1) : new Uint8Array(0),
    }));
  const data: LogsData = {
    resourceLogs: [{
      resource: newResource(),
      schemaUrl: "",
      scopeLogs: [{ scope: newScope({ name: "lib" }), schemaUrl: "", logRecords: records }],
    }],
  };
  const parts = splitByOwner("logs", data, "traceID", (h) => ring.owner(h)!);
  let total = 0;
  for (const [owner, part] of parts) {
    for (const record of part.resourceLogs[0]!.scopeLogs[0]!.logRecords) {
      total++;
      if (record.traceId.length > 0) assertEquals(owner, ring.owner(hashBytes(record.traceId)));
    }
  }
  assertEquals(total, 60);
  const byService = splitByOwner("logs", data, "service", (h) => ring.owner(h)!);
  assertEquals([...byService.keys()], [ring.owner(hashString(""))]);
});
