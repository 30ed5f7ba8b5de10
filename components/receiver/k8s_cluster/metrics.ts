/**
 * The `k8s_cluster` receiver's metrics from the watched objects, with the Collector's names,
 * units and resources: one resource per pod (its containers' metrics carry
 * `k8s.container.name`), node, deployment, replica set, daemon set, stateful set and namespace.
 *
 * Values: `k8s.pod.phase` 1 Pending, 2 Running, 3 Succeeded, 4 Failed, 5 Unknown;
 * `k8s.namespace.phase` 1 Active, 0 Terminating; node conditions 1 True, 0 False, -1 Unknown; CPU
 * in cores, memory and storage in bytes (Kubernetes quantities such as `500m`, `16Gi` parsed).
 *
 * @module
 */
import {
  gaugeOf,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
} from "../../../lib/pdata/new.ts";
import type { KeyValue, Metric, MetricsData, ResourceMetrics } from "../../../lib/pdata/types.ts";
import type { K8sObject } from "../../../lib/k8s/informer.ts";
import type { ClusterMetric, K8sClusterConfig } from "./config.ts";

/** The objects by kind, as the informers hold them. */
export interface ClusterState {
  readonly pods: Iterable<K8sObject>;
  readonly nodes: Iterable<K8sObject>;
  readonly deployments: Iterable<K8sObject>;
  readonly replicasets: Iterable<K8sObject>;
  readonly daemonsets: Iterable<K8sObject>;
  readonly statefulsets: Iterable<K8sObject>;
  readonly namespaces: Iterable<K8sObject>;
}

// deno-lint-ignore no-explicit-any
type Any = any;

const SUFFIX: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity (`500m`, `2`, `16Gi`, `1e3`) as a number; undefined when malformed. */
export function parseQuantity(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]{0,2})$/.exec(text.trim());
  if (m === null) return undefined;
  const factor = m[2] === "" ? 1 : SUFFIX[m[2]!];
  if (factor === undefined) return undefined;
  const value = Number(m[1]) * factor;
  return Number.isFinite(value) ? value : undefined;
}

const POD_PHASE: Record<string, number> = {
  Pending: 1,
  Running: 2,
  Succeeded: 3,
  Failed: 4,
  Unknown: 5,
};

/** Builds one collection's metrics. */
export function clusterMetrics(
  config: K8sClusterConfig,
  state: ClusterState,
  now: bigint,
  version: string,
): MetricsData {
  const on = (name: ClusterMetric) => config.metrics[name]?.enabled ?? true;
  const excluded = new Set(config.exclude_namespaces);
  const keep = (o: K8sObject) =>
    o.metadata.namespace === undefined || !excluded.has(o.metadata.namespace);
  const resources: ResourceMetrics[] = [];

  function emit(attributes: KeyValue[], metrics: Metric[]): void {
    if (metrics.length === 0) return;
    resources.push({
      resource: newResource({ attributes }),
      schemaUrl: "",
      scopeMetrics: [{
        scope: newScope({ name: "github.com/telemetryflow/tfo/receiver/k8s_cluster", version }),
        schemaUrl: "",
        metrics,
      }],
    });
  }

  function gauge(
    out: Metric[],
    name: string,
    unit: string,
    description: string,
    points: { value: number | bigint; attributes?: KeyValue[] }[],
  ): void {
    if (points.length === 0) return;
    out.push(newMetric({
      name,
      unit,
      description,
      data: gaugeOf(
        points.map((p) =>
          newNumberDataPoint({ value: p.value, timeUnixNano: now, attributes: p.attributes ?? [] })
        ),
      ),
    }));
  }

  const int = (n: number | undefined) => BigInt(Math.trunc(n ?? 0));

  for (const pod of state.pods as Iterable<Any>) {
    if (!keep(pod)) continue;
    const m = pod.metadata;
    const metrics: Metric[] = [];
    if (on("k8s.pod.phase")) {
      gauge(
        metrics,
        "k8s.pod.phase",
        "",
        "Current phase of the pod (1 Pending, 2 Running, 3 Succeeded, 4 Failed, 5 Unknown)",
        [
          { value: BigInt(POD_PHASE[pod.status?.phase ?? "Unknown"] ?? 5) },
        ],
      );
    }
    const statuses = new Map<string, Any>(
      (pod.status?.containerStatuses ?? []).map((s: Any) => [s.name, s]),
    );
    const ready: { value: bigint; attributes: KeyValue[] }[] = [];
    const restarts: typeof ready = [];
    const resourcesOf: Record<string, { value: number; attributes: KeyValue[] }[]> = {
      cpu_request: [],
      cpu_limit: [],
      memory_request: [],
      memory_limit: [],
    };
    for (const c of pod.spec?.containers ?? []) {
      const attributes: KeyValue[] = [{ key: "k8s.container.name", value: c.name }];
      const s = statuses.get(c.name);
      if (s !== undefined) {
        ready.push({ value: s.ready ? 1n : 0n, attributes });
        restarts.push({ value: int(s.restartCount), attributes });
      }
      for (const [kind, key] of [["requests", "request"], ["limits", "limit"]] as const) {
        const cpu = parseQuantity(c.resources?.[kind]?.cpu);
        const memory = parseQuantity(c.resources?.[kind]?.memory);
        if (cpu !== undefined) resourcesOf[`cpu_${key}`]!.push({ value: cpu, attributes });
        if (memory !== undefined) resourcesOf[`memory_${key}`]!.push({ value: memory, attributes });
      }
    }
    if (on("k8s.container.ready")) {
      gauge(
        metrics,
        "k8s.container.ready",
        "",
        "Whether a container has passed its readiness probe (1 ready, 0 not)",
        ready,
      );
    }
    if (on("k8s.container.restarts")) {
      gauge(
        metrics,
        "k8s.container.restarts",
        "{restart}",
        "How many times the container has restarted",
        restarts,
      );
    }
    for (const key of ["cpu_request", "cpu_limit", "memory_request", "memory_limit"] as const) {
      const name = `k8s.container.${key}` as ClusterMetric;
      if (!on(name)) continue;
      gauge(
        metrics,
        name,
        key.startsWith("cpu") ? "{cpu}" : "By",
        `Resource ${key.replace("_", " ")} of the container`,
        resourcesOf[key]!.map((p) => ({
          value: key.startsWith("cpu") ? p.value : int(p.value),
          attributes: p.attributes,
        })),
      );
    }
    emit([
      { key: "k8s.namespace.name", value: m.namespace ?? "" },
      { key: "k8s.pod.name", value: m.name },
      { key: "k8s.pod.uid", value: m.uid },
      ...(pod.spec?.nodeName === undefined
        ? []
        : [{ key: "k8s.node.name", value: pod.spec.nodeName }]),
    ], metrics);
  }

  for (const node of state.nodes as Iterable<Any>) {
    const metrics: Metric[] = [];
    if (on("k8s.node.condition")) {
      for (const type of config.node_conditions_to_report) {
        const condition = (node.status?.conditions ?? []).find((c: Any) => c.type === type);
        const value = condition === undefined
          ? undefined
          : condition.status === "True"
          ? 1n
          : condition.status === "False"
          ? 0n
          : -1n;
        if (value === undefined) continue;
        gauge(
          metrics,
          `k8s.node.condition_${type.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()}`,
          "",
          `Condition ${type} of the node (1 True, 0 False, -1 Unknown)`,
          [{ value }],
        );
      }
    }
    if (on("k8s.node.allocatable")) {
      for (const type of config.allocatable_types_to_report) {
        const value = parseQuantity(node.status?.allocatable?.[type]);
        if (value === undefined) continue;
        const name = `k8s.node.allocatable_${type.replace("-", "_")}`;
        const unit = type === "cpu" ? "{cpu}" : type === "pods" ? "{pod}" : "By";
        gauge(metrics, name, unit, `Allocatable ${type} of the node`, [{
          value: type === "cpu" ? value : int(value),
        }]);
      }
    }
    emit([
      { key: "k8s.node.name", value: node.metadata.name },
      { key: "k8s.node.uid", value: node.metadata.uid },
    ], metrics);
  }

  const workloads: [
    string,
    Iterable<Any>,
    [ClusterMetric, string, (o: Any) => number | undefined][],
  ][] = [
    ["deployment", state.deployments, [
      ["k8s.deployment.desired", "Desired pods of the deployment", (o) => o.spec?.replicas ?? 1],
      [
        "k8s.deployment.available",
        "Available pods of the deployment",
        (o) => o.status?.availableReplicas ?? 0,
      ],
    ]],
    ["replicaset", state.replicasets, [
      ["k8s.replicaset.desired", "Desired pods of the replica set", (o) => o.spec?.replicas ?? 1],
      [
        "k8s.replicaset.available",
        "Available pods of the replica set",
        (o) => o.status?.availableReplicas ?? 0,
      ],
    ]],
    ["daemonset", state.daemonsets, [
      [
        "k8s.daemonset.current_scheduled_nodes",
        "Nodes running at least one daemon pod that should",
        (o) => o.status?.currentNumberScheduled,
      ],
      [
        "k8s.daemonset.desired_scheduled_nodes",
        "Nodes that should run the daemon pod",
        (o) => o.status?.desiredNumberScheduled,
      ],
      [
        "k8s.daemonset.misscheduled_nodes",
        "Nodes running the daemon pod that should not",
        (o) => o.status?.numberMisscheduled,
      ],
      [
        "k8s.daemonset.ready_nodes",
        "Nodes whose daemon pod is ready",
        (o) => o.status?.numberReady,
      ],
    ]],
    ["statefulset", state.statefulsets, [
      [
        "k8s.statefulset.desired_pods",
        "Desired pods of the stateful set",
        (o) => o.spec?.replicas ?? 1,
      ],
      [
        "k8s.statefulset.ready_pods",
        "Ready pods of the stateful set",
        (o) => o.status?.readyReplicas ?? 0,
      ],
      [
        "k8s.statefulset.current_pods",
        "Pods at the current revision",
        (o) => o.status?.currentReplicas ?? 0,
      ],
      [
        "k8s.statefulset.updated_pods",
        "Pods at the update revision",
        (o) => o.status?.updatedReplicas ?? 0,
      ],
    ]],
  ];
  for (const [kind, objects, defs] of workloads) {
    for (const o of objects) {
      if (!keep(o)) continue;
      const metrics: Metric[] = [];
      for (const [name, description, value] of defs) {
        if (!on(name)) continue;
        const v = value(o);
        if (v !== undefined) {
          gauge(
            metrics,
            name,
            "{pod}".replace("pod", kind === "daemonset" ? "node" : "pod"),
            description,
            [{ value: int(v) }],
          );
        }
      }
      emit([
        { key: "k8s.namespace.name", value: o.metadata.namespace ?? "" },
        { key: `k8s.${kind}.name`, value: o.metadata.name },
        { key: `k8s.${kind}.uid`, value: o.metadata.uid },
      ], metrics);
    }
  }

  if (on("k8s.namespace.phase")) {
    for (const ns of state.namespaces as Iterable<Any>) {
      if (excluded.has(ns.metadata.name)) continue;
      const metrics: Metric[] = [];
      gauge(
        metrics,
        "k8s.namespace.phase",
        "",
        "The phase of the namespace (1 Active, 0 Terminating)",
        [
          { value: ns.status?.phase === "Terminating" ? 0n : 1n },
        ],
      );
      emit([
        { key: "k8s.namespace.name", value: ns.metadata.name },
        { key: "k8s.namespace.uid", value: ns.metadata.uid },
      ], metrics);
    }
  }
  return { resourceMetrics: resources };
}
