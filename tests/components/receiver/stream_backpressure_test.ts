/**
 * Stream receivers whose protocol cannot ask the client to resend (syslog over TCP, Fluent Forward
 * without `chunk`) hold a connection while the pipeline refuses with a retryable error: every
 * record a client wrote arrives exactly once, none is dropped (before, a full sending queue made
 * them drop whole bursts: 199,900 of 300,000 records in bench/sources_bench.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CreateSettings, Receiver } from "../../../components/component.ts";
import { syslogReceiverFactory } from "../../../components/receiver/syslog/factory.ts";
import { syslogConfigSchema } from "../../../components/receiver/syslog/config.ts";
import { fluentforwardReceiverFactory } from "../../../components/receiver/fluentforward/factory.ts";
import { fluentforwardConfigSchema } from "../../../components/receiver/fluentforward/config.ts";
import { type Consumer, retryableError } from "../../../lib/consumer/consumer.ts";
import { encode } from "../../../lib/msgpack/encode.ts";
import { NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { freePort, waitFor } from "../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** Refuses (retryably) two offers of every three, and keeps the number carried by each record. */
function flakyConsumer(): Consumer<"logs"> & { seen: number[]; refusals: number } {
  let calls = 0;
  const consumer = {
    seen: [] as number[],
    refusals: 0,
    mutatesData: false,
    consume(payload: Parameters<Consumer<"logs">["consume"]>[0]) {
      if (calls++ % 3 !== 2) {
        consumer.refusals++;
        return Promise.reject(retryableError("Sending queue is full (capacity 1)"));
      }
      for (const rl of payload.read().resourceLogs) {
        for (const sl of rl.scopeLogs) {
          for (const r of sl.logRecords) {
            const text = typeof r.body === "string" ? r.body : "";
            consumer.seen.push(Number(/n=(\d+)/.exec(text)?.[1] ?? -1));
          }
        }
      }
      return Promise.resolve();
    },
  };
  return consumer;
}

function settings<C>(id: string, config: C): CreateSettings<C> {
  return {
    id,
    config,
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter({ receiver: id }),
    buildInfo: { command: "tfo", version: "test" },
  };
}

async function send(port: number, chunks: Uint8Array[]): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  for (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length) at += await conn.write(chunk.subarray(at));
  }
  conn.close();
}

async function expectAll(
  receiver: Receiver,
  consumer: ReturnType<typeof flakyConsumer>,
  total: number,
): Promise<void> {
  try {
    await waitFor(`${total} records`, () => consumer.seen.length >= total, 60_000);
    assert.equal(consumer.seen.length, total);
    assert.deepEqual([...consumer.seen].sort((a, b) => a - b), [...Array(total).keys()]);
    assert.ok(consumer.refusals > 0);
  } finally {
    await receiver.shutdown();
  }
}

const TOTAL = 5000;

Deno.test("syslog over TCP holds the connection through retryable refusals and loses no line", async () => {
  const port = freePort();
  const consumer = flakyConsumer();
  const receiver = syslogReceiverFactory.create(
    settings(
      "syslog",
      syslogConfigSchema.parse({
        protocol: "rfc5424",
        tcp: { listen_address: `127.0.0.1:${port}` },
      }),
    ),
    { logs: consumer },
  );
  await receiver.start({ getExtension: () => undefined, status: () => "running" });
  let text = "";
  for (let n = 0; n < TOTAL; n++) {
    text += `<134>1 2026-12-02T06:00:00.000Z web-01 nginx 42 ID47 - request n=${n}\n`;
  }
  const bytes = new TextEncoder().encode(text);
  const chunks = [];
  for (let at = 0; at < bytes.length; at += 4096) chunks.push(bytes.subarray(at, at + 4096));
  await send(port, chunks);
  await expectAll(receiver, consumer, TOTAL);
});

Deno.test("fluentforward holds the connection through retryable refusals and loses no record", async () => {
  const port = freePort();
  const consumer = flakyConsumer();
  const receiver = fluentforwardReceiverFactory.create(
    settings("fluentforward", fluentforwardConfigSchema.parse({ endpoint: `127.0.0.1:${port}` })),
    { logs: consumer },
  );
  await receiver.start({ getExtension: () => undefined, status: () => "running" });
  const chunks = [];
  for (let n = 0; n < TOTAL; n += 50) {
    // Forward mode, 50 entries per message, no chunk option (no acks to wait for).
    const entries = [];
    for (let i = n; i < n + 50; i++) entries.push([1764655200, { log: `request n=${i}` }]);
    chunks.push(encode(["app.access", entries]));
  }
  await send(port, chunks);
  await expectAll(receiver, consumer, TOTAL);
});
