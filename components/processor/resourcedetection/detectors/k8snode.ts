/**
 * The `k8snode` detector, from the Kubernetes downward API: the node name from the variable named
 * by `node_from_env_var` (default `K8S_NODE_NAME`, the Collector's default) and the node UID from
 * the variable named by `node_uid_from_env_var` (default `K8S_NODE_UID`). The Collector reads the
 * UID from the Kubernetes API; tfo reads only the environment, so a pod spec sets both, e.g.
 * `env: [{name: K8S_NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]` (the UID is
 * not offered by the downward API and can be set by an admission hook or left out).
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import type { KeyValue } from "../../../../lib/pdata/types.ts";
import { AttributeSink, type DetectorContext, resourceAttributesSchema } from "./_detector.ts";

/** The `k8snode` detector's config. */
export const k8snodeConfigSchema = z.strictObject({
  /** The environment variable holding the node name. */
  node_from_env_var: z.string().min(1).default("K8S_NODE_NAME"),
  /** The environment variable holding the node UID (tfo's addition). */
  node_uid_from_env_var: z.string().min(1).default("K8S_NODE_UID"),
  resource_attributes: resourceAttributesSchema({ "k8s.node.name": true, "k8s.node.uid": true }),
});

/** The `k8snode` detector's validated config. */
export type K8sNodeConfig = z.output<typeof k8snodeConfigSchema>;

/** Detects the Kubernetes node; throws when the node name variable is not set. */
export function detectK8sNode(config: K8sNodeConfig, ctx: DetectorContext): Promise<KeyValue[]> {
  const name = ctx.env(config.node_from_env_var);
  if (name === undefined || name === "") {
    return Promise.reject(
      new Error(`Cannot find the node name: ${config.node_from_env_var} is not set`),
    );
  }
  const sink = new AttributeSink(config.resource_attributes);
  sink.put("k8s.node.name", name);
  sink.put("k8s.node.uid", ctx.env(config.node_uid_from_env_var));
  return Promise.resolve(sink.attributes);
}
