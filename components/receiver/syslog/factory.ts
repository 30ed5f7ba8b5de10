/**
 * The `syslog` receiver: RFC 5424 or RFC 3164 messages over TCP (newline or NUL framing, or RFC
 * 6587 octet counting; TLS) and UDP, parsed as the Collector's syslog parser parses them: the raw
 * message as the body, its fields as attributes, severity and time set from it; then the stanza
 * `operators`. A line that does not parse is still delivered with its raw body, as the Collector's
 * default `on_error: send` does, and counted in the log (rate-limited).
 *
 * A TCP connection is read in order and each read's messages are handed to the pipeline and
 * awaited before the next read, so a slow pipeline slows the sender instead of filling memory.
 * An octet-counted frame longer than `max_octets`, or a malformed length, closes the connection.
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
import { Payload } from "../../../lib/pdata/payload.ts";
import { buildPipeline, type Entry, newEntry } from "../../../lib/stanza/mod.ts";
import { entriesToLogsData } from "../../../lib/stanza/logs_data.ts";
import { receiverCounters } from "../../../lib/telemetry/receiver_metrics.ts";
import { type SyslogConfig, syslogConfigSchema } from "./config.ts";
import { parseRfc3164, parseRfc5424, SyslogParseError } from "./_parse.ts";

const READ_SIZE = 64 * 1024;

/** Splits a TCP byte stream into messages: by trailer, or by RFC 6587 octet counting. */
export class Framer {
  #pending = new Uint8Array(0);
  readonly #decoder = new TextDecoder();

  constructor(
    private readonly mode: { octetCounting: boolean; trailer: number; maxBytes: number },
  ) {}

  /** Adds bytes; returns the complete messages they finish. */
  push(bytes: Uint8Array): string[] {
    const joined = new Uint8Array(this.#pending.length + bytes.length);
    joined.set(this.#pending);
    joined.set(bytes, this.#pending.length);
    const out: string[] = [];
    let at = 0;
    if (this.mode.octetCounting) {
      for (;;) {
        const space = joined.indexOf(0x20, at);
        if (space < 0) {
          if (joined.length - at > 10) {
            throw new SyslogParseError("an octet count is longer than 10 digits");
          }
          break;
        }
        const digits = this.#decoder.decode(joined.subarray(at, space));
        if (!/^[1-9]\d{0,9}$/.test(digits)) {
          throw new SyslogParseError(`"${digits}" is not an octet count`);
        }
        const length = Number(digits);
        if (length > this.mode.maxBytes) {
          throw new SyslogParseError(
            `a frame of ${length} octets is over max_octets ${this.mode.maxBytes}`,
          );
        }
        if (space + 1 + length > joined.length) break;
        out.push(this.#decoder.decode(joined.subarray(space + 1, space + 1 + length)));
        at = space + 1 + length;
      }
    } else {
      at = this.#asciiLines(joined, out);
      for (;;) {
        const end = joined.indexOf(this.mode.trailer, at);
        if (end < 0) {
          // A line longer than the limit is split at it, as the Collector does.
          while (joined.length - at >= this.mode.maxBytes) {
            out.push(this.#decoder.decode(joined.subarray(at, at + this.mode.maxBytes)));
            at += this.mode.maxBytes;
          }
          break;
        }
        let line = joined.subarray(at, end);
        if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
        for (let i = 0; i < line.length; i += this.mode.maxBytes) {
          out.push(this.#decoder.decode(line.subarray(i, i + this.mode.maxBytes)));
        }
        at = end + 1;
      }
    }
    this.#pending = joined.slice(at);
    return out.filter((m) => m.length > 0);
  }

  /**
   * The fast path of trailer framing: when every complete line in `joined` is ASCII and within
   * the limit (the usual case), decodes them with one call and splits the string; returns where
   * the lines it took end (0 when it took none, and the byte-wise path does the rest).
   */
  #asciiLines(joined: Uint8Array, out: string[]): number {
    const last = joined.lastIndexOf(this.mode.trailer);
    if (last < 0) return 0;
    let or = 0;
    for (let i = 0; i < last; i++) or |= joined[i]!;
    if (or >= 0x80) return 0;
    const text = this.#decoder.decode(joined.subarray(0, last));
    const lines = text.split(String.fromCharCode(this.mode.trailer));
    for (const line of lines) {
      if (line.length > this.mode.maxBytes) return 0;
    }
    for (const line of lines) {
      const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
      if (trimmed.length > 0) out.push(trimmed);
    }
    return last + 1;
  }

  /** What is left when the connection ends (a last line without its trailer). */
  rest(): string[] {
    if (this.mode.octetCounting || this.#pending.length === 0) return [];
    const text = this.#decoder.decode(this.#pending);
    this.#pending = new Uint8Array(0);
    return [text];
  }
}

function createSyslogReceiver(
  settings: Parameters<ReceiverFactory<SyslogConfig>["create"]>[0],
  next: Parameters<ReceiverFactory<SyslogConfig>["create"]>[1],
): Receiver {
  const { config, logger, meter } = settings;
  const logs = next.logs as Consumer<"logs"> | undefined;
  const pipeline = buildPipeline(config.operators, { logger });
  const unparsed = new RateLimitedLog(
    logger,
    "warn",
    "Cannot parse a syslog message",
    SYSTEM_CLOCK,
  );
  const closing = new RateLimitedLog(logger, "warn", "Closing a syslog connection", SYSTEM_CLOCK);
  const tcpCounters = receiverCounters(meter, "logs", "tcp");
  const udpCounters = receiverCounters(meter, "logs", "udp");
  let server: StreamServer | undefined;
  let udp: dgram.Socket | undefined;
  /** Aborted at shutdown: ends the waits of connections held by a refusing pipeline. */
  const stopping = new AbortController();

  function entryOf(
    message: string,
    net: Record<string, unknown> | undefined,
    now: bigint,
  ): Entry {
    const entry = newEntry(message, now);
    if (net !== undefined) Object.assign(entry.attributes, net);
    try {
      const parsed = config.protocol === "rfc5424"
        ? parseRfc5424(message, config.allow_skip_pri_header)
        : parseRfc3164(message, config.location, config.allow_skip_pri_header);
      Object.assign(entry.attributes, parsed.fields);
      entry.timestamp = parsed.timestamp;
      entry.severity = parsed.severityNumber;
      entry.severityText = parsed.severityText;
    } catch (error) {
      if (!(error instanceof SyslogParseError)) throw error;
      unparsed.log({ reason: error.message, message: message.slice(0, 200) });
    }
    return entry;
  }

  /**
   * Parses `messages` and hands them to the pipeline. Over TCP (`hold`) a retryable refusal is
   * waited out before the connection is read again, so a full queue slows the sender instead of
   * dropping its lines; UDP cannot push back, so a refusal drops the datagram's lines (counted).
   */
  async function deliver(
    messages: readonly string[],
    net: Record<string, unknown> | undefined,
    counters: ReturnType<typeof receiverCounters>,
    hold: boolean,
  ): Promise<void> {
    if (messages.length === 0 || logs === undefined) return;
    const entries: Entry[] = [];
    const emit = (e: Entry) => entries.push(e);
    const now = BigInt(Date.now()) * 1_000_000n;
    for (const message of messages) pipeline.process(entryOf(message, net, now), emit);
    if (entries.length === 0) return;
    // Grouped by resource: operators may set resource attributes (`move` to resource[...]).
    const payload = Payload.of("logs", entriesToLogsData(entries));
    if (hold) {
      const outcome = await consumeHolding(logs, payload, stopping.signal);
      if (outcome.accepted) counters.accepted.add(entries.length);
      else {
        counters.refused.add(entries.length);
        logger.debug("The pipeline refused syslog messages", {
          error: outcome.error,
          records: entries.length,
        });
      }
      return;
    }
    try {
      await logs.consume(payload);
      counters.accepted.add(entries.length);
    } catch (error) {
      counters.refused.add(entries.length);
      logger.debug("The pipeline refused syslog messages", { error, records: entries.length });
    }
  }

  function netAttributes(conn: ServerConn, transport: string): Record<string, unknown> | undefined {
    if (!config.tcp?.add_attributes) return undefined;
    const peer = conn.remoteAddr as Deno.NetAddr;
    const local = conn.localAddr as Deno.NetAddr;
    return {
      "net.transport": transport,
      "net.peer.ip": peer.hostname,
      "net.peer.port": BigInt(peer.port),
      "net.host.ip": local.hostname,
      "net.host.port": BigInt(local.port),
    };
  }

  async function handle(conn: ServerConn): Promise<void> {
    const tcp = config.tcp!;
    const framer = new Framer({
      octetCounting: config.enable_octet_counting,
      trailer: config.non_transparent_framing_trailer === "NUL" ? 0x00 : 0x0a,
      maxBytes: config.enable_octet_counting ? config.max_octets : tcp.max_log_size,
    });
    const net = netAttributes(conn, "IP.TCP");
    const buffer = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        await deliver(framer.push(buffer.subarray(0, n)), net, tcpCounters, true);
      }
      await deliver(framer.rest(), net, tcpCounters, true);
    } catch (error) {
      if (error instanceof SyslogParseError) {
        const peer = conn.remoteAddr as Deno.NetAddr;
        closing.log({ peer: `${peer.hostname}:${peer.port}`, reason: error.message });
      } else if (
        !(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset)
      ) {
        logger.debug("Syslog connection ended", { error: errorMessage(error) });
      }
    }
  }

  async function startUdp(address: string): Promise<void> {
    const u = config.udp!;
    const { hostname, port } = splitHostPort(address);
    const socket = await bindUdp(address, hostname, port);
    udp = socket;
    const local = socket.address();
    // Datagrams are handed over one at a time, in order.
    let chain = Promise.resolve();
    socket.on("message", (data: Uint8Array, from: { address: string; port: number }) => {
      const text = new TextDecoder().decode(data).replace(/\r?\n$/, "");
      const messages = u.one_log_per_packet
        ? [text]
        : text.split(/\r?\n/).filter((l) => l.length > 0);
      const net = u.add_attributes
        ? {
          "net.transport": "IP.UDP",
          "net.peer.ip": from.address,
          "net.peer.port": BigInt(from.port),
          "net.host.ip": local.address,
          "net.host.port": BigInt(local.port),
        }
        : undefined;
      chain = chain.then(() => deliver(messages, net, udpCounters, false));
    });
    socket.on("error", (error) => logger.debug("Syslog UDP socket error", { error }));
    logger.info("Starting syslog UDP listener", { endpoint: `${local.address}:${local.port}` });
  }

  return {
    async start() {
      if (config.tcp !== undefined) {
        const { hostname, port } = splitHostPort(config.tcp.listen_address);
        server = await serveStream(
          config.tcp.listen_address,
          { hostname, port, tls: config.tcp.tls },
          handle,
        );
        logger.info("Starting syslog TCP listener", {
          endpoint: `${server.addr.hostname}:${server.addr.port}`,
          tls: config.tcp.tls !== undefined,
        });
      }
      if (config.udp !== undefined) {
        try {
          await startUdp(config.udp.listen_address);
        } catch (error) {
          await server?.shutdown();
          throw error;
        }
      }
    },
    async shutdown() {
      udp?.close();
      udp = undefined;
      stopping.abort();
      await server?.shutdown();
      const rest: Entry[] = [];
      pipeline.flush((e) => rest.push(e));
      if (rest.length > 0 && logs !== undefined) {
        await logs.consume(Payload.of("logs", entriesToLogsData(rest))).catch(() => {});
      }
    },
  };
}

/** The `syslog` receiver factory. */
export const syslogReceiverFactory: ReceiverFactory<SyslogConfig> = {
  kind: "receiver",
  type: "syslog",
  configSchema: syslogConfigSchema,
  signals: { logs: "beta" },
  create: createSyslogReceiver,
};
