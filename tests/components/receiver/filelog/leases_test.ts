/**
 * The filelog receiver's pooled request buffers are reused only once nothing downstream can read
 * them: not while a batch processor, a fan-out branch, a retrying exporter or a persistent queue
 * still holds them. Each test reads a file of distinct lines through a strict pool that keeps few
 * free buffers (so a buffer given back too early is written again at once), checks that the pool
 * did reuse buffers, that every line arrived exactly once with exactly its bytes, and that every
 * buffer came back without a misuse.
 */
import assert from "node:assert/strict";
import type { Host } from "../../../../components/component.ts";
import { createBatchProcessor } from "../../../../components/processor/batch/factory.ts";
import { batchConfigSchema } from "../../../../components/processor/batch/config.ts";
import { type Consumer, retryableError } from "../../../../lib/consumer/consumer.ts";
import {
  createExporterHelper,
  type PushFunc,
  retryOnFailureSchema,
  sendingQueueSchema,
} from "../../../../lib/exporterhelper/exporter_helper.ts";
import { decodeLogsRequest } from "../../../../lib/otlp/logs_proto.ts";
import { BufferPool } from "../../../../lib/pdata/buffer_pool.ts";
import type { Payload } from "../../../../lib/pdata/payload.ts";
import type { LogsData } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { fanout } from "../../../../pipelines/fanout.ts";
import { append, filelog } from "./_kit.ts";
import { kvStorageHost } from "../../../fixtures/queue/kit.ts";
import { assertExactlyOnce, joinedEncodedParts } from "../../../fixtures/leases.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** Distinct lines of ~100 bytes whose every byte depends on the line number. */
function lines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const fill = String.fromCharCode(97 + (i % 26)).repeat(80 + (i % 7));
    return `line ${String(i).padStart(6, "0")} ${fill}`;
  });
}

function bodiesOf(data: LogsData): string[] {
  return data.resourceLogs.flatMap((rl) =>
    rl.scopeLogs.flatMap((sl) => sl.logRecords.map((r) => String(r.body)))
  );
}

/** The bodies of a payload's encoded bytes as they are now (joined, decoded from a copy). */
function encodedBodies(payload: Payload<"logs">): string[] {
  return bodiesOf(decodeLogsRequest(joinedEncodedParts(payload)));
}

/** Asserts that `got` holds each of `expected` exactly once. */
function exactlyOnce(got: readonly string[], expected: readonly string[], what: string): void {
  assertExactlyOnce(got, expected, what, { plural: "lines", one: "a line", shown: 20 });
}

/** A strict pool that keeps at most two free buffers: a buffer given back is soon written again. */
function strictPool(): BufferPool {
  return new BufferPool({ bufferBytes: 20 * 1024, maxFree: 2, strict: true });
}

/** Reads `expected` from a new file through `consumer`, polling until `done()`. */
async function readThrough(
  expected: readonly string[],
  consumer: Consumer<"logs">,
  pool: BufferPool,
  done: () => boolean,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await append(`${dir}/a.log`, expected.join("\n") + "\n");
    const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, consumer, "filelog", {
      pool,
    });
    // Each poll reads up to 1 MiB, sends it and waits for it to be accepted.
    for (let i = 0; i < 100 && !done(); i++) {
      await r.pollOnce();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await r.shutdown();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function assertPoolClean(pool: BufferPool): void {
  const stats = pool.stats;
  assert.ok(stats.reused > 0, `buffers were reused (${JSON.stringify(stats)})`);
  assert.equal(stats.misuses, 0);
  assert.equal(stats.outstanding, 0, `every buffer came back (${JSON.stringify(stats)})`);
}

/** Waits (on real time, bounded) until `cond()`. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

Deno.test("pooled filelog buffers are not reused while a batch processor holds their requests", async () => {
  const expected = lines(12_000);
  const pool = strictPool();
  const got: string[] = [];
  let batches = 0;
  const sink: Consumer<"logs"> = {
    mutatesData: false,
    async consume(payload) {
      batches++;
      // The batch is delivered after later requests were encoded (into reused buffers).
      await new Promise((resolve) => setTimeout(resolve, 1));
      got.push(...encodedBodies(payload));
    },
  };
  const batch = createBatchProcessor(
    batchConfigSchema.parse({ send_batch_size: 1000, timeout: "20ms" }),
    "logs",
    sink,
  );
  await readThrough(expected, batch, pool, () => got.length >= expected.length);
  await batch.shutdown();
  exactlyOnce(got, expected, "batch");
  assert.ok(batches > 1, `${batches} batches`);
  assertPoolClean(pool);
});

Deno.test("pooled filelog buffers are not reused while a fan-out branch holds its copy or the original", async () => {
  const expected = lines(6_000);
  const pool = strictPool();
  const got = new Map<string, string[]>();
  const holding: Payload<"logs">[][] = [];
  let received = 0;
  /**
   * A branch that keeps the last `depth` payloads it got and reads each when it lets go of it:
   * the reader lets go first, so the copies must keep the buffers on their own.
   */
  const branch = (name: string, mutatesData: boolean, depth: number): Consumer<"logs"> => {
    const held: Payload<"logs">[] = [];
    const bodies: string[] = [];
    got.set(name, bodies);
    holding.push(held);
    return {
      mutatesData,
      consume(payload) {
        if (name === "reader") received += payload.itemCount;
        held.push(payload.retain());
        if (held.length > depth) {
          const old = held.shift()!;
          bodies.push(...encodedBodies(old));
          old.release();
        }
        return Promise.resolve();
      },
    };
  };
  const consumer = fanout([
    branch("reader", false, 0),
    branch("mutator 1", true, 4),
    branch("mutator 2", true, 8),
  ]);
  await readThrough(expected, consumer, pool, () => received >= expected.length);
  for (const [i, name] of ["reader", "mutator 1", "mutator 2"].entries()) {
    for (const payload of holding[i]!.splice(0)) {
      got.get(name)!.push(...encodedBodies(payload));
      payload.release();
    }
  }
  for (const [name, bodies] of got) exactlyOnce(bodies, expected, name);
  assertPoolClean(pool);
});

/** A push that fails retryably while `failing` says so, then records what it sends. */
function recoveringBackend(failures: number) {
  const got: string[] = [];
  let calls = 0;
  const push: PushFunc<"logs"> = async (payload) => {
    calls++;
    // Sends take a little while, so that later requests are encoded meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (calls <= failures) throw retryableError("HTTP 503");
    got.push(...encodedBodies(payload));
  };
  return { got, push, calls: () => calls };
}

function helperConfig(queue: Record<string, unknown>) {
  return {
    timeout: 0,
    retry_on_failure: retryOnFailureSchema.parse({
      initial_interval: "5ms",
      max_interval: "10ms",
      randomization_factor: 0,
    }),
    sending_queue: sendingQueueSchema.parse(queue),
  };
}

Deno.test("pooled filelog buffers are not reused while a retrying exporter holds their batch", async () => {
  const expected = lines(12_000);
  const pool = strictPool();
  const backend = recoveringBackend(5);
  const helper = createExporterHelper(
    { id: "otlphttp", logger: NOOP_LOGGER, meter: new MetricRegistry().meter() },
    // A small queue: the receiver waits for room, so it encodes while batches are retried.
    helperConfig({
      num_consumers: 2,
      queue_size: 8,
      batch: { flush_timeout: "10ms", min_size: 500 },
    }),
    { logs: backend.push },
  );
  const host: Host = { getExtension: () => undefined, status: () => "running" };
  await helper.start(host);
  const logs = helper.consumers.logs as Consumer<"logs">;
  await readThrough(expected, logs, pool, () => backend.got.length >= expected.length);
  await until(() => backend.got.length >= expected.length, "every line was sent");
  await helper.shutdown();
  assert.ok(backend.calls() > 5, "the backend failed, then recovered");
  exactlyOnce(backend.got, expected, "retrying exporter");
  assertPoolClean(pool);
});

Deno.test("pooled filelog buffers are not reused while a persistent queue holds their bytes", async () => {
  const expected = lines(12_000);
  const pool = strictPool();
  const backend = recoveringBackend(3);
  const kv = await Deno.openKv(":memory:");
  try {
    const helper = createExporterHelper(
      { id: "otlphttp", logger: NOOP_LOGGER, meter: new MetricRegistry().meter() },
      helperConfig({
        storage: "file_storage",
        num_consumers: 2,
        batch: { flush_timeout: "10ms", min_size: 1000 },
      }),
      { logs: backend.push },
    );
    await helper.start(kvStorageHost(kv).host);
    const logs = helper.consumers.logs as Consumer<"logs">;
    await readThrough(expected, logs, pool, () => backend.got.length >= expected.length);
    await until(() => backend.got.length >= expected.length, "every line was sent");
    await helper.shutdown();
    assert.ok(backend.calls() > 3, "the backend failed, then recovered");
    exactlyOnce(backend.got, expected, "persistent queue");
    assertPoolClean(pool);
  } finally {
    kv.close();
  }
});

Deno.test("filelog keeps few free request buffers once a poll finds nothing to read", async () => {
  const pool = new BufferPool({ bufferBytes: 20 * 1024, maxFree: 1024, strict: true });
  const held: Payload<"logs">[] = [];
  const keeper: Consumer<"logs"> = {
    mutatesData: false,
    consume(payload) {
      held.push(payload.retain());
      return Promise.resolve();
    },
  };
  const dir = await Deno.makeTempDir();
  try {
    await append(`${dir}/a.log`, lines(6_000).join("\n") + "\n");
    const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, keeper, "filelog", {
      pool,
    });
    await r.pollOnce();
    for (const p of held.splice(0)) p.release();
    assert.ok(pool.stats.free > 16, `${pool.stats.free} free buffers after the burst`);
    await r.pollOnce(); // nothing new in the file
    assert.equal(pool.stats.free, 16);
    await r.shutdown();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
