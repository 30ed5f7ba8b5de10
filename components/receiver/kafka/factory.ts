/**
 * The `kafka` receiver: reads OTLP records (`otlp_proto` or `otlp_json`) from Kafka topics as a
 * member of a consumer group, as the Collector's contrib `kafka` receiver does, through
 * `@platformatic/kafka` (pure JavaScript, the current protocol). The group shares the partitions
 * between its members and hands a dead member's partitions to the others after `session_timeout`.
 *
 * Records are handed to the pipeline one after the other, each awaited, so a slow pipeline slows the
 * reading (the client's buffer holds at most a few fetched records). Offsets follow
 * `message_marking` and `autocommit`:
 *
 * - `after: false` (the Collector's default): a record is marked before the pipeline sees it;
 * - `after: true`: once the pipeline accepted it. A refused record is marked anyway when
 *   `on_error` (retryable refusals) or `on_permanent_error` says so; otherwise it is offered again,
 *   waiting as `error_backoff` says (1 s when it is disabled), until the pipeline takes it, so
 *   nothing acknowledged by Kafka is lost (a permanent refusal then blocks its partition, as the
 *   Collector warns);
 * - `autocommit.enable`: marked offsets are committed every `interval`, and at shutdown; off: each
 *   marked offset is committed before the next record is read.
 *
 * With `after: true` a kill -9 loses nothing: records after the last committed offset are read
 * again by whichever member gets the partition (at least once). A record that is not OTLP of the
 * topic's encoding is counted as failed, logged (rate-limited) and marked: it can never be read.
 * Record headers become the request metadata (`request["name"]` in OTTL, `include_metadata_keys`
 * of a `kafka` exporter further on); `header_extraction` copies chosen ones to resource attributes.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { Consumer, type Message, type MessagesStream } from "@platformatic/kafka";
import type { Receiver, ReceiverFactory } from "../../component.ts";
import type { Consumer as PipelineConsumer } from "../../../lib/consumer/consumer.ts";
import { errorMessage, isPermanent } from "../../../lib/consumer/consumer.ts";
import { ExponentialBackoff } from "../../../lib/backoff.ts";
import { sleep, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import { kafkaClientOptions, kafkaErrorDetails } from "../../../lib/kafka/client_config.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import { OTLP_SIGNALS, type OtlpSignal } from "../../../lib/otlp/signals.ts";
import {
  validateLogsRequest,
  validateMetricsRequest,
  validateTracesRequest,
} from "../../../lib/otlp/validate.ts";
import { type ClientInfo, Payload } from "../../../lib/pdata/payload.ts";
import type { KeyValue, Signal, SignalData } from "../../../lib/pdata/types.ts";
import {
  type ReceiverCounters,
  receiverCounters,
} from "../../../lib/telemetry/receiver_metrics.ts";
import { type KafkaReceiverConfig, kafkaReceiverConfigSchema } from "./config.ts";

type BufferMessage = Message<Buffer, Buffer, string, Buffer>;
type BufferConsumer = Consumer<Buffer, Buffer, string, Buffer>;

const VALIDATE: { readonly [S in Signal]: (bytes: Uint8Array) => number } = {
  traces: validateTracesRequest,
  metrics: validateMetricsRequest,
  logs: validateLogsRequest,
};

/** What a topic carries. */
interface TopicRoute {
  readonly signal: Signal;
  readonly encoding: "otlp_proto" | "otlp_json";
  readonly next: PipelineConsumer;
  readonly counters: ReceiverCounters;
}

/** A record that is not OTLP of its topic's encoding. */
class UndecodableRecord extends Error {}

/** Creates a `kafka` receiver. */
function createKafkaReceiver(
  settings: Parameters<ReceiverFactory<KafkaReceiverConfig>["create"]>[0],
  next: Parameters<ReceiverFactory<KafkaReceiverConfig>["create"]>[1],
): Receiver {
  const { config, logger, meter } = settings;
  const routes = new Map<string, TopicRoute>();
  for (const signal of ["traces", "metrics", "logs"] as const) {
    const consumer = next[signal] as PipelineConsumer | undefined;
    if (consumer === undefined) continue;
    const counters = receiverCounters(meter, signal, "kafka");
    for (const topic of config[signal].topics) {
      routes.set(topic, { signal, encoding: config[signal].encoding, next: consumer, counters });
    }
  }
  const messages = meter.counter(
    "otelcol_kafka_receiver_messages",
    "Number of Kafka records received.",
  );
  const badRecord = new RateLimitedLog(logger, "warn", "Dropping a Kafka record", SYSTEM_CLOCK);
  const markAfter = config.message_marking.after;
  const markOnError = config.message_marking.on_error;
  const markOnPermanent = config.message_marking.on_permanent_error ?? markOnError;
  const extract = config.header_extraction.extract_headers ? config.header_extraction.headers : [];
  let client: BufferConsumer | undefined;
  let stream: MessagesStream<Buffer, Buffer, string, Buffer> | undefined;
  let loop: Promise<void> | undefined;
  /** The record being handed to the pipeline, if any. */
  let inFlight: Promise<void> | undefined;
  let commitTimer: ReturnType<typeof setInterval> | undefined;
  const stopping = new AbortController();
  /** The last marked record of each partition, not yet committed. */
  const marked = new Map<string, BufferMessage>();

  function clientOf(message: BufferMessage): ClientInfo {
    const metadata = new Map<string, string[]>();
    for (const [key, value] of message.headerEntries) {
      const name = String(key).toLowerCase();
      const list = metadata.get(name);
      const text = value.toString("utf8");
      if (list === undefined) metadata.set(name, [text]);
      else list.push(text);
    }
    return { metadata, auth: new Map() };
  }

  function withHeaderAttributes<S extends Signal>(
    route: TopicRoute,
    data: SignalData[S],
    client: ClientInfo,
  ): void {
    const added: KeyValue[] = [];
    for (const name of extract) {
      const value = client.metadata.get(name.toLowerCase())?.[0];
      if (value !== undefined) added.push({ key: `kafka.header.${name}`, value });
    }
    if (added.length === 0) return;
    const resources = route.signal === "traces"
      ? (data as SignalData["traces"]).resourceSpans
      : route.signal === "metrics"
      ? (data as SignalData["metrics"]).resourceMetrics
      : (data as SignalData["logs"]).resourceLogs;
    for (const entry of resources) {
      const attributes = entry.resource.attributes;
      for (const kv of added) {
        const at = attributes.findIndex((a) => a.key === kv.key);
        if (at >= 0) attributes[at] = kv;
        else attributes.push(kv);
      }
    }
  }

  function payloadOf(route: TopicRoute, message: BufferMessage): Payload {
    const bytes = new Uint8Array(
      message.value.buffer,
      message.value.byteOffset,
      message.value.byteLength,
    );
    const client = clientOf(message);
    const codec = OTLP_SIGNALS[route.signal] as OtlpSignal<Signal>;
    try {
      if (route.encoding === "otlp_json") {
        const data = codec.decodeJson(bytes);
        withHeaderAttributes(route, data, client);
        return Payload.of(route.signal, data, client);
      }
      const items = VALIDATE[route.signal](bytes);
      const payload = Payload.fromProto(route.signal, bytes, codec.proto, client, items);
      if (extract.length > 0) withHeaderAttributes(route, payload.edit(), client);
      return payload;
    } catch (error) {
      throw new UndecodableRecord(errorMessage(error));
    }
  }

  async function commit(message: BufferMessage): Promise<void> {
    try {
      await message.commit();
    } catch (error) {
      // The partition may have moved to another member: it reads from the last committed offset.
      logger.debug("Committing a Kafka offset failed", {
        topic: message.topic,
        partition: message.partition,
        error: kafkaErrorDetails(error).message,
      });
    }
  }

  async function mark(message: BufferMessage): Promise<void> {
    if (config.autocommit.enable) {
      marked.set(`${message.topic}\u0000${message.partition}`, message);
    } else {
      await commit(message);
    }
  }

  async function flushMarked(): Promise<void> {
    const pending = [...marked.values()];
    marked.clear();
    await Promise.all(pending.map(commit));
  }

  /** Hands one record to its pipeline, offering it again while it must not be marked. */
  async function handle(message: BufferMessage): Promise<void> {
    messages.add(1);
    const route = routes.get(message.topic);
    if (route === undefined) return mark(message);
    let payload: Payload;
    try {
      payload = payloadOf(route, message);
    } catch (error) {
      route.counters.failed.add(1);
      badRecord.log({
        topic: message.topic,
        partition: message.partition,
        offset: String(message.offset),
        reason: errorMessage(error),
      });
      return mark(message);
    }
    if (!markAfter) await mark(message);
    const backoff = config.error_backoff.enabled
      ? new ExponentialBackoff(config.error_backoff, { capAtMax: true })
      : undefined;
    const first = Date.now();
    for (;;) {
      const count = payload.itemCount;
      try {
        await route.next.consume(payload);
        route.counters.accepted.add(count);
        if (markAfter) await mark(message);
        return;
      } catch (error) {
        route.counters.refused.add(count);
        const permanent = isPermanent(error);
        const giveUp = !markAfter || (permanent ? markOnPermanent : markOnError) ||
          (config.error_backoff.enabled && config.error_backoff.max_elapsed_time > 0 &&
            Date.now() - first >= config.error_backoff.max_elapsed_time);
        logger.debug("The pipeline refused a Kafka record", {
          topic: message.topic,
          partition: message.partition,
          offset: String(message.offset),
          error,
          retrying: !giveUp,
        });
        if (giveUp) {
          if (markAfter) await mark(message);
          return;
        }
        await sleep(SYSTEM_CLOCK, backoff?.next() ?? 1000, stopping.signal);
        if (stopping.signal.aborted) return; // not marked: read again after a restart
      }
    }
  }

  async function run(): Promise<void> {
    const retry = new ExponentialBackoff({
      initial_interval: 500,
      max_interval: 10_000,
      multiplier: 2,
      randomization_factor: 0.2,
    }, { capAtMax: true });
    while (!stopping.signal.aborted) {
      try {
        stream = await client!.consume({
          topics: [...routes.keys()],
          mode: "committed",
          fallbackMode: config.initial_offset,
          autocommit: false,
          sessionTimeout: config.session_timeout,
          heartbeatInterval: config.heartbeat_interval,
          minBytes: config.min_fetch_size,
          maxBytes: config.max_fetch_size,
          maxBytesPerPartition: config.max_partition_fetch_size,
          maxWaitTime: config.max_fetch_wait,
          highWaterMark: 16,
          ...(config.group_instance_id === undefined
            ? {}
            : { groupInstanceId: config.group_instance_id }),
        });
        retry.reset();
        logger.info("Reading from Kafka", { topics: [...routes.keys()], group: config.group_id });
        stream.on(
          "error",
          (error: unknown) =>
            logger.warn("Kafka consumer error", { error: kafkaErrorDetails(error).message }),
        );
        for await (const message of stream as AsyncIterable<BufferMessage>) {
          inFlight = handle(message);
          await inFlight;
          inFlight = undefined;
          if (stopping.signal.aborted) break;
        }
      } catch (error) {
        if (stopping.signal.aborted) break;
        logger.warn("Cannot read from Kafka; trying again", {
          brokers: config.brokers.join(","),
          error: kafkaErrorDetails(error).message,
        });
      }
      const s = stream;
      stream = undefined;
      await s?.close().catch(() => {});
      if (!stopping.signal.aborted) await sleep(SYSTEM_CLOCK, retry.next(), stopping.signal);
    }
  }

  return {
    async start() {
      if (routes.size === 0 || client !== undefined) return;
      const options = await kafkaClientOptions(config, 30_000);
      client = new Consumer<Buffer, Buffer, string, Buffer>({
        ...options,
        groupId: config.group_id,
        autocreateTopics: true,
        deserializers: { headerKey: (key?: Buffer) => key?.toString("utf8") ?? "" },
      }) as BufferConsumer;
      client.on(
        "error",
        (error: unknown) =>
          logger.debug("Kafka client error", { error: kafkaErrorDetails(error).message }),
      );
      if (config.autocommit.enable) {
        commitTimer = setInterval(() => void flushMarked(), config.autocommit.interval);
      }
      // Never waits for a broker: the loop connects, and reconnects, in the background.
      loop = run();
    },
    async shutdown() {
      stopping.abort();
      if (commitTimer !== undefined) clearInterval(commitTimer);
      // The record in the pipeline finishes (and is marked), its offset is committed, then the
      // stream closes.
      await inFlight?.catch(() => {});
      await flushMarked();
      const s = stream;
      stream = undefined;
      await s?.close().catch(() => {});
      await loop;
      const c = client;
      client = undefined;
      await c?.close(true).catch((error: unknown) =>
        logger.debug("Closing the Kafka consumer failed", { error })
      );
    },
  };
}

/** The `kafka` receiver factory. */
export const kafkaReceiverFactory: ReceiverFactory<KafkaReceiverConfig> = {
  kind: "receiver",
  type: "kafka",
  configSchema: kafkaReceiverConfigSchema,
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: createKafkaReceiver,
};
