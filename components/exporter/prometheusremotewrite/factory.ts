/**
 * The `prometheus_remote_write` exporter (older name `prometheusremotewrite`): translates metrics
 * into Prometheus series (`_translate.ts`), encodes them as remote write 1.0 `WriteRequest`s or
 * 2.0 `Request`s split under `max_batch_size_bytes` (`lib/prometheus/remote_write.ts`),
 * snappy-compresses each and POSTs them, up to `max_batch_request_parallelism` at once.
 *
 * Answers: 2xx is success; 5xx and 429 are retryable (the exporter helper retries with backoff and
 * honours `Retry-After`); any other status is permanent: the batch is dropped and counted in
 * `otelcol_exporter_send_failed_metric_points`. Network failures are retryable. When a batch
 * was split, a retryable failure stops the batch's remaining requests, and the retry sends only
 * the requests that have not yet succeeded, so a sample is not written twice. Points remote write cannot carry (delta sums and histograms, names that cannot
 * be translated) are dropped, counted in `tfo_exporter_prometheusremotewrite_dropped_points` and
 * in the Collector's `otelcol_exporter_prometheusremotewrite_failed_translations` (one per batch
 * with a failure), and the rest is sent.
 *
 * @module
 */
import { displayUrl, loadHttpClientTls } from "../../../lib/net/http_client_tls.ts";
import type { CreateSettings, Exporter, ExporterFactory } from "../../component.ts";
import { permanentError, retryableError } from "../../../lib/consumer/consumer.ts";
import { classifyNetworkFailure, parseRetryAfter } from "../../../lib/exporterhelper/classify.ts";
import {
  createExporterHelper,
  type PushBySignal,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import { HttpClient } from "../../../lib/net/http_client.ts";
import { snappyCompress } from "../../../lib/net/snappy.ts";
import { resolveClientAuth, withAuthHeaders } from "../../../lib/net/client_auth.ts";
import type { ClientAuthenticator } from "../../../lib/net/auth.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import {
  encodeWriteRequestsV1,
  encodeWriteRequestsV2,
} from "../../../lib/prometheus/remote_write.ts";
import { labelName } from "../../../lib/prometheus/naming.ts";
import {
  type PrwConfig,
  prwConfigSchema,
  resourceLabelFilter,
  RW_V2,
  translation,
} from "./config.ts";
import { SeriesCache, translate, type TranslateOptions } from "./_translate.ts";

const utf8Decoder = new TextDecoder();

/** The translation settings of a config. */
export function translateOptions(config: PrwConfig): TranslateOptions {
  const { withSuffixes, utf8Allowed } = translation(config);
  const externalLabels = new Map<string, string>();
  for (const [k, v] of Object.entries(config.external_labels)) {
    externalLabels.set(labelName(k, utf8Allowed) ?? k, v);
  }
  const resourceLabels = resourceLabelFilter(config);
  return {
    naming: { namespace: config.namespace, withSuffixes, utf8Allowed },
    externalLabels,
    targetInfo: config.target_info.enabled,
    disableScopeInfo: config.disable_scope_info,
    sendMetadata: config.send_metadata && config.protobuf_message !== RW_V2,
    v2: config.protobuf_message === RW_V2,
    ...(resourceLabels === undefined ? {} : { resourceLabels }),
  };
}

/** The outcome of one request. */
type Outcome = { ok: true } | {
  ok: false;
  permanent: boolean;
  message: string;
  retryAfterMs?: number;
};

/** Creates one `prometheus_remote_write` exporter instance. */
export function createPrwExporter(
  settings: CreateSettings<PrwConfig>,
  _signals: readonly Signal[],
): Exporter {
  const { config, logger } = settings;
  const v2 = config.protobuf_message === RW_V2;
  const options = translateOptions(config);
  const url = config.endpoint;
  const context = `Cannot write to ${displayUrl(url)}`;
  const userAgent = `${settings.buildInfo.command}/${settings.buildInfo.version}`;
  const baseHeaders: Record<string, string> = {
    ...config.headers,
    "User-Agent": userAgent,
    "Content-Encoding": "snappy",
    "Content-Type": v2 ? `application/x-protobuf;proto=${RW_V2}` : "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": v2 ? "2.0.0" : "0.1.0",
  };
  new Headers(baseHeaders); // throws now, not on every export, when a header is invalid
  const metadataKeys = config.include_metadata_keys;

  const prwLabels = { endpoint: url };
  const failedTranslations = settings.meter.counter(
    "otelcol_exporter_prometheusremotewrite_failed_translations",
    "Number of translation operations that failed to translate metrics from Otel to Prometheus",
    prwLabels,
    { unit: "1" },
  );
  const translatedSeries = settings.meter.counter(
    "otelcol_exporter_prometheusremotewrite_translated_time_series",
    "Number of Prometheus time series that were translated from OTel metrics",
    prwLabels,
    { unit: "1" },
  );
  const sentBatches = settings.meter.counter(
    "otelcol_exporter_prometheusremotewrite_sent_batches",
    "Number of remote write request batches sent to the remote write endpoint regardless of " +
      "success or failure",
    prwLabels,
    { unit: "{batch}" },
  );
  settings.meter.observe(
    "otelcol_exporter_prometheusremotewrite_consumers",
    "Number of configured workers to use to fan out the outgoing requests",
    prwLabels,
    () => config.parallelism,
    { unit: "{consumer}" },
  );
  const droppedPoints = settings.meter.counter(
    "tfo_exporter_prometheusremotewrite_dropped_points",
    "Metric points the remote write exporter could not translate (delta temporality, invalid " +
      "names) and dropped",
  );
  const rejectedRequests = settings.meter.counter(
    "tfo_exporter_prometheusremotewrite_rejected_requests",
    "Remote write requests the server refused permanently (4xx other than 429)",
  );

  let client: HttpClient | undefined;
  let authenticator: ClientAuthenticator | undefined;
  let stopped = false;
  /** Requests of a batch already written, by batch, so a retry skips them. */
  const written = new WeakMap<Payload<"metrics">, Set<number>>();
  /** Series labels (and their encoding) remembered between requests. */
  const seriesCache = new SeriesCache();

  function headersFor(payload: Payload<"metrics">): Record<string, string> {
    let headers = baseHeaders;
    if (metadataKeys.length > 0) {
      headers = { ...baseHeaders };
      for (const key of metadataKeys) {
        const values = payload.client.metadata.get(key.toLowerCase());
        if (values !== undefined && values.length > 0) headers[key] = values.join(", ");
      }
    }
    return withAuthHeaders(headers, authenticator, context, payload.client);
  }

  async function send(
    body: Uint8Array,
    headers: Record<string, string>,
    abort: AbortSignal,
  ): Promise<Outcome> {
    let result;
    try {
      sentBatches.add(1);
      result = await client!.post(url, body, {
        headers,
        timeoutMs: 0, // the exporter helper's timeout aborts `abort`
        signal: abort,
        compression: "none",
        maxResponseBytes: 1024,
      });
    } catch (error) {
      const e = classifyNetworkFailure(context, error);
      return { ok: false, permanent: false, message: e.message };
    }
    if (result.status >= 200 && result.status < 300) return { ok: true };
    const text = utf8Decoder.decode(result.body).trim().replaceAll(/\s+/g, " ").slice(0, 256);
    const message = `${context}: HTTP ${result.status}${text === "" ? "" : `: ${text}`}`;
    const retryable = result.status === 429 || (result.status >= 500 && result.status < 600);
    if (!retryable) return { ok: false, permanent: true, message };
    const retryAfterMs = parseRetryAfter(result.headers.get("retry-after"));
    return retryAfterMs === undefined
      ? { ok: false, permanent: false, message }
      : { ok: false, permanent: false, message, retryAfterMs };
  }

  async function push(payload: Payload<"metrics">, abort: AbortSignal): Promise<void> {
    if (client === undefined || stopped) {
      throw retryableError(`${context}: the exporter is ${stopped ? "shut down" : "not started"}`);
    }
    const t = translate(payload.peek(), options, seriesCache);
    if (t.errors.length > 0 || t.dropped > 0) {
      failedTranslations.add(1);
      if (t.dropped > 0) droppedPoints.add(t.dropped);
      logger.debug("Failed to translate metrics, exporting the rest", {
        dropped_points: t.dropped,
        errors: t.errors,
      });
    }
    translatedSeries.add(t.series.length);
    if (t.series.length === 0) return;
    // Compressed bodies: the snappy form is what is sent, and what a retry sends again.
    const bodies = v2
      ? encodeWriteRequestsV2(t.series, config.max_batch_size_bytes, snappyCompress)
      : encodeWriteRequestsV1(t.series, t.metadata, config.max_batch_size_bytes, snappyCompress);
    let done = written.get(payload);
    if (done === undefined) {
      done = new Set();
      written.set(payload, done);
    }
    const headers = headersFor(payload);
    const pending = bodies.map((_, i) => i).filter((i) => !done.has(i));
    const failures: Outcome[] = [];
    let next = 0;
    // After a retryable failure (an overloaded or failing server) the rest waits for the retry.
    let halted = false;
    const worker = async () => {
      while (next < pending.length && !halted) {
        const i = pending[next++]!;
        const outcome = await send(bodies[i]!, headers, abort);
        if (outcome.ok) {
          done.add(i);
        } else {
          failures.push(outcome);
          if (!outcome.permanent) halted = true;
          if (outcome.permanent) {
            done.add(i);
            rejectedRequests.add(1);
          }
        }
      }
    };
    const workers = Math.min(config.parallelism, pending.length);
    await Promise.all(Array.from({ length: workers }, worker));
    if (failures.length === 0) {
      written.delete(payload);
      return;
    }
    const retry = failures.find((f) => !f.ok && !f.permanent);
    if (retry !== undefined && !retry.ok) {
      let wait: number | undefined;
      for (const f of failures) {
        if (!f.ok && f.retryAfterMs !== undefined) wait = Math.max(wait ?? 0, f.retryAfterMs);
      }
      throw retryableError(retry.message, wait === undefined ? {} : { retryAfterMs: wait });
    }
    written.delete(payload);
    const first = failures[0]!;
    throw permanentError(
      `${first.ok ? context : first.message}` +
        (bodies.length > 1 ? ` (${failures.length} of ${bodies.length} requests refused)` : ""),
    );
  }

  const helper = createExporterHelper(
    settings,
    config,
    { metrics: push } as PushBySignal,
  );

  return {
    consumers: helper.consumers,
    async start(host) {
      if (stopped || client !== undefined) return;
      authenticator = resolveClientAuth(host, config.auth);
      client = new HttpClient(await loadHttpClientTls(config.tls));
      await helper.start(host);
    },
    async shutdown() {
      await helper.shutdown();
      stopped = true;
      client?.close();
      client = undefined;
    },
  };
}

/** The `prometheus_remote_write` exporter factory (registered under its older name too). */
export const prwExporterFactory: ExporterFactory<PrwConfig> = {
  kind: "exporter",
  type: "prometheusremotewrite",
  configSchema: prwConfigSchema,
  signals: { metrics: "beta" },
  create: createPrwExporter,
};
