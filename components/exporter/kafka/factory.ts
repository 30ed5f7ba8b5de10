/**
 * The `kafka` exporter: traces, metrics and logs to Kafka topics as the Collector's contrib `kafka`
 * exporter writes them (records made as `messages.ts` describes), through `@platformatic/kafka`, a
 * pure-JavaScript client that speaks the current protocol (KRaft brokers, Kafka 4).
 *
 * An export is one produce request with every record of the payload; it succeeds once the broker
 * acknowledged it as `producer.required_acks` asks. Failures: a broker that cannot be reached, a
 * timeout, a leader change and other broker errors are retryable (the exporter helper retries and
 * queues); a record too large for the broker, an invalid topic or a refused authorization is
 * permanent, dropped and counted with the broker's message. The client connects lazily, so
 * starting never waits for a broker.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Producer } from "@platformatic/kafka";
import type { CreateSettings, Exporter, ExporterFactory } from "../../component.ts";
import { permanentError, retryableError } from "../../../lib/consumer/consumer.ts";
import {
  createExporterHelper,
  type PushBySignal,
  type PushFunc,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import {
  isPermanentKafkaError,
  kafkaClientOptions,
  kafkaErrorDetails,
} from "../../../lib/kafka/client_config.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { encodedPayload } from "../otlp/signals.ts";
import { type KafkaExporterConfig, kafkaExporterConfigSchema } from "./config.ts";
import { recordsOf } from "./messages.ts";

type BufferProducer = Producer<Buffer, Buffer, string, Buffer>;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The record headers of a payload: static ones, then the request metadata keys asked for. */
function headersOf(config: KafkaExporterConfig, payload: Payload): Record<string, Buffer> {
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(config.record_headers)) {
    headers[name] = Buffer.from(value);
  }
  for (const key of config.include_metadata_keys) {
    const values = payload.client.metadata.get(key.toLowerCase());
    if (values !== undefined && values.length > 0) headers[key] = Buffer.from(values[0]!);
  }
  return headers;
}

/** Creates one `kafka` exporter instance. */
export function createKafkaExporter(
  settings: CreateSettings<KafkaExporterConfig>,
  _signals: readonly Signal[],
): Exporter {
  const { config, logger } = settings;
  const context = `Cannot export to Kafka (${config.brokers.join(",")})`;
  const messages = {
    sent: settings.meter.counter(
      "otelcol_kafka_exporter_messages",
      "Number of Kafka records produced.",
      { outcome: "success" },
    ),
    failed: settings.meter.counter(
      "otelcol_kafka_exporter_messages",
      "Number of Kafka records produced.",
      { outcome: "failure" },
    ),
    bytes: settings.meter.counter(
      "otelcol_kafka_exporter_bytes",
      "Number of bytes in Kafka records produced (before compression).",
      {},
      { unit: "By" },
    ),
    tooLarge: settings.meter.counter(
      "tfo_kafka_exporter_items_too_large",
      "Items left out because one alone exceeds producer.max_message_bytes.",
    ),
  };
  const hasHeaders = Object.keys(config.record_headers).length > 0 ||
    config.include_metadata_keys.length > 0;
  let producer: BufferProducer | undefined;
  let stopped = false;

  function pushFor<S extends Signal>(_signal: S): PushFunc<S> {
    return async (payload: Payload<S>, abort: AbortSignal) => {
      if (producer === undefined || stopped) {
        throw retryableError(
          `${context}: the exporter is ${stopped ? "shut down" : "not started"}`,
        );
      }
      const { records, tooLarge } = recordsOf(config, payload);
      if (tooLarge > 0) {
        messages.tooLarge.add(tooLarge);
        logger.warn("Items larger than producer.max_message_bytes were dropped", {
          items: tooLarge,
          max_message_bytes: config.producer.max_message_bytes,
        });
        if (records.length === 0) {
          throw permanentError(
            `${context}: every item is larger than producer.max_message_bytes ` +
              `(${config.producer.max_message_bytes})`,
          );
        }
      }
      const headers = hasHeaders ? headersOf(config, payload) : undefined;
      const batch = records.map((r) => ({
        topic: r.topic,
        value: asBuffer(r.value),
        ...(r.key === undefined ? {} : { key: asBuffer(r.key) }),
        ...(headers === undefined ? {} : { headers }),
      }));
      const size = records.reduce((n, r) => n + r.value.length, 0);
      const sending = producer.send({ messages: batch });
      // The records may be views of the payload's pooled bytes, and the producer may go on
      // writing them after this attempt gave up: the payload stays leased until it is done.
      if (payload.leased) {
        payload.retain();
        sending.then(() => payload.release(), () => payload.release());
      }
      const aborted = new Promise<never>((_, reject) => {
        if (abort.aborted) reject(abort.reason);
        abort.addEventListener("abort", () => reject(abort.reason), { once: true });
      });
      try {
        await Promise.race([sending, aborted]);
      } catch (error) {
        sending.catch(() => {}); // settled later, after the deadline; already reported
        messages.failed.add(records.length);
        const { message } = kafkaErrorDetails(error);
        if (abort.aborted) throw retryableError(`${context}: timed out`, { cause: error });
        if (isPermanentKafkaError(error)) {
          throw permanentError(`${context}: ${message}`, { cause: error });
        }
        throw retryableError(`${context}: ${message}`, { cause: error });
      }
      messages.sent.add(records.length);
      messages.bytes.add(size);
    };
  }

  const pushes: PushBySignal = {
    traces: pushFor("traces"),
    metrics: pushFor("metrics"),
    logs: pushFor("logs"),
  };
  const anyJson = config.traces.encoding === "otlp_json" ||
    config.metrics.encoding === "otlp_json" || config.logs.encoding === "otlp_json";
  // Queued as protobuf when every record is protobuf: batches merge by joining bytes.
  const helper = createExporterHelper(
    settings,
    config,
    pushes,
    anyJson ? {} : { beforeQueue: encodedPayload },
  );

  return {
    consumers: helper.consumers,
    async start(host) {
      if (stopped || producer !== undefined) return;
      const options = await kafkaClientOptions(config, config.timeout || 30_000);
      producer = new Producer<Buffer, Buffer, string, Buffer>({
        ...options,
        acks: config.producer.required_acks,
        compression: config.producer.compression,
        autocreateTopics: config.producer.allow_auto_topic_creation,
        serializers: {
          headerKey: (key?: string) => key === undefined ? undefined : Buffer.from(key),
        },
      }) as BufferProducer;
      producer.on("error", (error: unknown) => {
        logger.debug("Kafka producer error", { error: kafkaErrorDetails(error).message });
      });
      await helper.start(host);
    },
    async shutdown() {
      await helper.shutdown();
      stopped = true;
      const p = producer;
      producer = undefined;
      await p?.close().catch((error: unknown) =>
        logger.debug("Closing the Kafka producer failed", { error })
      );
    },
  };
}

/** The `kafka` exporter factory. */
export const kafkaExporterFactory: ExporterFactory<KafkaExporterConfig> = {
  kind: "exporter",
  type: "kafka",
  configSchema: kafkaExporterConfigSchema,
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: createKafkaExporter,
};
