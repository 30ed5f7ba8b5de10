/**
 * The `k8s_events` receiver: Kubernetes events as logs, as the Collector's contrib receiver reports
 * them (see `logs.ts`). It lists and watches core/v1 Events (all namespaces, or each of
 * `namespaces`) through lib/k8s's informer — resourceVersion, bookmarks, relist on 410 Gone — and
 * logs an event when it is added or changed (a repeated event raises its count), once per
 * resourceVersion, so a relist does not repeat what was logged.
 *
 * Only events whose time (last, first or event time) is not before the receiver's start are
 * logged, so a restart does not replay the cluster's last hour. The informer's cache holds the
 * events the API server still keeps (it expires them, an hour by default): it is bounded by the
 * cluster. Events waiting for a slow pipeline are bounded by `max_pending` (the oldest dropped,
 * counted and logged).
 *
 * Credentials that cannot be had (not in a pod, no kubeconfig), an unreachable API server and a
 * refused RBAC permission are logged (rate-limited) and retried with backoff; start never fails
 * for them.
 *
 * @module
 */
import type { CreateSettings, Receiver, ReceiverFactory } from "../../component.ts";
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { errorMessage } from "../../../lib/consumer/consumer.ts";
import { ExponentialBackoff } from "../../../lib/backoff.ts";
import { sleep, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import { K8sClient, k8sConnection } from "../../../lib/k8s/client.ts";
import { type Informer, startInformer } from "../../../lib/k8s/informer.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import { nowUnixNano } from "../../../lib/pdata/new.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { ResourceLogs } from "../../../lib/pdata/types.ts";
import { instrumentReceiverOutput } from "../../../lib/telemetry/receiver_metrics.ts";
import { type K8sEventsConfig, k8sEventsConfigSchema } from "./config.ts";
import { eventTimeMs, eventToLogs, type K8sEvent } from "./logs.ts";

/** Events sent to the pipeline in one payload at most. */
const MAX_BATCH = 1_000;

/** Options of {@linkcode createK8sEventsReceiver}, for tests. */
export interface K8sEventsOptions {
  /** The kubeconfig for `auth_type: kubeConfig`. @default KUBECONFIG or ~/.kube/config */
  readonly kubeconfig?: string;
  /** The receiver's start time in milliseconds. @default Date.now() at start */
  readonly startMs?: number;
}

/** Creates one `k8s_events` receiver. */
export function createK8sEventsReceiver(
  settings: CreateSettings<K8sEventsConfig>,
  next: SignalConsumers,
  options: K8sEventsOptions = {},
): Receiver {
  const { config, logger, meter } = settings;
  const raw = next.logs as Consumer<"logs"> | undefined;
  const output = raw === undefined ? undefined : instrumentReceiverOutput("logs", raw, meter);
  const connectError = new RateLimitedLog(
    logger,
    "error",
    "Cannot connect to the Kubernetes API; retrying",
    SYSTEM_CLOCK,
  );
  const apiError = new RateLimitedLog(
    logger,
    "error",
    "Cannot list or watch Kubernetes events; retrying",
    SYSTEM_CLOCK,
  );
  const dropWarning = new RateLimitedLog(
    logger,
    "warn",
    "Dropped the oldest Kubernetes events: the pipeline is slower than the cluster",
    SYSTEM_CLOCK,
  );
  let abort = new AbortController();
  let running: Promise<void> | undefined;
  let client: K8sClient | undefined;
  const informers: Informer<K8sEvent>[] = [];
  const pending: ResourceLogs[] = [];
  let dropped = 0;
  let flushing: Promise<void> | undefined;
  let startMs = 0;
  const excluded = new Set(config.exclude_namespaces);

  async function flush(): Promise<void> {
    while (pending.length > 0 && output !== undefined) {
      const batch = pending.splice(0, MAX_BATCH);
      try {
        await output.consume(Payload.of("logs", { resourceLogs: batch }));
      } catch (error) {
        logger.warn("The pipeline refused Kubernetes events", {
          error: errorMessage(error),
          events: batch.length,
        });
      }
    }
  }

  function enqueue(event: K8sEvent): void {
    if (output === undefined) return;
    if (pending.length >= config.max_pending) {
      pending.shift();
      dropped++;
      dropWarning.log({ dropped_total: dropped, max_pending: config.max_pending });
    }
    pending.push(eventToLogs(event, settings.buildInfo.version, nowUnixNano()));
    flushing ??= flush().finally(() => flushing = undefined);
  }

  function onChange(type: "upsert" | "delete", event: K8sEvent, previous: K8sEvent | undefined) {
    if (type !== "upsert") return;
    if (previous !== undefined && previous !== event) {
      const rv = event.metadata.resourceVersion;
      if (rv !== undefined && rv === previous.metadata.resourceVersion) return; // a relist
    }
    if (eventTimeMs(event) < startMs) return;
    const namespace = event.involvedObject?.namespace ?? event.metadata.namespace;
    if (namespace !== undefined && excluded.has(namespace)) return;
    enqueue(event);
  }

  async function connect(signal: AbortSignal): Promise<void> {
    const backoff = new ExponentialBackoff({
      initial_interval: 1_000,
      max_interval: 60_000,
      multiplier: 2,
      randomization_factor: 0.2,
    }, { capAtMax: true });
    while (!signal.aborted) {
      try {
        client = new K8sClient(await k8sConnection(config.auth_type, options.kubeconfig));
        break;
      } catch (error) {
        connectError.log({ auth_type: config.auth_type, error: errorMessage(error) });
        await sleep(SYSTEM_CLOCK, backoff.next(), signal);
      }
    }
    if (signal.aborted || client === undefined) return;
    const paths = config.namespaces.length === 0
      ? ["/api/v1/events"]
      : config.namespaces.map((ns) => `/api/v1/namespaces/${encodeURIComponent(ns)}/events`);
    for (const path of paths) {
      informers.push(startInformer<K8sEvent>({
        client,
        path,
        onChange,
        onError: (error) => apiError.log({ path, error: errorMessage(error) }),
      }));
    }
  }

  return {
    start() {
      if (running !== undefined) return Promise.resolve();
      startMs = options.startMs ?? Date.now();
      abort = new AbortController();
      running = connect(abort.signal);
      return Promise.resolve();
    },
    async shutdown() {
      abort.abort();
      await running;
      running = undefined;
      await Promise.all(informers.splice(0).map((i) => i.stop()));
      await flushing;
      client?.close();
      client = undefined;
    },
  };
}

/** The `k8s_events` receiver factory. */
export const k8sEventsReceiverFactory: ReceiverFactory<K8sEventsConfig> = {
  kind: "receiver",
  type: "k8s_events",
  configSchema: k8sEventsConfigSchema,
  signals: { logs: "alpha" },
  create: (settings, next) => createK8sEventsReceiver(settings, next),
};
