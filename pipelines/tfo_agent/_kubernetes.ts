/**
 * `collectors.kubernetes` (the TFO-Agent's Kubernetes collector) → tfo's Kubernetes receivers:
 *
 * | TFO-Agent key | tfo |
 * | --- | --- |
 * | `nodes`, `pods`, `deployments`, `workloads`, `namespaces_collect` | `k8s_cluster`: those objects' metrics (a key set to false turns its metrics off) |
 * | `events` | `k8s_events` (logs) |
 * | `network`, `container_extended_metrics`, `pv_io_stats` | `kubelet_stats` of the agent's own node (`NODE_NAME` / `K8S_NODE_NAME`): groups node + pod, container, volume |
 * | `interval` | `collection_interval` of `k8s_cluster` and `kubelet_stats` |
 * | `namespaces` | `k8s_events.namespaces`; one namespace also `k8s_cluster.namespace` |
 * | `exclude_namespaces` | `exclude_namespaces` of `k8s_cluster` and `k8s_events` |
 * | `kubelet_insecure_skip_verify` | `kubelet_stats.insecure_skip_verify` |
 * | `cluster_name`, `cluster_provider` | `k8s.cluster.name`, `cloud.provider` / `cloud.platform` on every resource |
 *
 * A key that asks for what tfo does not do (services, storage, HPA, PDB, quotas, metrics-server
 * usage, API server and CoreDNS metrics, pod and node logs through the API, the REST sync to the
 * platform, a kubeconfig other than `KUBECONFIG`, a context, a label selector, several namespaces
 * for cluster metrics) is an error with the reason; settings of a part that is off are warnings.
 *
 * @module
 */
import type { Diagnostic } from "../diagnostics.ts";
import type { Env } from "../_env.ts";
import type { RawMap, RawNode } from "../_raw.ts";
import { list, map, scalar } from "./_nodes.ts";
import type { Source } from "./_nodes.ts";
import type { TfoAgentConfig } from "./schema.ts";

type K8s = TfoAgentConfig["collectors"]["kubernetes"];

/** What the kubernetes collector becomes. */
export interface KubernetesTranslation {
  readonly metrics: Map<string, RawMap>;
  readonly logs: Map<string, RawMap>;
  /** Resource attributes for every resource (`k8s.cluster.name`, `cloud.*`). */
  readonly resource: Array<[string, RawNode]>;
}

/** Keys that ask for something tfo cannot provide, with the reason. */
const UNSUPPORTED: ReadonlyArray<[keyof K8s, string]> = [
  ["services", "tfo's k8s_cluster reports no Service objects"],
  [
    "storage",
    "tfo reports no PersistentVolume / PersistentVolumeClaim objects (kubelet volume " +
    "usage comes with pv_io_stats)",
  ],
  ["resource_counts", "tfo does not count objects per kind"],
  [
    "metrics_api",
    "tfo does not read metrics-server; CPU and memory usage come from the kubelet " +
    "(set network or container_extended_metrics)",
  ],
  ["hpa", "tfo's k8s_cluster reports no HorizontalPodAutoscalers"],
  ["pdb", "tfo's k8s_cluster reports no PodDisruptionBudgets"],
  ["resource_quotas", "tfo's k8s_cluster reports no ResourceQuotas"],
  ["limit_ranges", "tfo's k8s_cluster reports no LimitRanges"],
  ["pod_conditions", "tfo reports pod phase and container readiness, not pod conditions"],
  ["node_taints", "tfo reports node conditions and allocatable resources, not taints"],
  ["workload_generations", "tfo reports desired and available replicas, not generations"],
  [
    "pod_logs",
    "tfo does not read pod logs through the API; tail /var/log/pods with " +
    "collectors.logs in the node DaemonSet",
  ],
  [
    "node_logs",
    "tfo does not read node logs through the API proxy; tail them with " +
    "collectors.logs in the node DaemonSet",
  ],
  [
    "apiserver_metrics",
    "scrape the API server's /metrics with a prometheus receiver in an " +
    "OpenTelemetry-shaped config",
  ],
  [
    "coredns_metrics",
    "scrape CoreDNS's /metrics with a prometheus receiver in an " +
    "OpenTelemetry-shaped config",
  ],
  [
    "sync_to_backend",
    "tfo sends Kubernetes data over OTLP (exporter.otlp), not through the " +
    "platform's REST sync",
  ],
];

/** Settings that only matter when another key is on. */
const DEPENDENT: ReadonlyArray<[keyof K8s, keyof K8s]> = [
  ["pod_logs_tail_lines", "pod_logs"],
  ["pod_logs_namespaces", "pod_logs"],
  ["node_logs_tail_lines", "node_logs"],
  ["node_log_sources", "node_logs"],
  ["coredns_service", "coredns_metrics"],
  ["sync_interval", "sync_to_backend"],
  ["sync_timeout", "sync_to_backend"],
];

/**
 * The `k8s_cluster` receiver's metrics (its config's `CLUSTER_METRICS`, repeated here because the
 * CLI loads no component module before a config names it; a test keeps the two lists equal).
 */
export const K8S_CLUSTER_METRICS: readonly string[] = [
  "k8s.pod.phase",
  "k8s.container.ready",
  "k8s.container.restarts",
  "k8s.container.cpu_request",
  "k8s.container.cpu_limit",
  "k8s.container.memory_request",
  "k8s.container.memory_limit",
  "k8s.node.condition",
  "k8s.node.allocatable",
  "k8s.deployment.desired",
  "k8s.deployment.available",
  "k8s.replicaset.desired",
  "k8s.replicaset.available",
  "k8s.daemonset.current_scheduled_nodes",
  "k8s.daemonset.desired_scheduled_nodes",
  "k8s.daemonset.misscheduled_nodes",
  "k8s.daemonset.ready_nodes",
  "k8s.statefulset.desired_pods",
  "k8s.statefulset.ready_pods",
  "k8s.statefulset.current_pods",
  "k8s.statefulset.updated_pods",
  "k8s.namespace.phase",
];

/** Which k8s_cluster metrics each resource key owns (by name prefix). */
const CLUSTER_GROUPS: ReadonlyArray<[keyof K8s, readonly string[]]> = [
  ["nodes", ["k8s.node."]],
  ["pods", ["k8s.pod.", "k8s.container."]],
  ["deployments", ["k8s.deployment."]],
  ["workloads", ["k8s.replicaset.", "k8s.daemonset.", "k8s.statefulset."]],
  ["namespaces_collect", ["k8s.namespace."]],
];

const PROVIDERS: Readonly<Record<string, [string, string]>> = {
  eks: ["aws", "aws_eks"],
  gke: ["gcp", "gcp_kubernetes_engine"],
  aks: ["azure", "azure_aks"],
};

/** Translates `collectors.kubernetes`; nothing when it is disabled. */
export function translateKubernetes(
  src: Source,
  cfg: TfoAgentConfig,
  env: Env,
  diagnostics: Diagnostic[],
): KubernetesTranslation {
  const out: KubernetesTranslation = { metrics: new Map(), logs: new Map(), resource: [] };
  const c = cfg.collectors.kubernetes;
  if (!c.enabled) return out;
  const p = ["collectors", "kubernetes"];
  const at = (k: string) => [...p, k];
  let ok = true;
  const report = (severity: "error" | "warning", key: string, message: string) => {
    if (severity === "error") ok = false;
    diagnostics.push({
      severity,
      ...src.at(at(key)),
      path: `collectors.kubernetes.${key}`,
      message,
    });
  };
  for (const [key, reason] of UNSUPPORTED) {
    if (c[key] === true) report("error", key, `is on but tfo cannot provide it: ${reason}`);
  }
  for (const [key, parent] of DEPENDENT) {
    if (src.has(at(key)) && c[parent] !== true) {
      report("warning", key, `is ignored: ${parent} is off`);
    }
  }
  if (c.kubeconfig !== "") {
    report(
      "error",
      "kubeconfig",
      "is not supported: tfo's Kubernetes receivers use the pod's service account, or the " +
        "kubeconfig in KUBECONFIG / ~/.kube/config with auth_type kubeConfig in an " +
        "OpenTelemetry-shaped config",
    );
  }
  if (c.context !== "") {
    report("error", "context", "is not supported: tfo uses the kubeconfig's current context");
  }
  if (c.label_selector !== "") {
    report("error", "label_selector", "is not supported: tfo's k8s_cluster watches every object");
  }
  const clusterOn = CLUSTER_GROUPS.filter(([key]) => c[key] === true);
  if (clusterOn.length > 0 && c.namespaces.length > 1) {
    report(
      "error",
      "namespaces",
      "lists several namespaces, but tfo's k8s_cluster watches one namespace or all (use " +
        "exclude_namespaces, or run one agent per namespace)",
    );
  }
  if (c.cluster_id !== "") {
    report("warning", "cluster_id", "has no counterpart: it identifies the platform's REST sync");
  }
  if (!ok) return out;

  const interval = src.copy(at("interval"), "30s");
  const strings = (key: "namespaces" | "exclude_namespaces") =>
    list(src.at(at(key)), c[key].map((v, i) => src.copy([...p, key, i], v)));
  const auth = scalar("serviceAccount", src.at(p));

  if (clusterOn.length > 0) {
    const off = CLUSTER_GROUPS.filter(([key]) => c[key] !== true);
    const disabled = K8S_CLUSTER_METRICS.filter((m) =>
      off.some(([, prefixes]) => prefixes.some((pre) => m.startsWith(pre)))
    );
    out.metrics.set(
      "k8s_cluster",
      map(src.at(p), {
        auth_type: auth,
        collection_interval: interval,
        namespace: c.namespaces.length === 1
          ? src.copy([...p, "namespaces", 0], c.namespaces[0]!)
          : undefined,
        exclude_namespaces: c.exclude_namespaces.length === 0
          ? undefined
          : strings("exclude_namespaces"),
        metrics: disabled.length === 0 ? undefined : map(
          src.at(p),
          Object.fromEntries(
            disabled.map((m) => [m, map(src.at(p), { enabled: scalar(false, src.at(p)) })]),
          ),
        ),
      }),
    );
  }
  if (c.events) {
    out.logs.set(
      "k8s_events",
      map(src.at(at("events")), {
        auth_type: auth,
        namespaces: c.namespaces.length === 0 ? undefined : strings("namespaces"),
        exclude_namespaces: c.exclude_namespaces.length === 0
          ? undefined
          : strings("exclude_namespaces"),
      }),
    );
  }
  const groups = [
    ...(c.network ? ["node", "pod"] : []),
    ...(c.container_extended_metrics ? ["container"] : []),
    ...(c.pv_io_stats ? ["volume"] : []),
  ];
  if (groups.length > 0) {
    const key = c.network
      ? "network"
      : c.container_extended_metrics
      ? "container_extended_metrics"
      : "pv_io_stats";
    const nodeVar = ["NODE_NAME", "K8S_NODE_NAME"].find((n) => (env[n] ?? "") !== "");
    report(
      "warning",
      key,
      "is collected from the kubelet of the node tfo runs on (kubelet_stats), not from every " +
        "node through the API server: run this agent in the node DaemonSet" +
        (nodeVar === undefined
          ? "; neither NODE_NAME nor K8S_NODE_NAME is set, so the kubelet is looked for at " +
            "this host's name (set one from spec.nodeName)"
          : ""),
    );
    out.metrics.set(
      "kubelet_stats",
      map(src.at(at(key)), {
        auth_type: auth,
        endpoint: nodeVar === undefined
          ? undefined
          : scalar(`\${env:${nodeVar}}:10250`, src.at(at(key))),
        insecure_skip_verify: src.copy(
          at("kubelet_insecure_skip_verify"),
          c.kubelet_insecure_skip_verify,
        ),
        collection_interval: interval,
        metric_groups: list(src.at(at(key)), groups.map((g) => scalar(g, src.at(at(key))))),
      }),
    );
  }
  if (c.cluster_name !== "") {
    out.resource.push(["k8s.cluster.name", src.copy(at("cluster_name"), c.cluster_name)]);
  }
  if (c.cluster_provider !== "") {
    const provider = PROVIDERS[c.cluster_provider.toLowerCase()];
    if (provider === undefined) {
      report(
        "warning",
        "cluster_provider",
        `"${c.cluster_provider}" is not one of eks, gke, aks: no cloud.* attributes are set`,
      );
    } else {
      out.resource.push(["cloud.provider", src.derived(at("cluster_provider"), provider[0])]);
      out.resource.push(["cloud.platform", src.derived(at("cluster_provider"), provider[1])]);
    }
  }
  return out;
}
