/**
 * The `fluentforward` receiver: the Fluent Forward protocol over TCP (or TLS) from Fluentd, Fluent
 * Bit and the fluent-logger libraries, in every mode (Message, Forward, PackedForward,
 * CompressedPackedForward), with `chunk` acknowledgements sent only once the pipeline accepted the
 * records (so a client that asks for acks never loses data), the optional shared-key handshake,
 * and UDP heartbeats answered on the same port.
 *
 * Each connection is read in order: a message is decoded, handed to the pipeline and awaited
 * before the next is read, so a slow pipeline slows the sender instead of filling memory. A
 * message that is not MessagePack or not a Forward message closes its connection (the stream
 * cannot be resynchronised) and is logged, rate-limited; the process never fails on it.
 *
 * @module
 */
import dgram from "node:dgram";
import type { Receiver, ReceiverFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { errorMessage } from "../../../lib/consumer/consumer.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import { SYSTEM_CLOCK } from "../../../lib/clock.ts";
import { splitHostPort } from "../../../lib/config/schema.ts";
import { listenError } from "../../../lib/net/listen_error.ts";
import { decodeOne, Incomplete, MsgpackError } from "../../../lib/msgpack/decode.ts";
import { encode } from "../../../lib/msgpack/encode.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { LogRecord } from "../../../lib/pdata/types.ts";
import { newLogsData } from "../../../lib/pdata/new.ts";
import { receiverCounters } from "../../../lib/telemetry/receiver_metrics.ts";
import { type FluentforwardConfig, fluentforwardConfigSchema } from "./config.ts";
import { ForwardProtocolError, readForwardMessage } from "./_events.ts";
import { startHandshake } from "./_handshake.ts";

const READ_SIZE = 64 * 1024;

/** A buffer that grows to hold what a connection sent and not yet decoded. */
class ReadBuffer {
  #bytes = new Uint8Array(READ_SIZE);
  #start = 0;
  #end = 0;

  get pending(): Uint8Array {
    return this.#bytes.subarray(this.#start, this.#end);
  }

  consumed(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /** Room to read into, compacting or growing as needed. */
  room(limit: number): Uint8Array {
    if (this.#end === this.#bytes.length) {
      const used = this.#end - this.#start;
      if (this.#start > 0 && used < this.#bytes.length / 2) {
        this.#bytes.copyWithin(0, this.#start, this.#end);
      } else {
        if (this.#bytes.length >= limit) {
          throw new MsgpackError(`a message is larger than ${limit} bytes`);
        }
        const bigger = new Uint8Array(Math.min(limit, this.#bytes.length * 2));
        bigger.set(this.#bytes.subarray(this.#start, this.#end));
        this.#bytes = bigger;
      }
      this.#end = used;
      this.#start = 0;
    }
    return this.#bytes.subarray(this.#end);
  }

  wrote(n: number): void {
    this.#end += n;
  }
}

/** Creates a `fluentforward` receiver. */
function createFluentforwardReceiver(
  settings: Parameters<ReceiverFactory<FluentforwardConfig>["create"]>[0],
  next: Parameters<ReceiverFactory<FluentforwardConfig>["create"]>[1],
): Receiver {
  const { config, logger, meter } = settings;
  const logs = next.logs as Consumer<"logs"> | undefined;
  const counters = receiverCounters(meter, "logs", "tcp");
  const badInput = new RateLimitedLog(
    logger,
    "warn",
    "Closing a Fluent Forward connection",
    SYSTEM_CLOCK,
  );
  const limit = config.chunk_size_limit;
  let listener: Deno.Listener | undefined;
  let udp: dgram.Socket | undefined;
  const connections = new Set<Deno.Conn>();
  let serving: Promise<void> | undefined;
  const handlers = new Set<Promise<void>>();

  async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await conn.write(bytes.subarray(written));
  }

  async function handle(conn: Deno.Conn): Promise<void> {
    const buffer = new ReadBuffer();
    const handshake = config.security === undefined ? undefined : startHandshake(
      config.security.shared_key,
      config.security.self_hostname ?? Deno.hostname(),
    );
    let authenticated = handshake === undefined;
    const peer = conn.remoteAddr as Deno.NetAddr;
    try {
      if (handshake !== undefined) await writeAll(conn, handshake.helo);
      for (;;) {
        const room = buffer.room(limit + READ_SIZE);
        const n = await conn.read(room);
        if (n === null) return;
        buffer.wrote(n);
        for (;;) {
          let decoded;
          try {
            decoded = decodeOne(buffer.pending, 0, { maxBytes: limit });
          } catch (error) {
            if (error instanceof Incomplete) break;
            throw error;
          }
          buffer.consumed(decoded.end);
          if (!authenticated) {
            const { pong, ok, reason } = handshake!.answer(decoded.value);
            await writeAll(conn, pong);
            if (!ok) throw new ForwardProtocolError(`handshake refused: ${reason}`);
            authenticated = true;
            continue;
          }
          const message = readForwardMessage(decoded.value, limit);
          if (message.records.length === 0) continue;
          const payload = Payload.of("logs", newLogsData(message.records));
          const count = message.records.length;
          if (logs === undefined) continue;
          try {
            await logs.consume(payload);
            counters.accepted.add(count);
          } catch (error) {
            counters.refused.add(count);
            logger.debug("The pipeline refused Fluent Forward records", { error, records: count });
            // Without an ack the client resends the chunk; without chunk it never learns.
            continue;
          }
          if (message.chunk !== undefined) await writeAll(conn, encode({ ack: message.chunk }));
        }
      }
    } catch (error) {
      if (error instanceof MsgpackError || error instanceof ForwardProtocolError) {
        badInput.log({ peer: `${peer.hostname}:${peer.port}`, reason: error.message });
      } else if (
        !(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset)
      ) {
        logger.debug("Fluent Forward connection ended", { error: errorMessage(error) });
      }
    } finally {
      connections.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  async function serve(l: Deno.Listener): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await l.accept();
      } catch {
        return; // closed
      }
      connections.add(conn);
      const running = handle(conn);
      handlers.add(running);
      void running.finally(() => handlers.delete(running));
    }
  }

  return {
    async start() {
      const { hostname, port } = splitHostPort(config.endpoint);
      try {
        if (config.tls !== undefined) {
          const [cert, key] = await Promise.all([
            Deno.readTextFile(config.tls.cert_file),
            Deno.readTextFile(config.tls.key_file),
          ]);
          listener = Deno.listenTls({ hostname, port, cert, key });
        } else {
          listener = Deno.listen({ hostname, port });
        }
      } catch (error) {
        throw listenError(config.endpoint, error);
      }
      const bound = (listener.addr as Deno.NetAddr).port;
      if (config.heartbeat.enabled) {
        const socket = dgram.createSocket(hostname.includes(":") ? "udp6" : "udp4");
        udp = socket;
        await new Promise<void>((resolve, reject) => {
          socket.once("error", reject);
          socket.bind(bound, hostname || undefined, () => {
            socket.off("error", reject);
            resolve();
          });
        }).catch((error) => {
          listener?.close();
          throw listenError(`${hostname}:${bound}/udp`, error);
        });
        // A heartbeat is answered with one byte, as Fluentd's in_forward does.
        socket.on(
          "message",
          (_data, from) => socket.send(new Uint8Array([0]), from.port, from.address),
        );
        socket.on(
          "error",
          (error) => logger.debug("Fluent Forward heartbeat socket error", { error }),
        );
      }
      logger.info("Starting Fluent Forward server", {
        endpoint: `${hostname}:${bound}`,
        tls: config.tls !== undefined,
      });
      serving = serve(listener);
    },
    async shutdown() {
      try {
        listener?.close();
      } catch {
        // already closed
      }
      listener = undefined;
      udp?.close();
      udp = undefined;
      await serving;
      for (const conn of connections) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await Promise.all(handlers);
    },
  };
}

/** The `fluentforward` receiver factory. */
export const fluentforwardReceiverFactory: ReceiverFactory<FluentforwardConfig> = {
  kind: "receiver",
  type: "fluentforward",
  configSchema: fluentforwardConfigSchema,
  signals: { logs: "beta" },
  create: createFluentforwardReceiver,
};
