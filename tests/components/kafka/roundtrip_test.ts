/**
 * The kafka exporter and receiver against a real broker (Kafka 4.1.1, KRaft; see
 * tests/fixtures/kafka.ts): telemetry from the OpenTelemetry JS SDK goes into one tfo (otlp →
 * `kafka` exporter), through Kafka, out of another tfo (`kafka` receiver → recorder), and must come
 * out equal to what the SDK sent, for every signal, encoding and compression. Partitioning by trace
 * ID keys each record by its trace; request metadata travels as record headers. Faults: the broker
 * down while the exporter's queue holds data (it arrives once the broker is back), and a record the
 * broker refuses as too large (permanent, counted, never a crash). Skipped, saying so, without
 * Kafka.
 */
import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import { Consumer, Producer } from "@platformatic/kafka";
import { makeBatch, sdkExport } from "../../fixtures/interop/sdk_data.ts";
import {
  concatData,
  normalize,
  recorded,
  type RunningService,
  startService,
  waitFor,
} from "../../fixtures/interop/services.ts";
import { KAFKA_MISSING, type KafkaBroker, startKafka } from "../../fixtures/kafka.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { tracesRequest } from "../../fixtures/chaos/id_load.ts";

if (KAFKA_MISSING !== undefined) console.log(`kafka roundtrip_test: skipped: ${KAFKA_MISSING}`);

const SIGNALS: readonly Signal[] = ["traces", "metrics", "logs"];
let broker: KafkaBroker | undefined;
let run = 0;

async function kafka(): Promise<KafkaBroker> {
  broker ??= await startKafka({ partitions: 4 });
  return broker;
}

/** A producing tfo: otlp (HTTP) → kafka exporter with `exporterYaml` lines. */
function producer(
  bootstrap: string,
  prefix: string,
  exporterYaml: string[],
  encoding = "otlp_proto",
): Promise<RunningService> {
  return startService([
    "receivers:",
    "  otlp:",
    "    protocols:",
    "      http: { endpoint: 127.0.0.1:0, include_metadata: true }",
    "exporters:",
    "  kafka:",
    `    brokers: [${bootstrap}]`,
    `    traces: { topic: ${prefix}_spans, encoding: ${encoding} }`,
    `    metrics: { topic: ${prefix}_metrics, encoding: ${encoding} }`,
    `    logs: { topic: ${prefix}_logs, encoding: ${encoding} }`,
    "    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s }",
    ...exporterYaml.map((l) => `    ${l}`),
    "service:",
    "  pipelines:",
    ...SIGNALS.map((s) => `    ${s}: { receivers: [otlp], exporters: [kafka] }`),
  ].join("\n"));
}

/** A consuming tfo: kafka receiver (a group of its own, from the start) → recorder. */
function consumer(
  bootstrap: string,
  prefix: string,
  encoding = "otlp_proto",
  receiverYaml: string[] = [],
): Promise<RunningService> {
  return startService([
    "receivers:",
    "  kafka:",
    `    brokers: [${bootstrap}]`,
    `    group_id: group-${prefix}`,
    "    initial_offset: earliest",
    "    session_timeout: 6s",
    "    heartbeat_interval: 1s",
    `    traces: { topics: [${prefix}_spans], encoding: ${encoding} }`,
    `    metrics: { topic: ${prefix}_metrics, encoding: ${encoding} }`,
    `    logs: { topics: [${prefix}_logs], encoding: ${encoding} }`,
    "    message_marking: { after: true }",
    ...receiverYaml.map((l) => `    ${l}`),
    "exporters:",
    "  recorder:",
    "service:",
    "  pipelines:",
    ...SIGNALS.map((s) => `    ${s}: { receivers: [kafka], exporters: [recorder] }`),
  ].join("\n"));
}

function httpBase(service: RunningService): string {
  return `http://127.0.0.1:${service.port("otlp", "http")}`;
}

async function roundTrip(exporterYaml: string[], encoding: string): Promise<void> {
  const { bootstrap } = await kafka();
  const prefix = `rt${run++}`;
  await using out = await consumer(bootstrap, prefix, encoding);
  await using into = await producer(bootstrap, prefix, exporterYaml, encoding);
  for (const signal of SIGNALS) {
    const batch = await makeBatch(signal);
    await sdkExport(batch, "http/protobuf", { httpBase: httpBase(into), grpcAddress: "" });
    const got = await waitFor(
      `${signal} out of Kafka`,
      () => {
        const parts = recorded(out.kit, "recorder", signal);
        return parts.length > 0 ? parts : undefined;
      },
      60_000,
      50,
    );
    assert.deepEqual(
      normalize(concatData(signal, got)),
      normalize(batch.expected),
      `${signal} (${exporterYaml.join(" ")})`,
    );
  }
}

Deno.test({
  name: "kafka: SDK data → tfo → Kafka → tfo arrives unchanged, every encoding and compression",
  ignore: KAFKA_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"]) {
      await roundTrip(["producer: { compression: " + compression + " }"], "otlp_proto");
    }
    await roundTrip([], "otlp_json");
  },
});

Deno.test({
  name: "kafka: partition_traces_by_id keys one record per trace; metadata becomes headers",
  ignore: KAFKA_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { bootstrap } = await kafka();
    const prefix = `part${run++}`;
    await using into = await producer(bootstrap, prefix, [
      "partition_traces_by_id: true",
      "include_metadata_keys: [x-tenant-id]",
      "record_headers: { origin: edge-7 }",
    ]);
    // Three traces in one request: 3 spans each, interleaved.
    const names = Array.from({ length: 9 }, (_, i) => `span-${i}`);
    const body = tracesRequest(names);
    const { decodeTracesRequest, encodeTracesRequest } = await import("../../../lib/otlp/mod.ts");
    const data = decodeTracesRequest(body);
    const spans = data.resourceSpans[0]!.scopeSpans[0]!.spans;
    spans.forEach((span, i) => span.traceId = Uint8Array.from({ length: 16 }, () => (i % 3) + 1));
    const response = await fetch(`${httpBase(into)}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", "x-tenant-id": "acme" },
      body: encodeTracesRequest(data) as Uint8Array<ArrayBuffer>,
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const raw = new Consumer({
      clientId: "test",
      groupId: `raw-${prefix}`,
      bootstrapBrokers: [bootstrap],
    });
    const seen: {
      key: string;
      partition: number;
      spans: number;
      headers: Record<string, string>;
    }[] = [];
    try {
      const stream = await raw.consume({ topics: [`${prefix}_spans`], mode: "earliest" });
      for await (const message of stream) {
        const spansIn = decodeTracesRequest(new Uint8Array(message.value as Buffer))
          .resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
        const headers: Record<string, string> = {};
        for (const [k, v] of message.headerEntries) headers[String(k)] = String(v);
        seen.push({
          key: String(message.key),
          partition: message.partition,
          spans: spansIn.length,
          headers,
        });
        if (seen.length === 3) break;
      }
      await stream.close();
    } finally {
      await raw.close(true);
    }
    const traceHex = (n: number) => n.toString(16).padStart(2, "0").repeat(16);
    assert.deepEqual(seen.map((s) => s.key).sort(), [1, 2, 3].map(traceHex));
    assert.ok(seen.every((s) => s.spans === 3), JSON.stringify(seen));
    assert.ok(
      seen.every((s) => s.headers["x-tenant-id"] === "acme" && s.headers.origin === "edge-7"),
    );
  },
});

Deno.test({
  name: "kafka: broker down then up: queued data arrives; a record too large is refused for good",
  ignore: KAFKA_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await kafka();
    const prefix = `fault${run++}`;
    await using out = await consumer(b.bootstrap, prefix);
    await using into = await producer(b.bootstrap, prefix, [
      "timeout: 2s",
      "producer: { max_message_bytes: 8MiB }",
    ]);
    const post = (names: string[], pad = 0) =>
      fetch(`${httpBase(into)}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: tracesRequest(names, pad),
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      });
    assert.equal(await post(["before-0"]), 200);
    await waitFor(
      "before-0 out of Kafka",
      () => recorded(out.kit, "recorder", "traces").length > 0,
      60_000,
    );
    await b.kill();
    try {
      // The exporter's queue takes them; sends fail and are retried.
      for (let i = 0; i < 5; i++) assert.equal(await post([`down-${i}`]), 200);
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      await b.start();
    }
    const names = () =>
      recorded(out.kit, "recorder", "traces").flatMap((d) =>
        d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)))
      );
    await waitFor(
      "the queued spans after the broker came back",
      () => [0, 1, 2, 3, 4].every((i) => names().includes(`down-${i}`)),
      120_000,
      100,
    );
    // Over the broker's 1 MiB message.max.bytes, under the exporter's 8 MiB: the broker says no.
    assert.equal(await post(["huge"], 2_000_000), 200);
    const failed = () =>
      into.service.registry.render().match(/otelcol_exporter_send_failed_spans\S* (\d+)/)?.[1];
    await waitFor(
      "the refused record to be counted",
      () => Number(failed() ?? 0) >= 1,
      30_000,
      100,
    );
    assert.equal(await post(["after"]), 200);
    await waitFor("spans after the refusal", () => names().includes("after"), 60_000, 50);
    assert.ok(!names().includes("huge"));
  },
});

Deno.test({
  name: "kafka: a record that is not OTLP is counted as failed and skipped; the next one arrives",
  ignore: KAFKA_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { bootstrap } = await kafka();
    const prefix = `bad${run++}`;
    await using out = await consumer(bootstrap, prefix);
    const raw = new Producer({ clientId: "test", bootstrapBrokers: [bootstrap] });
    try {
      const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
      await raw.send({
        messages: [
          { topic: `${prefix}_spans`, value: garbage as Buffer },
          { topic: `${prefix}_spans`, value: tracesRequest(["good"]) as unknown as Buffer },
        ],
        partitioner: () => 0,
      });
    } finally {
      await raw.close();
    }
    await waitFor(
      "the good record",
      () => recorded(out.kit, "recorder", "traces").length > 0,
      60_000,
    );
    const text = out.service.registry.render();
    assert.match(text, /otelcol_receiver_failed_spans\{[^}]*transport="kafka"[^}]*\} 1\b/);
  },
});

Deno.test({
  name:
    "kafka: a broker that stops answering (SIGSTOP past the deadline) gets the data once it resumes",
  ignore: KAFKA_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await kafka();
    const prefix = `slow${run++}`;
    await using out = await consumer(b.bootstrap, prefix);
    await using into = await producer(b.bootstrap, prefix, ["timeout: 2s"]);
    const post = async (name: string) => {
      const r = await fetch(`${httpBase(into)}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: tracesRequest([name]),
      });
      await r.body?.cancel();
      return r.status;
    };
    const names = () =>
      recorded(out.kit, "recorder", "traces").flatMap((d) =>
        d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)))
      );
    assert.equal(await post("warm"), 200);
    await waitFor("warm out of Kafka", () => names().includes("warm"), 60_000, 50);
    Deno.kill(b.pid!, "SIGSTOP");
    try {
      for (let i = 0; i < 3; i++) assert.equal(await post(`frozen-${i}`), 200);
      // Longer than the exporter's 2 s deadline: attempts time out and are retried.
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      Deno.kill(b.pid!, "SIGCONT");
    }
    await waitFor(
      "the spans sent while the broker was frozen",
      () => [0, 1, 2].every((i) => names().includes(`frozen-${i}`)),
      90_000,
      100,
    );
    const failed = Number(
      into.service.registry.render().match(/otelcol_exporter_send_failed_spans\S* (\d+)/)?.[1] ?? 0,
    );
    assert.equal(failed, 0, "timeouts are retried, not dropped");
  },
});

Deno.test({
  name: "kafka: the broker stops",
  ignore: KAFKA_MISSING !== undefined,
  async fn() {
    await broker?.[Symbol.asyncDispose]();
    broker = undefined;
  },
});
