/**
 * Kafka decouples the tiers (issue 14): an agent tfo (otlp → kafka exporter, records without key
 * spread round-robin over 4 partitions) writes to a real broker (Kafka 4.1.1, KRaft); two collector tfos in one
 * consumer group (kafka receiver, offsets marked only after the pipeline accepted → otlphttp with no
 * queue) read it and hand every span to a recording sink in this test. A load generator sends spans
 * with unique names to the agent the whole time.
 *
 * 1. Both collectors take part: each accepts spans (the group shared the partitions).
 * 2. SIGKILL one collector mid-stream. The group gives its partitions to the other after the
 *    session timeout; it reads them from the last committed offset.
 * 3. Stop the load: every span the agent acknowledged reaches the sink at least once; duplicates
 *    (records read again after the kill) are counted and reported.
 *
 * Loopback only, bounded by deadlines, stops by itself. Skipped, saying so, without Kafka.
 */
import assert from "node:assert/strict";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { startIdLoad } from "../fixtures/chaos/id_load.ts";
import { startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";
import { metricValue, scrape, startTfo, type TfoProcess } from "../fixtures/chaos/tfo_process.ts";
import { KAFKA_MISSING, startKafka } from "../fixtures/kafka.ts";

if (KAFKA_MISSING !== undefined) console.log(`kafka_group_test: skipped: ${KAFKA_MISSING}`);

function agentYaml(bootstrap: string, httpPort: number, metricsPort: number): string {
  return `
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:${httpPort} }
exporters:
  kafka:
    brokers: [${bootstrap}]
    traces: { topic: chaos_spans }
    producer: { required_acks: -1 }
    retry_on_failure: { initial_interval: 100ms, max_interval: 1s, max_elapsed_time: 0s }
    sending_queue: { enabled: false }
service:
  telemetry:
    metrics: { address: 127.0.0.1:${metricsPort} }
  pipelines:
    traces: { receivers: [otlp], exporters: [kafka] }
`;
}

function collectorYaml(bootstrap: string, sinkPort: number, metricsPort: number): string {
  return `
receivers:
  kafka:
    brokers: [${bootstrap}]
    group_id: chaos-collectors
    initial_offset: earliest
    session_timeout: 6s
    heartbeat_interval: 1s
    traces: { topics: [chaos_spans] }
    message_marking: { after: true }
    autocommit: { enable: true, interval: 200ms }
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${sinkPort}
    compression: none
    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s }
    sending_queue: { enabled: false }
service:
  telemetry:
    metrics: { address: 127.0.0.1:${metricsPort} }
  pipelines:
    traces: { receivers: [kafka], exporters: [otlphttp] }
`;
}

async function acceptedSpans(port: number): Promise<number> {
  const text = await scrape(port);
  if (text === undefined) return 0;
  return metricValue(text, "otelcol_receiver_accepted_spans", { transport: "kafka" }) ?? 0;
}

Deno.test({
  name: "kafka: two collectors in a group share partitions; kill -9 of one loses nothing",
  ignore: KAFKA_MISSING !== undefined,
  sanitizeResources: true,
  sanitizeOps: true,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-kafka-chaos-" });
  await using broker = await startKafka({ partitions: 4 });
  const sink = startRecordingSink();
  const ports = {
    agent: freePort(),
    agentMetrics: freePort(),
    c1Metrics: freePort(),
    c2Metrics: freePort(),
  };
  const processes: TfoProcess[] = [];
  try {
    const c1 = await startTfo(
      "c1",
      dir,
      collectorYaml(broker.bootstrap, sink.port, ports.c1Metrics),
    );
    processes.push(c1);
    const c2 = await startTfo(
      "c2",
      dir,
      collectorYaml(broker.bootstrap, sink.port, ports.c2Metrics),
    );
    processes.push(c2);
    const agent = await startTfo(
      "agent",
      dir,
      agentYaml(broker.bootstrap, ports.agent, ports.agentMetrics),
    );
    processes.push(agent);
    const load = startIdLoad({
      url: `http://127.0.0.1:${ports.agent}`,
      prefix: "k",
      spansPerRequest: 10,
      workers: 2,
      pauseMs: 10,
    });
    try {
      await waitFor(
        "both collectors to accept spans",
        async () =>
          (await acceptedSpans(ports.c1Metrics)) > 0 && (await acceptedSpans(ports.c2Metrics)) > 0,
        90_000,
        250,
      );
      await c1.killHard();
      const c2Before = await acceptedSpans(ports.c2Metrics);
      // The survivor takes the dead member's partitions once its session expired.
      await new Promise((r) => setTimeout(r, 9000));
      await waitFor(
        "the survivor to keep reading",
        async () => (await acceptedSpans(ports.c2Metrics)) > c2Before,
        30_000,
        250,
      );
    } finally {
      await load.stop();
    }
    const missing = () => [...load.acked].filter((name) => !sink.received.has(name));
    await waitFor(
      `every acknowledged span at the sink (${load.acked.size} acknowledged)`,
      () => missing().length === 0,
      90_000,
      250,
    ).catch((error) => {
      throw new Error(
        `${error.message}; missing ${missing().length}, e.g. ${missing().slice(0, 5)}`,
      );
    });
    let duplicates = 0;
    for (const name of load.acked) duplicates += (sink.received.get(name) ?? 1) - 1;
    console.log(
      `kafka group: ${load.acked.size} spans acknowledged, all delivered, ${duplicates} duplicates`,
    );
    assert.ok(load.acked.size > 0);
  } finally {
    for (const p of processes.reverse()) await p.stop(10_000);
    await sink.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
