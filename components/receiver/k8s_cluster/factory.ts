/**
 * The `k8s_cluster` receiver: cluster-level metrics from the Kubernetes API, as the Collector's
 * contrib receiver (and the TFO-Agent's kubernetes collector) report them — pods (phase,
 * container readiness, restarts, requests and limits), nodes (conditions, allocatable), deployments,
 * replica sets, daemon sets, stateful sets and namespaces (see `metrics.ts`). Run it once per
 * cluster (a Deployment with one replica), not in a DaemonSet.
 *
 * Objects come from watch-based caches (lib/k8s: list, watch, bookmarks, relist on 410); every
 * `collection_interval` the receiver emits the metrics of what the caches hold. A refused RBAC
 * permission or an unreachable API is logged (rate-limited) and retried; the kinds that can be read
 * are still reported.
 *
 * @module
 */
import type { Receiver, ReceiverFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { errorMessage } from "../../../lib/consumer/consumer.ts";
import { SYSTEM_CLOCK } from "../../../lib/clock.ts";
import { K8sClient, k8sConnection } from "../../../lib/k8s/client.ts";
import { type Informer, type K8sObject, startInformer } from "../../../lib/k8s/informer.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import { nowUnixNano } from "../../../lib/pdata/new.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import { instrumentReceiverOutput } from "../../../lib/telemetry/receiver_metrics.ts";
import { type K8sClusterConfig, k8sClusterConfigSchema } from "./config.ts";
import { clusterMetrics, type ClusterState } from "./metrics.ts";

const COLLECTIONS = {
  pods: "/api/v1",
  nodes: "/api/v1",
  namespaces: "/api/v1",
  deployments: "/apis/apps/v1",
  replicasets: "/apis/apps/v1",
  daemonsets: "/apis/apps/v1",
  statefulsets: "/apis/apps/v1",
} as const;

type Collection = keyof typeof COLLECTIONS;

/** Creates a `k8s_cluster` receiver. */
function createK8sClusterReceiver(
  settings: Parameters<ReceiverFactory<K8sClusterConfig>["create"]>[0],
  next: Parameters<ReceiverFactory<K8sClusterConfig>["create"]>[1],
): Receiver {
  const { config, logger, meter } = settings;
  const raw = next.metrics as Consumer<"metrics"> | undefined;
  const output = raw === undefined ? undefined : instrumentReceiverOutput("metrics", raw, meter);
  const apiError = new RateLimitedLog(
    logger,
    "error",
    "Cannot read from the Kubernetes API; reporting what can be read",
    SYSTEM_CLOCK,
  );
  let client: K8sClient | undefined;
  const informers = new Map<Collection, Informer<K8sObject>>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let collecting: Promise<void> | undefined;

  function state(): ClusterState {
    const of = (c: Collection) => informers.get(c)?.objects.values() ?? [];
    return {
      pods: of("pods"),
      nodes: of("nodes"),
      namespaces: of("namespaces"),
      deployments: of("deployments"),
      replicasets: of("replicasets"),
      daemonsets: of("daemonsets"),
      statefulsets: of("statefulsets"),
    };
  }

  async function collect(): Promise<void> {
    if (output === undefined) return;
    const data = clusterMetrics(config, state(), nowUnixNano(), settings.buildInfo.version);
    if (data.resourceMetrics.length === 0) return;
    try {
      await output.consume(Payload.of("metrics", data));
    } catch (error) {
      logger.debug("The pipeline refused cluster metrics", { error });
    }
  }

  return {
    async start() {
      if (client !== undefined || output === undefined) return;
      const connection = await k8sConnection(config.auth_type);
      client = new K8sClient(connection);
      for (const [collection, prefix] of Object.entries(COLLECTIONS) as [Collection, string][]) {
        const clusterScoped = collection === "nodes" || collection === "namespaces";
        const path = config.namespace === undefined || clusterScoped
          ? `${prefix}/${collection}`
          : `${prefix}/namespaces/${encodeURIComponent(config.namespace)}/${collection}`;
        informers.set(
          collection,
          startInformer<K8sObject>({
            client,
            path,
            onError: (error) =>
              apiError.log({ server: connection.server, collection, error: errorMessage(error) }),
          }),
        );
      }
      timer = setInterval(() => {
        if (collecting !== undefined) return; // the last one is still in the pipeline
        collecting = collect().finally(() => collecting = undefined);
      }, config.collection_interval);
    },
    async shutdown() {
      clearInterval(timer);
      timer = undefined;
      await collecting;
      await Promise.all([...informers.values()].map((i) => i.stop()));
      informers.clear();
      client?.close();
      client = undefined;
    },
  };
}

/** The `k8s_cluster` receiver factory. */
export const k8sClusterReceiverFactory: ReceiverFactory<K8sClusterConfig> = {
  kind: "receiver",
  type: "k8s_cluster",
  configSchema: k8sClusterConfigSchema,
  signals: { metrics: "beta" },
  create: createK8sClusterReceiver,
};
