/**
 * Prometheus Kubernetes service discovery (`kubernetes_sd_configs`) for roles `pod`, `node` and
 * `service`, on watch-based caches of the API (lib/k8s): every object becomes target groups with
 * Prometheus's `__meta_kubernetes_*` labels, which the job's `relabel_configs` then filter and
 * shape, as in Prometheus (for example keep pods annotated `prometheus.io/scrape: "true"`).
 *
 * - `pod`: one target per declared container port (`<pod IP>:<port>`), or one without a port per
 *   container that declares none; pods without an IP yet are skipped.
 * - `node`: the node's first address by Prometheus's order (InternalIP, InternalDNS, ExternalIP,
 *   ExternalDNS, LegacyHostIP, Hostname) with the kubelet's port.
 * - `service`: `<name>.<namespace>.svc:<port>` per service port.
 *
 * Label and annotation names are sanitized as Prometheus does (every character outside
 * `[a-zA-Z0-9_]` becomes `_`).
 *
 * @module
 */
import { K8sClient, k8sConnection } from "../../../lib/k8s/client.ts";
import { type Informer, type K8sObject, startInformer } from "../../../lib/k8s/informer.ts";
import type { TargetGroup } from "./_targets.ts";

/** One validated `kubernetes_sd_configs` entry. */
export interface KubernetesSdConfig {
  readonly role: "pod" | "node" | "service";
  readonly kubeconfig_file?: string | undefined;
  readonly namespaces?: { readonly names: readonly string[] } | undefined;
  readonly selectors: readonly {
    role: string;
    label?: string | undefined;
    field?: string | undefined;
  }[];
}

interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}

interface PodObject extends K8sObject {
  spec?: { nodeName?: string; containers?: Container[]; initContainers?: Container[] };
  status?: {
    podIP?: string;
    hostIP?: string;
    phase?: string;
    conditions?: { type: string; status: string }[];
  };
}

interface NodeObject extends K8sObject {
  spec?: { providerID?: string };
  status?: {
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

interface ServiceObject extends K8sObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    externalName?: string;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
}

/** A Prometheus label name from a Kubernetes key. */
export function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

function objectLabels(prefix: string, object: K8sObject, out: Record<string, string>): void {
  for (const [k, v] of Object.entries(object.metadata.labels ?? {})) {
    out[`${prefix}_label_${sanitize(k)}`] = v;
    out[`${prefix}_labelpresent_${sanitize(k)}`] = "true";
  }
  for (const [k, v] of Object.entries(object.metadata.annotations ?? {})) {
    out[`${prefix}_annotation_${sanitize(k)}`] = v;
    out[`${prefix}_annotationpresent_${sanitize(k)}`] = "true";
  }
}

/** The target groups of one pod. */
export function podGroups(pod: PodObject): TargetGroup[] {
  const ip = pod.status?.podIP;
  if (ip === undefined || ip === "") return [];
  const base: Record<string, string> = {
    __meta_kubernetes_namespace: pod.metadata.namespace ?? "",
    __meta_kubernetes_pod_name: pod.metadata.name,
    __meta_kubernetes_pod_ip: ip,
    __meta_kubernetes_pod_uid: pod.metadata.uid,
    __meta_kubernetes_pod_node_name: pod.spec?.nodeName ?? "",
    __meta_kubernetes_pod_host_ip: pod.status?.hostIP ?? "",
    __meta_kubernetes_pod_phase: pod.status?.phase ?? "",
    __meta_kubernetes_pod_ready: String(
      pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    ),
  };
  const controller = pod.metadata.ownerReferences?.[0];
  if (controller !== undefined) {
    base.__meta_kubernetes_pod_controller_kind = controller.kind;
    base.__meta_kubernetes_pod_controller_name = controller.name;
  }
  objectLabels("__meta_kubernetes_pod", pod, base);
  const groups: TargetGroup[] = [];
  const add = (container: Container, init: boolean) => {
    const labels = {
      ...base,
      __meta_kubernetes_pod_container_name: container.name,
      __meta_kubernetes_pod_container_image: container.image ?? "",
      __meta_kubernetes_pod_container_init: String(init),
    };
    const host = ip.includes(":") ? `[${ip}]` : ip;
    if (container.ports === undefined || container.ports.length === 0) {
      groups.push({ targets: [host], labels });
      return;
    }
    for (const port of container.ports) {
      groups.push({
        targets: [`${host}:${port.containerPort}`],
        labels: {
          ...labels,
          __meta_kubernetes_pod_container_port_name: port.name ?? "",
          __meta_kubernetes_pod_container_port_number: String(port.containerPort),
          __meta_kubernetes_pod_container_port_protocol: port.protocol ?? "TCP",
        },
      });
    }
  };
  for (const c of pod.spec?.containers ?? []) add(c, false);
  for (const c of pod.spec?.initContainers ?? []) add(c, true);
  return groups;
}

const NODE_ADDRESS_ORDER = [
  "InternalIP",
  "InternalDNS",
  "ExternalIP",
  "ExternalDNS",
  "LegacyHostIP",
  "Hostname",
];

/** The target group of one node. */
export function nodeGroups(node: NodeObject): TargetGroup[] {
  const addresses = node.status?.addresses ?? [];
  let address: string | undefined;
  for (const type of NODE_ADDRESS_ORDER) {
    address = addresses.find((a) => a.type === type)?.address;
    if (address !== undefined) break;
  }
  if (address === undefined) return [];
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250;
  const labels: Record<string, string> = {
    __meta_kubernetes_node_name: node.metadata.name,
    __meta_kubernetes_node_provider_id: node.spec?.providerID ?? "",
  };
  objectLabels("__meta_kubernetes_node", node, labels);
  for (const a of addresses) {
    const key = `__meta_kubernetes_node_address_${a.type}`;
    labels[key] ??= a.address;
  }
  const host = address.includes(":") ? `[${address}]` : address;
  return [{ targets: [`${host}:${port}`], labels }];
}

/** The target groups of one service. */
export function serviceGroups(service: ServiceObject): TargetGroup[] {
  const namespace = service.metadata.namespace ?? "";
  const base: Record<string, string> = {
    __meta_kubernetes_namespace: namespace,
    __meta_kubernetes_service_name: service.metadata.name,
    __meta_kubernetes_service_type: service.spec?.type ?? "ClusterIP",
  };
  if (service.spec?.clusterIP !== undefined) {
    base.__meta_kubernetes_service_cluster_ip = service.spec.clusterIP;
  }
  if (service.spec?.externalName !== undefined) {
    base.__meta_kubernetes_service_external_name = service.spec.externalName;
  }
  objectLabels("__meta_kubernetes_service", service, base);
  return (service.spec?.ports ?? []).map((port) => ({
    targets: [`${service.metadata.name}.${namespace}.svc:${port.port}`],
    labels: {
      ...base,
      __meta_kubernetes_service_port_name: port.name ?? "",
      __meta_kubernetes_service_port_number: String(port.port),
      __meta_kubernetes_service_port_protocol: port.protocol ?? "TCP",
    },
  }));
}

const PATHS = { pod: "pods", node: "nodes", service: "services" } as const;

/** Discovery for one `kubernetes_sd_configs` entry. */
export class KubernetesSd {
  readonly #config: KubernetesSdConfig;
  #client: K8sClient | undefined;
  #informers: Informer<K8sObject>[] = [];

  constructor(config: KubernetesSdConfig) {
    this.#config = config;
  }

  /** Connects and starts watching; `onChange` runs after every change (debounce it). */
  async start(onChange: () => void, onError: (error: unknown) => void): Promise<void> {
    const c = this.#config;
    const connection = await k8sConnection(
      c.kubeconfig_file === undefined ? "serviceAccount" : "kubeConfig",
      c.kubeconfig_file,
    );
    this.#client = new K8sClient(connection);
    const selector = c.selectors.find((s) => s.role === c.role);
    const params: Record<string, string> = {};
    if (selector?.label !== undefined) params.labelSelector = selector.label;
    if (selector?.field !== undefined) params.fieldSelector = selector.field;
    const collection = PATHS[c.role];
    const paths = c.role === "node" || c.namespaces === undefined || c.namespaces.names.length === 0
      ? [`/api/v1/${collection}`]
      : c.namespaces.names.map((ns) =>
        `/api/v1/namespaces/${encodeURIComponent(ns)}/${collection}`
      );
    this.#informers = paths.map((path) =>
      startInformer<K8sObject>({
        client: this.#client!,
        path,
        params,
        onChange,
        onError,
      })
    );
  }

  /** Waits for the first list of every informer, at most `timeoutMs`. */
  async synced(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#informers.map((i) => i.synced)),
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  /** The target groups of every object now cached. */
  groups(): TargetGroup[] {
    const out: TargetGroup[] = [];
    for (const informer of this.#informers) {
      for (const object of informer.objects.values()) {
        switch (this.#config.role) {
          case "pod":
            out.push(...podGroups(object as PodObject));
            break;
          case "node":
            out.push(...nodeGroups(object as NodeObject));
            break;
          case "service":
            out.push(...serviceGroups(object as ServiceObject));
            break;
        }
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
    this.#informers = [];
    this.#client?.close();
    this.#client = undefined;
  }
}
