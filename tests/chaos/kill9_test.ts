/**
 * The chaos story of issue 4: an agent tfo (otlp → batch → otlphttp with its sending queue in
 * `file_storage`, retrying forever) forwards to a collector tfo (otlp → otlphttp, no queue) that
 * hands every span to a recording sink in this test. A load generator sends spans with unique
 * names to the agent the whole time and remembers every name the agent acknowledged.
 *
 * 1. The collector is down: the agent queues on disk. SIGKILL the agent while it holds queued
 *    data, restart it.
 * 2. The collector comes up behind a slow sink: the agent drains. SIGKILL it while draining
 *    (requests in flight), restart it, make the sink fast.
 * 3. SIGKILL it once more under steady load, restart it.
 * 4. Stop the load; every acknowledged name must reach the sink at least once. Duplicates
 *    (at-least-once delivery after a crash) are counted and reported.
 *
 * The agent's batch processor is its last processor in front of a queued exporter, so it hands its
 * batching to the persistent queue (issue 9): requests are acknowledged once on disk and merged into
 * batches behind the queue, which the sink sees as fewer, larger requests.
 *
 * Loopback only, bounded by deadlines (about 40 s on a 2-core machine), stops by itself.
 */
import assert from "node:assert/strict";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { agentConfig, collectorConfig } from "../fixtures/chaos/configs.ts";
import { startIdLoad } from "../fixtures/chaos/id_load.ts";
import { startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";
import { metricValue, scrape, startTfo, type TfoProcess } from "../fixtures/chaos/tfo_process.ts";

const QUEUE = { exporter: "otlphttp", data_type: "traces" };
/** How long each part of the collector's outage lasts (time passing is the point here). */
const OUTAGE_MS = 3000;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test({
  name: "agent with a persistent queue loses nothing it acknowledged through outages and kill -9",
  sanitizeResources: true,
  sanitizeOps: true,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-chaos-" });
  const sink = startRecordingSink();
  const ports = {
    agent: freePort(),
    agentMetrics: freePort(),
    collector: freePort(),
    collectorMetrics: freePort(),
  };
  const agentYaml = agentConfig({
    httpPort: ports.agent,
    metricsPort: ports.agentMetrics,
    storageDir: `${dir}/storage`,
    backendUrl: `http://127.0.0.1:${ports.collector}`,
    queue: { num_consumers: 2, queue_size: 100000 },
  });
  const collectorYaml = collectorConfig({
    httpPort: ports.collector,
    metricsPort: ports.collectorMetrics,
    sinkUrl: `http://127.0.0.1:${sink.port}`,
  });
  const log = (line: string) =>
    console.log(`[chaos ${(performance.now() / 1000).toFixed(1)}s] ${line}`);
  const queueSize = async () => {
    const text = await scrape(ports.agentMetrics);
    return text === undefined ? undefined : metricValue(text, "otelcol_exporter_queue_size", QUEUE);
  };

  let agent: TfoProcess | undefined;
  let collector: TfoProcess | undefined;
  const load = startIdLoad({ url: `http://127.0.0.1:${ports.agent}`, workers: 2, pauseMs: 20 });
  const kills: string[] = [];
  const restart = async () => {
    agent = await startTfo("agent", dir, agentYaml);
  };
  const kill9 = async (why: string) => {
    const held = await queueSize();
    await agent!.killHard();
    kills.push(`${why}: queue held ${held} batches, sink had ${sink.requests()} requests`);
    log(`SIGKILL agent (${kills.at(-1)})`);
    return held ?? 0;
  };
  try {
    await restart();

    // 1. Collector down for a while: the agent queues on disk; kill it while it holds data.
    await pause(OUTAGE_MS);
    await waitFor(
      "the agent to queue 10 batches",
      async () => (await queueSize() ?? 0) >= 10,
      20_000,
      100,
    );
    const heldAtFirstKill = await kill9("collector down, data queued");
    assert.ok(
      heldAtFirstKill >= 10,
      `the first kill hits a queue holding data (${heldAtFirstKill})`,
    );
    assert.equal(sink.requests(), 0, "nothing reached the sink while the collector was down");
    await restart();
    await waitFor(
      "the restarted agent to queue more",
      async () => (await queueSize() ?? 0) > heldAtFirstKill,
      20_000,
      100,
    );
    await pause(OUTAGE_MS);

    // 2. Collector up behind a slow sink: kill the agent while it drains.
    sink.delayMs = 300;
    collector = await startTfo("collector", dir, collectorYaml);
    await waitFor(
      "the agent to be draining",
      async () => {
        const size = await queueSize() ?? 0;
        return sink.requests() >= 3 && size >= 5;
      },
      20_000,
      50,
    );
    const heldAtSecondKill = await kill9("draining to the collector");
    assert.ok(heldAtSecondKill >= 5, `the second kill hits a draining queue (${heldAtSecondKill})`);
    await restart();
    sink.delayMs = 0;

    // 3. Steady load with everything up: kill once more.
    await waitFor(
      "the agent to catch up",
      async () => (await queueSize() ?? Infinity) <= 2,
      30_000,
      100,
    );
    await pause(1000);
    await kill9("steady load");
    await restart();
    await pause(1000);

    // 4. Stop the load; everything acknowledged must arrive.
    await load.stop();
    const acked = [...load.acked];
    const missing = () => acked.filter((id) => !sink.received.has(id));
    await waitFor(
      "every acknowledged span to reach the sink",
      () => missing().length === 0,
      30_000,
      100,
    )
      .catch(() => {});
    const lost = missing();
    let duplicates = 0;
    let duplicatedIds = 0;
    for (const count of sink.received.values()) {
      if (count > 1) {
        duplicates += count - 1;
        duplicatedIds++;
      }
    }
    const unacked = [...sink.received.keys()].filter((id) => !load.acked.has(id)).length;
    const summary = `sent ${load.sentCount()} spans, acknowledged ${acked.length}, ` +
      `arrived ${sink.received.size} distinct (${unacked} of them never acknowledged), ` +
      `lost ${lost.length}, duplicates ${duplicates} (${duplicatedIds} spans arrived more than ` +
      `once); answers ${JSON.stringify(Object.fromEntries(load.outcomes))}; kills: ${
        kills.join("; ")
      }`;
    log(summary);
    assert.equal(
      lost.length,
      0,
      `Every span the agent acknowledged must arrive: ${summary}; first lost: ` +
        lost.slice(0, 10).join(", "),
    );
    assert.ok(acked.length > 1000, `the load was acknowledged often enough: ${summary}`);
    const ackedRequests = load.outcomes.get("200") ?? 0;
    assert.ok(
      sink.requests() < ackedRequests,
      `the queue merged requests into batches (${sink.requests()} sent for ${ackedRequests})`,
    );
    assert.equal(kills.length, 3);
  } finally {
    await load.stop();
    if (agent !== undefined && !agent.dead) {
      const code = await agent.stop();
      if (code !== 0) console.error(`agent exited ${code}:\n${agent.tail()}`);
    }
    if (collector !== undefined) await collector.stop();
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});
