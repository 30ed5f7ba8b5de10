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
import type dgram from "node:dgram";
import type { Receiver, ReceiverFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { errorMessage } from "../../../lib/consumer/consumer.ts";
import { consumeHolding } from "../../../lib/consumer/hold_and_retry.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import { SYSTEM_CLOCK } from "../../../lib/clock.ts";
import { splitHostPort } from "../../../lib/config/schema.ts";
import {
  bindUdp,
  type ServerConn,
  serveStream,
  type StreamServer,
} from "../../../lib/net/stream_server.ts";
import { decodeOne, Incomplete, MsgpackError } from "../../../lib/msgpack/decode.ts";
import { encode } from "../../../lib/msgpack/encode.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
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
  let server: StreamServer | undefined;
  let udp: dgram.Socket | undefined;
  /** Aborted at shutdown: ends the waits of connections held by a refusing pipeline. */
  const stopping = new AbortController();

  async function writeAll(conn: ServerConn, bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await conn.write(bytes.subarray(written));
  }

  async function handle(conn: ServerConn): Promise<void> {
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
          // A retryable refusal is waited out before the connection is read again: the sender
          // is slowed by TCP instead of losing records it cannot learn were dropped.
          const outcome = await consumeHolding(logs, payload, stopping.signal);
          if (!outcome.accepted) {
            counters.refused.add(count);
            logger.debug("The pipeline refused Fluent Forward records", {
              error: outcome.error,
              records: count,
            });
            // Without an ack a client that asked for one resends the chunk.
            continue;
          }
          counters.accepted.add(count);
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
    }
  }

  return {
    async start() {
      const { hostname, port } = splitHostPort(config.endpoint);
      server = await serveStream(config.endpoint, { hostname, port, tls: config.tls }, handle);
      const bound = server.addr.port;
      if (config.heartbeat.enabled) {
        try {
          udp = await bindUdp(`${hostname}:${bound}/udp`, hostname, bound);
        } catch (error) {
          await server.shutdown();
          throw error;
        }
        const socket = udp;
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
    },
    async shutdown() {
      udp?.close();
      udp = undefined;
      stopping.abort();
      await server?.shutdown();
    },
  };
}

/** The `fluentforward` receiver factory. */
export const fluentforwardReceiverFactory: ReceiverFactory<FluentforwardConfig> = {
  kind: "receiver",
  type: "fluent_forward",
  configSchema: fluentforwardConfigSchema,
  signals: { logs: "beta" },
  create: createFluentforwardReceiver,
};
