/**
 * A full disk through a real agent process: otlp receiver → otlphttp exporter whose persistent
 * queue lives on a 16 MiB tmpfs (a 2 MiB reserve, the default byte bound derived from the free
 * space) → a recording sink. Needs root (mount); skipped with a message otherwise.
 *
 * The story: the backend is down and requests are accepted; a junk file fills the volume; the agent
 * answers 503 with `Retry-After` (gRPC: `UNAVAILABLE` with `RetryInfo`); the backend comes up and
 * the queue drains while the volume is still full; the junk is removed and new requests are
 * accepted again; every accepted span arrives exactly once; a restart of the agent on the same
 * storage re-sends nothing.
 */
import assert from "node:assert/strict";
import { GrpcCallError, GrpcClient } from "../../lib/net/grpc_client.ts";
import { decodeRpcStatus, GrpcCode } from "../../lib/net/rpc_status.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { agentConfig } from "../fixtures/chaos/configs.ts";
import { tracesRequest } from "../fixtures/chaos/id_load.ts";
import { type RecordingSink, startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";
import { metricValue, scrape, startTfo, type TfoProcess } from "../fixtures/chaos/tfo_process.ts";

const QUEUE = { exporter: "otlphttp", data_type: "traces" };
const TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

async function run(cmd: string, ...args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Writes `path` until the volume is full. */
async function fillVolume(path: string): Promise<void> {
  const block = crypto.getRandomValues(new Uint8Array(65_536));
  const file = await Deno.open(path, { write: true, create: true, append: true });
  try {
    for (let i = 0; i < 100_000; i++) {
      try {
        await file.write(block);
      } catch {
        break; // ENOSPC
      }
    }
  } finally {
    file.close();
  }
  for (const size of [16_384, 4096, 512]) {
    await Deno.writeFile(path, block.subarray(0, size), { append: true }).catch(() => {});
  }
}

/** A unique span name that compresses poorly (random base64 after a readable tag). */
function noisyName(tag: string): string {
  const noise = crypto.getRandomValues(new Uint8Array(600));
  return `${tag}-${btoa(String.fromCharCode(...noise))}`;
}

interface Answer {
  status: number;
  retryAfter: string | null;
}

async function send(port: number, names: string[]): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
    method: "POST",
    body: tracesRequest(names),
    headers: { "content-type": "application/x-protobuf" },
  });
  await response.body?.cancel();
  return { status: response.status, retryAfter: response.headers.get("retry-after") };
}

Deno.test({
  name: "a full disk makes the agent answer 503 with Retry-After, then recover and re-send nothing",
  ignore: Deno.build.os !== "linux",
  async fn() {
    if (Deno.uid() !== 0) {
      console.log("skipped: mounting a tmpfs needs root");
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "tfo-diskfull-" });
    const storage = `${dir}/storage`;
    await Deno.mkdir(storage);
    if (!await run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", storage)) {
      await Deno.remove(dir, { recursive: true });
      console.log("skipped: mount -t tmpfs is not permitted here");
      return;
    }
    const junk = `${storage}/junk`;
    const ports = { http: freePort(), grpc: freePort(), metrics: freePort(), backend: freePort() };
    const config = agentConfig({
      httpPort: ports.http,
      grpcPort: ports.grpc,
      metricsPort: ports.metrics,
      storageDir: storage,
      backendUrl: `http://127.0.0.1:${ports.backend}`,
      batch: false,
      queue: { num_consumers: 2, queue_size: 1000 },
    }).replace("    create_directory: true\n", "    create_directory: true\n    reserve_mib: 2\n");
    assert.match(config, /reserve_mib: 2/);
    let agent: TfoProcess | undefined;
    let sink: RecordingSink | undefined;
    const grpc = new GrpcClient({
      target: `127.0.0.1:${ports.grpc}`,
      tls: undefined,
      compression: "none",
    });
    try {
      agent = await startTfo("agent", dir, config);
      const accepted: string[] = [];
      const statuses = new Map<number, number>();
      let n = 0;
      const batch = () => Array.from({ length: 10 }, (_, i) => noisyName(`full-${n}-${i}`));
      const offer = async (): Promise<Answer> => {
        const names = batch();
        n++;
        const answer = await send(ports.http, names);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status === 200) accepted.push(...names);
        return answer;
      };

      // The backend is down: requests are queued on disk.
      for (let i = 0; i < 20; i++) assert.equal((await offer()).status, 200);

      // The volume fills: 503 with Retry-After.
      await fillVolume(junk);
      let refused: Answer | undefined;
      for (let i = 0; i < 100 && refused === undefined; i++) {
        const answer = await offer();
        if (answer.status !== 200) refused = answer;
      }
      assert.ok(refused !== undefined, "the agent refused nothing on a full volume");
      assert.equal(refused.status, 503);
      assert.equal(refused.retryAfter, "2");
      for (let i = 0; i < 3; i++) {
        const answer = await offer();
        assert.deepEqual(answer, { status: 503, retryAfter: "2" }, "refused while full");
      }
      // A gRPC client gets UNAVAILABLE with RetryInfo.
      const grpcError = await grpc.unary(TRACE_EXPORT, tracesRequest([noisyName("grpc")]), {
        timeoutMs: 10_000,
      }).then(() => undefined, (error: unknown) => error);
      assert.ok(grpcError instanceof GrpcCallError, `gRPC refused: ${grpcError}`);
      assert.equal(grpcError.code, GrpcCode.UNAVAILABLE, grpcError.details);
      const details = grpcError.statusDetails && decodeRpcStatus(grpcError.statusDetails);
      assert.equal(details?.retryAfterMs, 2000, "RetryInfo carries the delay");

      // The backend comes up: the queue drains, though the volume is still full.
      sink = startRecordingSink(ports.backend);
      const missing = () => accepted.filter((name) => !sink!.received.has(name));
      await waitFor("the queue to drain while full", () => missing().length === 0, 30_000, 100);

      // Space returns: new data is accepted again.
      await Deno.remove(junk);
      await waitFor(
        "a request to be accepted again",
        async () => (await offer()).status === 200,
        30_000,
        250,
      );
      for (let i = 0; i < 10; i++) assert.equal((await offer()).status, 200, "accepted again");
      await waitFor("every accepted span to arrive", () => missing().length === 0, 30_000, 100);
      await waitFor(
        "the queue to be empty",
        async () =>
          metricValue((await scrape(ports.metrics)) ?? "", "otelcol_exporter_queue_size", QUEUE) ===
            0,
        10_000,
        100,
      );
      const report = `${n} requests, answers ${JSON.stringify(Object.fromEntries(statuses))}, ` +
        `${accepted.length} spans accepted, ${sink.requests()} backend requests`;
      console.log(report);
      for (const name of accepted) {
        assert.equal(sink.received.get(name), 1, `delivered exactly once: ${report}`);
      }
      assert.equal(sink.received.size, accepted.length, `nothing refused arrived: ${report}`);
      const code = await agent.stop();
      assert.equal(code, 0, agent.tail());

      // A restart on the same storage sends nothing again.
      const requestsBefore = sink.requests();
      agent = await startTfo("agent", dir, config);
      assert.doesNotMatch(agent.tail(), /Resuming the persistent sending queue/);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(sink.requests(), requestsBefore, `re-sent after a restart: ${agent.tail()}`);
      assert.equal((await offer()).status, 200, "and it accepts data");
      await waitFor("the last request to arrive", () => missing().length === 0, 30_000, 100);
    } finally {
      grpc.close();
      if (agent !== undefined && !agent.dead) {
        const code = await agent.stop();
        if (code !== 0) console.error(`agent exited ${code}:\n${agent.tail()}`);
      }
      await sink?.close();
      await run("umount", storage);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
