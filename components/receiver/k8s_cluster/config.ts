/**
 * The `k8s_cluster` receiver's config: the keys of the Collector's contrib receiver (v0.161) that
 * tfo implements, plus the TFO-Agent's `exclude_namespaces`. Every metric of
 * {@linkcode CLUSTER_METRICS} can be turned off under `metrics`. Unknown keys (metadata exporters,
 * leader election, OpenShift quotas, resource attribute toggles) are validation errors.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";

/** The metrics the receiver emits (the Collector's names), each on by default. */
export const CLUSTER_METRICS = [
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
] as const;

/** One of {@linkcode CLUSTER_METRICS}. */
export type ClusterMetric = (typeof CLUSTER_METRICS)[number];

/** The `k8s_cluster` receiver's config schema. */
export const k8sClusterConfigSchema = z.strictObject({
  auth_type: z.enum(["serviceAccount", "kubeConfig", "none"]).default("serviceAccount"),
  /** How often metrics are emitted from the watched state. */
  collection_interval: duration("10s"),
  /** Node conditions reported as `k8s.node.condition_<type>` (1 true, 0 false, -1 unknown). */
  node_conditions_to_report: z.array(z.string().min(1)).default(["Ready"]),
  /** Allocatable resources reported as `k8s.node.allocatable_<type>`. */
  allocatable_types_to_report: z.array(z.enum(["cpu", "memory", "ephemeral-storage", "pods"]))
    .default([]),
  distribution: z.literal("kubernetes", {
    message: "must be kubernetes (tfo has no OpenShift quota metrics)",
  }).default("kubernetes"),
  /** Only this namespace's objects (all when absent). */
  namespace: z.string().min(1).optional(),
  /** tfo (the TFO-Agent's key): namespaces whose objects are left out. */
  exclude_namespaces: z.array(z.string().min(1)).default([]),
  /** Metrics on or off by name. */
  metrics: z.partialRecord(z.enum(CLUSTER_METRICS), z.strictObject({ enabled: z.boolean() }))
    .default({}),
});

/** The `k8s_cluster` receiver's validated config. */
export type K8sClusterConfig = z.output<typeof k8sClusterConfigSchema>;
