/**
 * The `kubelet_stats` receiver (the Collector's `kubeletstats`): node, pod, container and volume
 * metrics from one kubelet's `/stats/summary`, scraped every `collection_interval` (the first
 * after `initial_delay`). Run it in a DaemonSet, each instance scraping its own node's kubelet
 * (`endpoint: https://${env:K8S_NODE_NAME}:10250`).
 *
 * A failed scrape — the kubelet unreachable, its certificate refused, `401` / `403` for the
 * credentials, an answer that is not a Summary — is logged (rate-limited per kind of failure, with
 * the reason and what to check) and the next interval tries again; the receiver never fails to start for it.
 * `extra_metadata_labels` add a `/pods` request per scrape (see `metadata.ts`).
 *
 * @module
 */
import type { CreateSettings, Receiver, ReceiverFactory } from "../../component.ts";
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { errorMessage } from "../../../lib/consumer/consumer.ts";
import { type Clock, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import { K8sClient, k8sConnection } from "../../../lib/k8s/client.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import { nowUnixNano } from "../../../lib/pdata/new.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import { instrumentReceiverOutput } from "../../../lib/telemetry/receiver_metrics.ts";
import { kubeletClient, type KubeletClientOptions, KubeletHttpError } from "./client.ts";
import { type KubeletStatsConfig, kubeletStatsConfigSchema } from "./config.ts";
import { type PodMetadata, PodMetadataReader } from "./metadata.ts";
import { type SkipNote, summaryMetrics } from "./metrics.ts";
import { asSummary } from "./summary.ts";

/** Options of {@linkcode createKubeletStatsReceiver}, for tests. */
export interface KubeletStatsOptions extends KubeletClientOptions {
  /** Time and timers of the schedule. @default SYSTEM_CLOCK */
  readonly clock?: Clock;
}

/** Creates one `kubelet_stats` receiver. */
export function createKubeletStatsReceiver(
  settings: CreateSettings<KubeletStatsConfig>,
  next: SignalConsumers,
  options: KubeletStatsOptions = {},
): Receiver {
  const { config, logger, meter } = settings;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const raw = next.metrics as Consumer<"metrics"> | undefined;
  const output = raw === undefined ? undefined : instrumentReceiverOutput("metrics", raw, meter);
  const client = kubeletClient(config, options);
  const timeout = config.timeout > 0 ? config.timeout : config.collection_interval;
  // One rate limit per kind of failure, so that a new kind (403 after 401) is logged at once.
  const scrapeErrors = new Map<string, RateLimitedLog>();
  const scrapeError = (error: unknown) => {
    const kind = error instanceof KubeletHttpError ? String(error.status) : "other";
    let log = scrapeErrors.get(kind);
    if (log === undefined) {
      scrapeErrors.set(
        kind,
        log = new RateLimitedLog(logger, "error", "Cannot scrape the kubelet", clock),
      );
    }
    return log;
  };
  const skipWarning = new RateLimitedLog(
    logger,
    "warn",
    "Left out metrics whose extra metadata the kubelet's /pods lacks",
    clock,
  );
  const claimError = new RateLimitedLog(
    logger,
    "warn",
    "Cannot resolve a persistent volume claim through the Kubernetes API; using the claim's labels",
    clock,
  );
  let api: Promise<K8sClient> | undefined;
  const apiConfig = config.k8s_api_config;
  const reader = new PodMetadataReader(
    apiConfig === undefined
      ? undefined
      : () =>
        api ??= k8sConnection(apiConfig.auth_type, options.kubeconfig).then(
          (c) => new K8sClient(c),
          (error) => {
            api = undefined;
            throw error;
          },
        ),
    (error, claim) => claimError.log({ claim, error: errorMessage(error) }),
  );
  let running = false;
  let timer: unknown;
  let inflight: Promise<void> | undefined;
  let abort = new AbortController();
  let nextDue = 0;

  async function collect(): Promise<void> {
    let metadata: PodMetadata | undefined;
    let data;
    const skipped: SkipNote[] = [];
    try {
      const summary = asSummary(await client.get("/stats/summary", timeout, abort.signal));
      if (config.extra_metadata_labels.length > 0) {
        metadata = await reader.read(await client.get("/pods", timeout, abort.signal));
      }
      data = summaryMetrics(
        config,
        summary,
        nowUnixNano(),
        settings.buildInfo.version,
        metadata,
        skipped,
      );
    } catch (error) {
      if (abort.signal.aborted) return;
      scrapeError(error).log({
        endpoint: await client.base().catch(() => config.endpoint),
        error: errorMessage(error),
      });
      return;
    }
    if (skipped.length > 0) {
      skipWarning.log({ count: skipped.length, first: skipped.slice(0, 3) });
    }
    if (output === undefined || data.resourceMetrics.length === 0) return;
    try {
      await output.consume(Payload.of("metrics", data));
    } catch (error) {
      logger.warn("The pipeline refused kubelet metrics", { error: errorMessage(error) });
    }
  }

  function run(): void {
    timer = undefined;
    if (!running) return;
    const started = clock.now();
    nextDue = (nextDue === 0 ? started : nextDue) + config.collection_interval;
    if (nextDue < started) nextDue = started + config.collection_interval;
    inflight = collect().finally(() => {
      inflight = undefined;
      if (running) timer = clock.setTimer(run, Math.max(0, nextDue - clock.now()));
    });
  }

  return {
    start() {
      if (running) return Promise.resolve();
      running = true;
      nextDue = 0;
      abort = new AbortController();
      timer = clock.setTimer(run, config.initial_delay);
      return Promise.resolve();
    },
    async shutdown() {
      running = false;
      if (timer !== undefined) clock.clearTimer(timer);
      timer = undefined;
      abort.abort();
      while (inflight !== undefined) await inflight;
      const pending = api;
      api = undefined;
      (await pending?.catch(() => undefined))?.close();
    },
  };
}

/** The `kubelet_stats` receiver factory (`kubeletstats`, its older name, selects it too). */
export const kubeletStatsReceiverFactory: ReceiverFactory<KubeletStatsConfig> = {
  kind: "receiver",
  type: "kubelet_stats",
  aliases: ["kubeletstats"],
  configSchema: kubeletStatsConfigSchema,
  signals: { metrics: "beta" },
  create: (settings, next) => createKubeletStatsReceiver(settings, next),
};
