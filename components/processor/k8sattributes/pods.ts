/**
 * The pod cache of the `k8sattributes` processor: an informer over pods (filtered by node and
 * namespace as configured), indexed by UID, by IP (host-network pods excluded: their IP is the
 * node's) and by namespace/name, and each pod's attributes computed once when it changes, not per
 * item. A pod restarted under the same name or handed a freed IP replaces the old one in the
 * indexes; a deleted pod leaves them, so the cache holds what the cluster holds.
 *
 * @module
 */
import type { K8sClient } from "../../../lib/k8s/client.ts";
import { type Informer, type K8sObject, startInformer } from "../../../lib/k8s/informer.ts";
import type { K8sattributesConfig, PodMetadataName } from "./config.ts";

/** The parts of a Pod the processor reads. */
export interface Pod extends K8sObject {
  readonly spec?: {
    readonly nodeName?: string;
    readonly hostname?: string;
    readonly hostNetwork?: boolean;
  };
  readonly status?: {
    readonly podIP?: string;
    readonly podIPs?: readonly { readonly ip: string }[];
    readonly startTime?: string;
  };
}

/** The parts of a Namespace the processor reads. */
export type Namespace = K8sObject;

/** The attributes of one pod, ready to add. */
export type PodAttributes = ReadonlyMap<string, string>;

function ownerOf(pod: Pod, kind: string): { name: string; uid: string } | undefined {
  return pod.metadata.ownerReferences?.find((o) => o.kind === kind);
}

/** The IPs a pod is reachable at (none for host-network pods). */
export function podIps(pod: Pod): string[] {
  if (pod.spec?.hostNetwork === true) return [];
  const ips = new Set<string>();
  if (pod.status?.podIP) ips.add(pod.status.podIP);
  for (const { ip } of pod.status?.podIPs ?? []) ips.add(ip);
  return [...ips];
}

function metadataValue(pod: Pod, name: PodMetadataName): string | undefined {
  const m = pod.metadata;
  switch (name) {
    case "k8s.namespace.name":
      return m.namespace;
    case "k8s.pod.name":
      return m.name;
    case "k8s.pod.uid":
      return m.uid;
    case "k8s.pod.hostname":
      return pod.spec?.hostname ?? m.name;
    case "k8s.pod.ip":
      return podIps(pod)[0];
    case "k8s.pod.start_time":
      return pod.status?.startTime ?? m.creationTimestamp;
    case "k8s.node.name":
      return pod.spec?.nodeName;
    case "k8s.replicaset.name":
      return ownerOf(pod, "ReplicaSet")?.name;
    case "k8s.replicaset.uid":
      return ownerOf(pod, "ReplicaSet")?.uid;
    case "k8s.deployment.name": {
      // A Deployment's ReplicaSet is named <deployment>-<pod-template-hash>.
      const rs = ownerOf(pod, "ReplicaSet")?.name;
      const hash = m.labels?.["pod-template-hash"];
      if (rs === undefined || hash === undefined || !rs.endsWith(`-${hash}`)) return undefined;
      return rs.slice(0, -hash.length - 1);
    }
    case "k8s.daemonset.name":
      return ownerOf(pod, "DaemonSet")?.name;
    case "k8s.daemonset.uid":
      return ownerOf(pod, "DaemonSet")?.uid;
    case "k8s.statefulset.name":
      return ownerOf(pod, "StatefulSet")?.name;
    case "k8s.statefulset.uid":
      return ownerOf(pod, "StatefulSet")?.uid;
    case "k8s.job.name":
      return ownerOf(pod, "Job")?.name;
    case "k8s.job.uid":
      return ownerOf(pod, "Job")?.uid;
  }
}

type FieldRule = K8sattributesConfig["extract"]["labels"][number];

function extractFields(
  out: Map<string, string>,
  values: Record<string, string> | undefined,
  rules: readonly FieldRule[],
  from: "pod" | "namespace",
  what: "labels" | "annotations",
): void {
  if (values === undefined) return;
  for (const rule of rules) {
    if (rule.from !== from) continue;
    if (rule.key !== undefined) {
      const value = values[rule.key];
      if (value !== undefined) out.set(rule.tag_name ?? `k8s.${from}.${what}.${rule.key}`, value);
      continue;
    }
    const pattern = new RegExp(rule.key_regex!);
    for (const [key, value] of Object.entries(values)) {
      const match = pattern.exec(key);
      if (match === null || match[0] !== key) continue;
      const name = rule.tag_name === undefined
        ? `k8s.${from}.${what}.${key}`
        : rule.tag_name.replace(/\$(\d+)/g, (_, n: string) => match[Number(n)] ?? "");
      out.set(name, value);
    }
  }
}

/** A running pod cache. */
export interface PodCache {
  byIp(ip: string): PodAttributes | undefined;
  byUid(uid: string): PodAttributes | undefined;
  byName(namespace: string, name: string): PodAttributes | undefined;
  /** Pods cached. */
  readonly size: () => number;
  readonly synced: Promise<void>;
  /** Lists done (more than one after a watch expired). */
  readonly lists: () => number;
  stop(): Promise<void>;
}

/** Starts the informers and keeps the indexes. */
export function startPodCache(
  client: K8sClient,
  config: K8sattributesConfig,
  onError: (error: unknown) => void,
): PodCache {
  const excluded = config.exclude.pods.map((p) => new RegExp(`^(?:${p.name})$`));
  const node = config.filter.node ??
    (config.filter.node_from_env_var === undefined
      ? undefined
      : Deno.env.get(config.filter.node_from_env_var));
  const fieldSelector = node === undefined ? "" : `spec.nodeName=${node}`;
  const namespacePath = config.filter.namespace === undefined
    ? "/api/v1/pods"
    : `/api/v1/namespaces/${encodeURIComponent(config.filter.namespace)}/pods`;
  const wantsNamespace = [...config.extract.labels, ...config.extract.annotations].some((r) =>
    r.from === "namespace"
  );
  const attributes = new Map<string, PodAttributes>(); // by pod UID
  const byIp = new Map<string, string>();
  const byName = new Map<string, string>();
  let namespaces: Informer<Namespace> | undefined;

  function compute(pod: Pod): PodAttributes {
    const out = new Map<string, string>();
    for (const name of config.extract.metadata) {
      const value = metadataValue(pod, name);
      if (value !== undefined && value !== "") out.set(name, value);
    }
    extractFields(out, pod.metadata.labels, config.extract.labels, "pod", "labels");
    extractFields(out, pod.metadata.annotations, config.extract.annotations, "pod", "annotations");
    if (namespaces !== undefined) {
      const ns = [...namespaces.objects.values()].find((n) =>
        n.metadata.name === pod.metadata.namespace
      );
      extractFields(out, ns?.metadata.labels, config.extract.labels, "namespace", "labels");
      extractFields(
        out,
        ns?.metadata.annotations,
        config.extract.annotations,
        "namespace",
        "annotations",
      );
    }
    return out;
  }

  function unindex(pod: Pod): void {
    const uid = pod.metadata.uid;
    attributes.delete(uid);
    for (const ip of podIps(pod)) if (byIp.get(ip) === uid) byIp.delete(ip);
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (byName.get(key) === uid) byName.delete(key);
  }

  function index(pod: Pod): void {
    if (excluded.some((r) => r.test(pod.metadata.name))) return;
    const uid = pod.metadata.uid;
    attributes.set(uid, compute(pod));
    for (const ip of podIps(pod)) byIp.set(ip, uid);
    byName.set(`${pod.metadata.namespace}/${pod.metadata.name}`, uid);
  }

  const pods = startInformer<Pod>({
    client,
    path: namespacePath,
    params: fieldSelector === "" ? {} : { fieldSelector },
    onChange(type, pod, previous) {
      if (previous !== undefined) unindex(previous);
      if (type === "upsert") index(pod);
    },
    onError,
  });
  if (wantsNamespace) {
    namespaces = startInformer<Namespace>({
      client,
      path: "/api/v1/namespaces",
      onChange() {
        for (const pod of pods.objects.values()) {
          if (attributes.has(pod.metadata.uid)) attributes.set(pod.metadata.uid, compute(pod));
        }
      },
      onError,
    });
  }
  const lookup = (uid: string | undefined) => uid === undefined ? undefined : attributes.get(uid);
  return {
    byIp: (ip) => lookup(byIp.get(ip)),
    byUid: (uid) => attributes.get(uid),
    byName: (namespace, name) => lookup(byName.get(`${namespace}/${name}`)),
    size: () => attributes.size,
    synced: Promise.all([pods.synced, namespaces?.synced]).then(() => {}),
    lists: pods.lists,
    async stop() {
      await Promise.all([pods.stop(), namespaces?.stop()]);
    },
  };
}
