/**
 * The `k8sattributes` processor's config: the keys of the Collector's contrib processor (v0.161)
 * that tfo implements. `extract.metadata` takes the pod-derived names listed in
 * {@linkcode POD_METADATA}; labels and annotations come from the pod or its namespace (`from:
 * node` and container attributes are validation errors, like every unknown key).
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";

/** The `extract.metadata` names tfo fills from the pod (and its owner references). */
export const POD_METADATA = [
  "k8s.namespace.name",
  "k8s.pod.name",
  "k8s.pod.uid",
  "k8s.pod.hostname",
  "k8s.pod.ip",
  "k8s.pod.start_time",
  "k8s.node.name",
  "k8s.deployment.name",
  "k8s.replicaset.name",
  "k8s.replicaset.uid",
  "k8s.daemonset.name",
  "k8s.daemonset.uid",
  "k8s.statefulset.name",
  "k8s.statefulset.uid",
  "k8s.job.name",
  "k8s.job.uid",
] as const;

/** One of {@linkcode POD_METADATA}. */
export type PodMetadataName = (typeof POD_METADATA)[number];

/** The Collector's default `extract.metadata`. */
export const DEFAULT_METADATA: readonly PodMetadataName[] = [
  "k8s.namespace.name",
  "k8s.pod.name",
  "k8s.pod.uid",
  "k8s.pod.start_time",
  "k8s.deployment.name",
  "k8s.node.name",
];

const fieldExtract = z.strictObject({
  /** The attribute name; default `k8s.<from>.labels.<key>` / `.annotations.<key>`. */
  tag_name: z.string().min(1).optional(),
  /** The label or annotation key. */
  key: z.string().min(1).optional(),
  /** A regular expression over keys; `tag_name` may use `$1`-style groups. */
  key_regex: z.string().min(1).optional(),
  from: z.enum(["pod", "namespace"]).default("pod"),
}).superRefine((f, ctx) => {
  if ((f.key === undefined) === (f.key_regex === undefined)) {
    ctx.addIssue({ code: "custom", message: "set exactly one of key and key_regex" });
  }
  if (f.key_regex !== undefined) {
    try {
      new RegExp(f.key_regex);
    } catch (error) {
      ctx.addIssue({ code: "custom", path: ["key_regex"], message: String(error) });
    }
  }
});

/** Where an association source reads the pod's identity. */
const associationSource = z.strictObject({
  from: z.enum(["resource_attribute", "connection"]),
  /** The resource attribute (`k8s.pod.ip`, `k8s.pod.uid`, `k8s.pod.name`, `k8s.namespace.name`, `host.name`). */
  name: z.enum(["k8s.pod.ip", "k8s.pod.uid", "k8s.pod.name", "k8s.namespace.name", "host.name"])
    .optional(),
}).superRefine((s, ctx) => {
  if (s.from === "resource_attribute" && s.name === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["name"],
      message: "is required with from: resource_attribute",
    });
  }
});

/** The `k8sattributes` processor's config schema. */
export const k8sattributesConfigSchema = z.strictObject({
  auth_type: z.enum(["serviceAccount", "kubeConfig", "none"]).default("serviceAccount"),
  /** Only add `k8s.pod.ip` from the connection; no API access (an agent in front of a gateway). */
  passthrough: z.boolean().default(false),
  extract: z.strictObject({
    metadata: z.array(z.enum(POD_METADATA)).default([...DEFAULT_METADATA]),
    labels: z.array(fieldExtract).default([]),
    annotations: z.array(fieldExtract).default([]),
  }).prefault({}),
  pod_association: z.array(z.strictObject({ sources: z.array(associationSource).min(1) }))
    .default([
      { sources: [{ from: "resource_attribute", name: "k8s.pod.ip" }] },
      { sources: [{ from: "resource_attribute", name: "k8s.pod.uid" }] },
      { sources: [{ from: "connection" }] },
    ]),
  filter: z.strictObject({
    /** Only pods on this node. */
    node: z.string().min(1).optional(),
    /** Only pods on the node this environment variable names (the downward API's node name). */
    node_from_env_var: z.string().min(1).optional(),
    /** Only pods in this namespace. */
    namespace: z.string().min(1).optional(),
  }).prefault({}),
  exclude: z.strictObject({
    pods: z.array(z.strictObject({ name: z.string().min(1) })).default([
      { name: "jaeger-agent" },
      { name: "jaeger-collector" },
      { name: "otel-collector" },
      { name: "otel-agent" },
      { name: "otel-collector-collector" },
    ]),
  }).prefault({}),
  /** Do not start until the pod cache is filled; fail the start after the timeout. */
  wait_for_metadata: z.boolean().default(false),
  wait_for_metadata_timeout: duration("10s"),
});

/** The `k8sattributes` processor's validated config. */
export type K8sattributesConfig = z.output<typeof k8sattributesConfigSchema>;
