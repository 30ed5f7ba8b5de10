/**
 * How the kafka exporter turns payloads into records, without a broker: pass-through bytes,
 * partition keys by trace ID and by resource, topics from a resource attribute, JSON, and splitting
 * records that are over `producer.max_message_bytes`.
 */
import assert from "node:assert/strict";
import { kafkaExporterConfigSchema } from "../../../../components/exporter/kafka/config.ts";
import { recordsOf, resourceKey } from "../../../../components/exporter/kafka/messages.ts";
import {
  decodeLogsRequest,
  decodeTracesRequest,
  encodeTracesRequest,
  TRACES_PROTO,
} from "../../../../lib/otlp/mod.ts";
import { newLogRecord, newResource, newScope, newSpan } from "../../../../lib/pdata/new.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { LogsData, TracesData } from "../../../../lib/pdata/types.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function config(extra: Record<string, unknown> = {}) {
  return kafkaExporterConfigSchema.parse(extra);
}

const id = (n: number) => Uint8Array.from({ length: 16 }, () => n);

function traces(resources: { service: string; traceIds: number[]; pad?: number }[]): TracesData {
  return {
    resourceSpans: resources.map((r) => ({
      resource: newResource({
        attributes: [{ key: "service.name", value: r.service }, { key: "topic", value: r.service }],
      }),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope({ name: "s" }),
        schemaUrl: "",
        spans: r.traceIds.map((t, i) =>
          newSpan({
            traceId: id(t),
            spanId: id(i + 1).subarray(0, 8),
            name: `${r.service}-${i}`,
            attributes: r.pad === undefined ? [] : [{ key: "pad", value: "x".repeat(r.pad) }],
          })
        ),
      }],
    })),
  };
}

const spanNames = (bytes: Uint8Array) =>
  decodeTracesRequest(bytes).resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))
  );

Deno.test("kafka records: encoded payloads go out as the bytes they arrived as", () => {
  const bytes = encodeTracesRequest(traces([{ service: "a", traceIds: [1, 2] }]));
  const payload = Payload.fromProto("traces", bytes, TRACES_PROTO);
  const { records, tooLarge } = recordsOf(config(), payload);
  assert.equal(tooLarge, 0);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.value, bytes);
  assert.equal(records[0]!.topic, "otlp_spans");
  assert.equal(records[0]!.key, undefined);
});

Deno.test("kafka records: partition_traces_by_id makes one record per trace, keyed in hex", () => {
  const data = traces([{ service: "a", traceIds: [1, 2, 1] }, { service: "b", traceIds: [2, 3] }]);
  const { records } = recordsOf(
    config({ partition_traces_by_id: true }),
    Payload.of("traces", data),
  );
  const byKey = new Map(records.map((r) => [new TextDecoder().decode(r.key), r]));
  assert.deepEqual([...byKey.keys()].sort(), ["01", "02", "03"].map((h) => h.repeat(16)));
  assert.deepEqual(spanNames(byKey.get("01".repeat(16))!.value), ["a-0", "a-2"]);
  assert.deepEqual(spanNames(byKey.get("02".repeat(16))!.value), ["a-1", "b-0"]);
  assert.equal(records.reduce((n, r) => n + r.items, 0), 5);
});

Deno.test("kafka records: resource keys and topic_from_attribute group by resource", () => {
  const data = traces([{ service: "x", traceIds: [1] }, { service: "y", traceIds: [2] }]);
  const { records } = recordsOf(
    config({ topic_from_attribute: "topic" }),
    Payload.of("traces", data),
  );
  assert.deepEqual(records.map((r) => r.topic).sort(), ["x", "y"]);
  const r1 = newResource({ attributes: [{ key: "a", value: 1n }, { key: "b", value: "2" }] });
  const r2 = newResource({ attributes: [{ key: "b", value: "2" }, { key: "a", value: 1n }] });
  assert.equal(resourceKey(r1), resourceKey(r2), "attribute order does not change the key");
  assert.notEqual(resourceKey(r1), resourceKey(newResource()));
});

Deno.test("kafka records: logs by trace ID keep records without one together, unkeyed", () => {
  const logs: LogsData = {
    resourceLogs: [{
      resource: newResource(),
      schemaUrl: "",
      scopeLogs: [{
        scope: newScope(),
        schemaUrl: "",
        logRecords: [
          newLogRecord({ body: "a", traceId: id(7) }),
          newLogRecord({ body: "b" }),
          newLogRecord({ body: "c", traceId: id(7) }),
          newLogRecord({ body: "d" }),
        ],
      }],
    }],
  };
  const { records } = recordsOf(
    config({ partition_logs_by_trace_id: true }),
    Payload.of("logs", logs),
  );
  const bodies = records.map((r) => ({
    key: r.key === undefined ? undefined : new TextDecoder().decode(r.key),
    bodies: decodeLogsRequest(r.value).resourceLogs[0]!.scopeLogs[0]!.logRecords.map((l) => l.body),
  }));
  assert.deepEqual(bodies, [
    { key: "07".repeat(16), bodies: ["a", "c"] },
    { key: undefined, bodies: ["b", "d"] },
  ]);
});

Deno.test("kafka records: over max_message_bytes a payload is split by items; one item too big is left out", () => {
  const data = traces([{ service: "a", traceIds: [1, 1, 1, 1, 1, 1, 1, 1], pad: 1000 }]);
  const bytes = encodeTracesRequest(data);
  const { records, tooLarge } = recordsOf(
    config({ producer: { max_message_bytes: 2500 } }),
    Payload.fromProto("traces", bytes, TRACES_PROTO),
  );
  assert.equal(tooLarge, 0);
  assert.ok(records.length >= 4, `${records.length} records`);
  assert.ok(records.every((r) => r.value.length <= 2500));
  assert.deepEqual(
    records.flatMap((r) => spanNames(r.value)),
    data.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name),
  );
  const huge = traces([{ service: "a", traceIds: [1], pad: 5000 }, {
    service: "b",
    traceIds: [2],
  }]);
  const split = recordsOf(
    config({ producer: { max_message_bytes: 2500 } }),
    Payload.of("traces", huge),
  );
  assert.equal(split.tooLarge, 1);
  assert.deepEqual(split.records.flatMap((r) => spanNames(r.value)), ["b-0"]);
});

Deno.test("kafka records: otlp_json values are OTLP/JSON", () => {
  const data = traces([{ service: "a", traceIds: [1] }]);
  const { records } = recordsOf(
    config({ traces: { encoding: "otlp_json" } }),
    Payload.of("traces", data),
  );
  const json = JSON.parse(new TextDecoder().decode(records[0]!.value));
  assert.equal(json.resourceSpans[0].scopeSpans[0].spans[0].name, "a-0");
});

Deno.test("kafka config: unknown keys, unsupported encodings and exclusive partitioning are refused", () => {
  for (
    const bad of [
      { traces: { encoding: "jaeger_proto" } },
      { partition_logs_by_resource_attributes: true, partition_logs_by_trace_id: true },
      { record_partitioner: { round_robin: {} } },
      { auth: { kerberos: {} } },
      { producer: { linger: "10ms" } },
      { brokers: ["no-port"] },
    ]
  ) {
    assert.equal(kafkaExporterConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  const ok = config({});
  assert.deepEqual(ok.brokers, ["localhost:9092"]);
  assert.equal(ok.logs.topic, "otlp_logs");
  assert.equal(ok.producer.max_message_bytes, 1_000_000);
});
