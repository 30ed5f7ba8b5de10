// deno-lint-ignore-file no-import-prefix -- test-only npm peer (the Forward protocol client), pinned here
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { gzipSync } from "node:zlib";
import fluent from "npm:fluent-logger@3.4.1";
import type { CreateSettings } from "../../../../components/component.ts";
import { fluentforwardReceiverFactory } from "../../../../components/receiver/fluentforward/factory.ts";
import {
  type FluentforwardConfig,
  fluentforwardConfigSchema,
} from "../../../../components/receiver/fluentforward/config.ts";
import { permanentError } from "../../../../lib/consumer/consumer.ts";
import { decodeOne } from "../../../../lib/msgpack/decode.ts";
import { type Encodable, encode } from "../../../../lib/msgpack/encode.ts";
import type { AnyValue, LogRecord } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { freePort, waitFor } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** The parts of fluent-logger's API the tests use (its bundled types lag behind its code). */
interface Sender {
  emit(
    label: string,
    record: Record<string, unknown>,
    time: unknown,
    done: (error: unknown) => void,
  ): void;
  end(): void;
}
const EventTime =
  (fluent as unknown as { EventTime: new (seconds: number, nanos: number) => unknown })
    .EventTime;

interface Started {
  port: number;
  records: LogRecord[];
  refuse: { next: boolean };
  registry: MetricRegistry;
  stop(): Promise<void>;
}

async function start(config: Record<string, unknown> = {}): Promise<Started> {
  const port = freePort();
  const records: LogRecord[] = [];
  const refuse = { next: false };
  const registry = new MetricRegistry();
  const settings: CreateSettings<FluentforwardConfig> = {
    id: "fluentforward",
    config: fluentforwardConfigSchema.parse({ endpoint: `127.0.0.1:${port}`, ...config }),
    logger: NOOP_LOGGER,
    meter: registry.meter({ receiver: "fluentforward" }),
    buildInfo: { command: "tfo", version: "test" },
  };
  const receiver = fluentforwardReceiverFactory.create(settings, {
    logs: {
      mutatesData: false,
      consume(payload) {
        if (refuse.next) {
          refuse.next = false;
          return Promise.reject(permanentError("refused by the test"));
        }
        for (const rl of payload.read().resourceLogs) {
          for (const sl of rl.scopeLogs) records.push(...sl.logRecords);
        }
        return Promise.resolve();
      },
    },
  });
  await receiver.start({ getExtension: () => undefined, status: () => "running" });
  return { port, records, refuse, registry, stop: () => receiver.shutdown() };
}

function attribute(record: LogRecord, key: string): AnyValue {
  return record.attributes.find((a) => a.key === key)?.value;
}

function emit(
  port: number,
  mode: string,
  events: Array<Record<string, unknown>>,
  security?: { clientHostname: string; sharedKey: string },
) {
  const sender = fluent.createFluentSender("app", {
    host: "127.0.0.1",
    port,
    timeout: 3.0,
    reconnectInterval: 600_000,
    eventMode: mode,
    requireAckResponse: true,
    ackResponseTimeout: 10_000,
    flushInterval: 10,
    ...(security === undefined ? {} : { security }),
  }) as unknown as Sender;
  const sent = events.map((record) =>
    new Promise<void>((resolve, reject) =>
      sender.emit(
        "web",
        record,
        new EventTime(1700000000, 123456789),
        (error: unknown) => error ? reject(error) : resolve(),
      )
    )
  );
  return Promise.all(sent).finally(() => sender.end());
}

for (const mode of ["Message", "PackedForward", "CompressedPackedForward"]) {
  Deno.test(`fluentforward receives fluent-logger's ${mode} mode with acks, tags, bodies and EventTime`, async () => {
    const tfo = await start();
    try {
      await emit(tfo.port, mode, [{ message: "hello", user: "ada", n: 7 }, {
        log: "from bit",
        ok: true,
      }]);
      await waitFor("both records", () => tfo.records.length >= 2 ? true : undefined, 10_000, 20);
      const [first, second] = tfo.records;
      assert.equal(first!.body, "hello");
      assert.equal(attribute(first!, "fluent.tag"), "app.web");
      assert.equal(attribute(first!, "user"), "ada");
      assert.equal(attribute(first!, "n"), 7n);
      assert.equal(first!.timeUnixNano, 1700000000123456789n);
      assert.equal(second!.body, "from bit");
      assert.equal(attribute(second!, "ok"), true);
      assert.equal(
        tfo.registry.value("otelcol_receiver_accepted_log_records", {
          receiver: "fluentforward",
          transport: "tcp",
        }),
        2,
      );
    } finally {
      await tfo.stop();
    }
  });
}

/** A raw TCP client speaking the protocol by hand. */
async function raw(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let pending = new Uint8Array(0);
  /** One read at a time, kept across a timeout so no bytes are lost to an abandoned read. */
  let reading: Promise<Uint8Array | null> | undefined;
  const readMore = () => {
    reading ??= (async () => {
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf).catch(() => null);
      return n === null ? null : buf.subarray(0, n);
    })();
    return reading;
  };
  return {
    conn,
    async send(bytes: Uint8Array) {
      let n = 0;
      while (n < bytes.length) n += await conn.write(bytes.subarray(n));
    },
    /** The next decoded reply, or "closed" / "timeout". */
    async reply(timeoutMs = 5_000): Promise<unknown> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        try {
          const { value, end } = decodeOne(pending);
          pending = pending.subarray(end);
          return value;
        } catch {
          // need more
        }
        const read = await Promise.race([
          readMore(),
          new Promise<"timeout">((r) =>
            setTimeout(() => r("timeout"), Math.max(0, until - Date.now()))
          ),
        ]);
        if (read === "timeout") return "timeout";
        reading = undefined;
        if (read === null) return "closed";
        const next = new Uint8Array(pending.length + read.length);
        next.set(pending);
        next.set(read, pending.length);
        pending = next;
      }
    },
    close() {
      try {
        conn.close();
      } catch {
        // closed
      }
    },
  };
}

function ackOf(reply: unknown): string | undefined {
  const entries = (reply as { entries?: Array<[unknown, unknown]> }).entries;
  const ack = entries?.find(([k]) => k === "ack")?.[1];
  return typeof ack === "string" ? ack : undefined;
}

Deno.test("fluentforward takes Forward mode, split frames and integer times, and acks only accepted chunks", async () => {
  const tfo = await start();
  const client = await raw(tfo.port);
  try {
    const forward = encode([
      "fwd.tag",
      [[1700000001, { message: "one" }], [1700000002, { message: "two", level: "info" }]],
      { chunk: "c-1" },
    ] as Encodable);
    // One byte at a time: the reader must wait for the rest of the frame.
    for (const byte of forward) await client.send(Uint8Array.of(byte));
    assert.equal(ackOf(await client.reply()), "c-1");
    assert.deepEqual(tfo.records.map((r) => [r.body, r.timeUnixNano]), [
      ["one", 1700000001000000000n],
      ["two", 1700000002000000000n],
    ]);
    // A refused chunk is not acknowledged: the client resends it.
    tfo.refuse.next = true;
    await client.send(
      encode(["fwd.tag", 1700000003, { message: "refused" }, { chunk: "c-2" }] as Encodable),
    );
    assert.equal(await client.reply(500), "timeout");
    await client.send(
      encode(["fwd.tag", 1700000003, { message: "again" }, { chunk: "c-2" }] as Encodable),
    );
    assert.equal(ackOf(await client.reply()), "c-2");
    assert.equal(tfo.records.at(-1)!.body, "again");
    // Gzip packed entries by hand, text-compressed ones as they are.
    const packed = new Uint8Array([
      ...encode([1700000004, { message: "p1" }]),
      ...encode([1700000005, { log: "p2" }]),
    ]);
    await client.send(
      encode(["fwd.tag", gzipSync(packed), { compressed: "gzip", chunk: "c-3" }] as Encodable),
    );
    assert.equal(ackOf(await client.reply()), "c-3");
    assert.deepEqual(tfo.records.slice(-2).map((r) => r.body), ["p1", "p2"]);
  } finally {
    client.close();
    await tfo.stop();
  }
});

Deno.test("fluentforward closes a connection that sends garbage or an oversized message, and keeps serving", async () => {
  const tfo = await start({ chunk_size_limit: 4096 });
  try {
    for (
      const bad of [
        Uint8Array.of(0xc1, 0x00),
        encode(["tag"] as Encodable),
        encode(["tag", 1, "not a map"] as Encodable),
        encode(["tag", 1, { message: "x".repeat(10_000) }] as Encodable),
        Uint8Array.of(0xdd, 0x7f, 0xff, 0xff, 0xff), // an array of 2^31 elements
        encode(["tag", gzipSync(new Uint8Array(1 << 20)), { compressed: "gzip" }] as Encodable),
      ]
    ) {
      const client = await raw(tfo.port);
      await client.send(bad);
      assert.equal(await client.reply(), "closed", `closed after ${bad.length} bad bytes`);
      client.close();
    }
    const good = await raw(tfo.port);
    await good.send(encode(["ok", 1, { message: "still here" }, { chunk: "fine" }] as Encodable));
    assert.equal(ackOf(await good.reply()), "fine");
    good.close();
    assert.equal(tfo.records.length, 1);
  } finally {
    await tfo.stop();
  }
});

Deno.test("fluentforward's shared_key handshake admits the right key and refuses a wrong one", async () => {
  const tfo = await start({ security: { shared_key: "s3cret", self_hostname: "collector" } });
  try {
    await emit(tfo.port, "Message", [{ message: "authenticated" }], {
      clientHostname: "agent",
      sharedKey: "s3cret",
    });
    await waitFor(
      "the authenticated record",
      () => tfo.records.length === 1 ? true : undefined,
      10_000,
      20,
    );
    const client = await raw(tfo.port);
    const helo = await client.reply() as unknown[];
    assert.equal(helo[0], "HELO");
    await client.send(encode(["PING", "intruder", "salt", "0".repeat(128), "", ""] as Encodable));
    const pong = await client.reply() as unknown[];
    assert.deepEqual(pong.slice(0, 3), ["PONG", false, "shared_key mismatch"]);
    assert.equal(await client.reply(), "closed");
    client.close();
    assert.equal(tfo.records.length, 1);
  } finally {
    await tfo.stop();
  }
});

Deno.test("fluentforward answers UDP heartbeats on its port", async () => {
  const tfo = await start();
  const socket = dgram.createSocket("udp4");
  try {
    const reply = new Promise<Uint8Array>((resolve) =>
      socket.once("message", (data) => resolve(data))
    );
    socket.send(Uint8Array.of(0), tfo.port, "127.0.0.1");
    assert.deepEqual([...await reply], [0]);
  } finally {
    socket.close();
    await tfo.stop();
  }
});
