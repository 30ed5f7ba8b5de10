/**
 * The `k8sattributes` processor: adds the Kubernetes metadata of the pod that sent the data to each
 * resource, as the Collector's contrib processor does. The pod is found by the `pod_association`
 * rules in order (a resource attribute — `k8s.pod.ip`, `k8s.pod.uid`, `host.name` as an IP, or
 * `k8s.pod.name` with `k8s.namespace.name` — or the connection's peer address); its attributes
 * (`extract.metadata`, labels, annotations) are added where the resource does not have them yet.
 * Pods come from a watch-based cache (see `pods.ts`); without a match the data passes unchanged.
 * With `passthrough` only `k8s.pod.ip` is added, from the connection, and the API is not used.
 *
 * Failures of the API (unreachable, `403 Forbidden` when the service account lacks `list`/`watch`
 * on pods) are logged with the server's message, rate-limited, and retried; data keeps flowing
 * without metadata meanwhile.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { errorMessage } from "../../../lib/consumer/consumer.ts";
import { SYSTEM_CLOCK } from "../../../lib/clock.ts";
import { K8sClient, k8sConnection } from "../../../lib/k8s/client.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import type { ClientInfo, Payload } from "../../../lib/pdata/payload.ts";
import type { KeyValue, Resource, Signal } from "../../../lib/pdata/types.ts";
import { forEachResource } from "../../../lib/processing/walk.ts";
import { type K8sattributesConfig, k8sattributesConfigSchema } from "./config.ts";
import { type PodAttributes, type PodCache, startPodCache } from "./pods.ts";

function attribute(attributes: readonly KeyValue[], key: string): string | undefined {
  for (const kv of attributes) if (kv.key === key && typeof kv.value === "string") return kv.value;
  return undefined;
}

/** The IP of a `host:port` peer address (IPv6 in brackets or not). */
export function peerIp(address: string | undefined): string | undefined {
  if (address === undefined || address === "") return undefined;
  if (address.startsWith("[")) return address.slice(1, address.indexOf("]"));
  const colon = address.lastIndexOf(":");
  // One colon: host:port. None: a bare host. More: a bare IPv6 address.
  return colon >= 0 && address.indexOf(":") === colon ? address.slice(0, colon) : address;
}

type Rule = K8sattributesConfig["pod_association"][number];

/** The pod of `resource` under the association rules, if any rule matches a cached pod. */
function findPod(
  cache: PodCache,
  rules: readonly Rule[],
  resource: Resource,
  client: ClientInfo,
): PodAttributes | undefined {
  for (const rule of rules) {
    const values = new Map<string, string>();
    let complete = true;
    for (const source of rule.sources) {
      const value = source.from === "connection"
        ? peerIp(client.address)
        : attribute(resource.attributes, source.name!);
      if (value === undefined || value === "") {
        complete = false;
        break;
      }
      values.set(source.from === "connection" ? "connection" : source.name!, value);
    }
    if (!complete) continue;
    const uid = values.get("k8s.pod.uid");
    const ip = values.get("k8s.pod.ip") ?? values.get("connection") ?? values.get("host.name");
    const name = values.get("k8s.pod.name");
    const namespace = values.get("k8s.namespace.name");
    const pod = uid !== undefined
      ? cache.byUid(uid)
      : ip !== undefined
      ? cache.byIp(ip)
      : name !== undefined && namespace !== undefined
      ? cache.byName(namespace, name)
      : undefined;
    if (pod !== undefined) return pod;
  }
  return undefined;
}

function addMissing(resource: Resource, attributes: PodAttributes): void {
  const have = new Set(resource.attributes.map((kv) => kv.key));
  for (const [key, value] of attributes) {
    if (!have.has(key)) resource.attributes.push({ key, value });
  }
}

/** What the processor instances of one component share: one cache for every signal. */
interface Shared {
  users: number;
  cache?: PodCache | undefined;
  client?: K8sClient | undefined;
  starting?: Promise<void> | undefined;
}

const shared = new WeakMap<K8sattributesConfig, Shared>();

/** Creates one `k8sattributes` processor instance. */
function createK8sattributesProcessor<S extends Signal>(
  settings: Parameters<ProcessorFactory<K8sattributesConfig>["create"]>[0],
  signal: S,
  next: Consumer<S>,
): Processor<S> {
  const { config, logger } = settings;
  const apiError = new RateLimitedLog(
    logger,
    "error",
    "Cannot read pods from the Kubernetes API; data passes without pod metadata",
    SYSTEM_CLOCK,
  );
  let state = shared.get(config);
  if (state === undefined) shared.set(config, state = { users: 0 });
  const s = state;

  async function startShared(): Promise<void> {
    const connection = await k8sConnection(config.auth_type);
    s.client = new K8sClient(connection);
    s.cache = startPodCache(
      s.client,
      config,
      (error) => apiError.log({ server: connection.server, error: errorMessage(error) }),
    );
    if (config.wait_for_metadata) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`pod metadata not synced within ${config.wait_for_metadata_timeout} ms`),
            ),
          config.wait_for_metadata_timeout,
        );
      });
      try {
        await Promise.race([s.cache.synced, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  return {
    mutatesData: true,
    consume(payload: Payload<S>): Promise<void> {
      if (config.passthrough) {
        const ip = peerIp(payload.client.address);
        if (ip !== undefined) {
          forEachResource(
            signal,
            payload.edit(),
            (r) => addMissing(r, new Map([["k8s.pod.ip", ip]])),
          );
        }
        return next.consume(payload);
      }
      const cache = s.cache;
      if (cache === undefined || cache.size() === 0) return next.consume(payload);
      forEachResource(signal, payload.edit(), (resource) => {
        const pod = findPod(cache, config.pod_association, resource, payload.client);
        if (pod !== undefined) addMissing(resource, pod);
      });
      return next.consume(payload);
    },
    async start() {
      if (config.passthrough) return;
      s.users++;
      s.starting ??= startShared();
      await s.starting;
    },
    async shutdown() {
      if (config.passthrough || s.users === 0) return;
      if (--s.users > 0) return;
      const starting = s.starting;
      s.starting = undefined;
      await starting?.catch(() => {});
      await s.cache?.stop();
      s.client?.close();
      s.cache = undefined;
      s.client = undefined;
    },
  };
}

/** The `k8sattributes` processor factory. */
export const k8sattributesFactory: ProcessorFactory<K8sattributesConfig> = {
  kind: "processor",
  type: "k8sattributes",
  configSchema: k8sattributesConfigSchema,
  // One watch of the Kubernetes API, not one per worker.
  placement: "single",
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: createK8sattributesProcessor,
};
