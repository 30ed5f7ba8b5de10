import assert from "node:assert/strict";
import { ConsumerError } from "../../../lib/consumer/consumer.ts";
import {
  defaultQueueFactory,
  type QueueSettings,
} from "../../../lib/exporterhelper/_queue_factory.ts";
import { StorageVolume } from "../../../lib/storage/volume.ts";
import { createLogger } from "../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { encodedPayload, kvStorageHost, tracesBytes } from "../../fixtures/queue/kit.ts";

const MIB = 1024 * 1024;

function settings(maxSizeMib: number): QueueSettings {
  return {
    queue_size: 100,
    blocking: false,
    storage: "file_storage",
    max_size_mib: maxSizeMib,
    when_full: "refuse",
  };
}

Deno.test("persistent queues without max_size_mib share a bound derived from the volume's free space", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo_queue_factory_" });
  const kv = await Deno.openKv(":memory:");
  try {
    // (9 MiB free - 5 MiB for the WAL) / 2 = 2 MiB, shared.
    const volume = new StorageVolume(dir, { freeBytes: () => 9 * MIB });
    const { host } = kvStorageHost(kv, volume);
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: "info", write: (l) => lines.push(JSON.parse(l)) });
    const meter = new MetricRegistry().meter({});
    const make = (id: string, mib: number) =>
      defaultQueueFactory({ id, signal: "traces", config: settings(mib), host, logger, meter });
    const a = await make("otlp/a", 0);
    const b = await make("otlp/b", 0);
    const bounded = lines.filter((l) =>
      /Bounding the persistent sending queue/.test(String(l.msg))
    );
    assert.equal(bounded.length, 2);
    assert.equal(bounded[0]!.max_size_mib, 2);

    const item = (n: number) => encodedPayload(tracesBytes(n, 600_000)); // incompressible
    for (let n = 0; n < 3; n++) await a.offer(item(n));
    const full = await a.offer(item(3)).catch((e) => e);
    assert.ok(full instanceof ConsumerError && !full.permanent);
    assert.match(full.message, /Sending queue is full .*shared by the storage's queues/);
    // The other queue sees the same budget: one item into an empty queue, then refused.
    await b.offer(item(10));
    const alsoFull = await b.offer(item(11)).catch((e) => e);
    assert.match(String(alsoFull.message), /Sending queue is full/);
    // Delivering from one makes room for the other.
    for (let n = 0; n < 2; n++) await (await a.take())!.ack();
    await b.offer(item(11));

    // An explicit max_size_mib is its own bound, outside the shared one.
    const c = await make("otlp/c", 4);
    assert.equal(
      lines.filter((l) => /Bounding the persistent sending queue/.test(String(l.msg))).length,
      2,
    );
    for (let n = 20; n < 26; n++) await c.offer(item(n));
    await Promise.all([a.close(), b.close(), c.close()]);
    assert.equal(volume.budget()!.used, 0, "closed queues give their bytes back");
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without a known volume, max_size_mib 0 leaves a persistent queue unbounded in bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo_queue_factory_" });
  const kv = await Deno.openKv(":memory:");
  try {
    const volume = new StorageVolume(dir, { freeBytes: () => undefined });
    const { host } = kvStorageHost(kv, volume);
    const queue = await defaultQueueFactory({
      id: "otlp",
      signal: "traces",
      config: settings(0),
      host,
      logger: createLogger({ level: "error", write: () => {} }),
      meter: new MetricRegistry().meter({}),
    });
    for (let n = 0; n < 8; n++) await queue.offer(encodedPayload(tracesBytes(n, 600_000)));
    assert.equal(queue.size, 8);
    await queue.close();
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
