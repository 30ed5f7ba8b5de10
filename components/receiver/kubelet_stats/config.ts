/**
 * The `kubelet_stats` receiver's config (the Collector's contrib receiver, v0.161, whose older type
 * name `kubeletstats` still selects it): how to reach and authenticate to the kubelet, how often
 * to scrape `/stats/summary`, which metric groups and metrics to emit and which extra metadata to
 * read from the kubelet's `/pods`. Keys tfo does not implement (`context`, `node`, the
 * `*_utilization` metrics, node labels) are validation errors, not silently ignored.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";

/** The groups of `metric_groups`. */
export const METRIC_GROUPS = ["container", "pod", "node", "volume"] as const;

/** One of {@linkcode METRIC_GROUPS}. */
export type MetricGroup = (typeof METRIC_GROUPS)[number];

/** What a metric is, as the Collector's metadata.yaml declares it. */
export interface MetricInfo {
  readonly group: MetricGroup;
  readonly unit: string;
  /** `gauge`, or a cumulative `sum` (monotonic unless `upDown`). */
  readonly type: "gauge" | "sum";
  readonly value: "int" | "double";
  readonly enabled: boolean;
  readonly description: string;
}

const CPU_TIME = "Total cumulative CPU time (sum of all cores) spent by the container/pod/node " +
  "since its creation";
const CPU_USAGE = "Total CPU usage (sum of all cores per second) averaged over the sample window";

function entity(
  prefix: string,
  group: MetricGroup,
  label: string,
  withNetwork: boolean,
): Record<string, MetricInfo> {
  const g = (unit: string, description: string, value: "int" | "double" = "int"): MetricInfo => ({
    group,
    unit,
    type: "gauge",
    value,
    enabled: true,
    description,
  });
  const out: Record<string, MetricInfo> = {
    [`${prefix}.cpu.time`]: {
      group,
      unit: "s",
      type: "sum",
      value: "double",
      enabled: true,
      description: CPU_TIME,
    },
    [`${prefix}.cpu.usage`]: g("{cpu}", CPU_USAGE, "double"),
    [`${prefix}.filesystem.available`]: g("By", `${label} filesystem available`),
    [`${prefix}.filesystem.capacity`]: g("By", `${label} filesystem capacity`),
    [`${prefix}.filesystem.usage`]: g("By", `${label} filesystem usage`),
    [`${prefix}.memory.available`]: g("By", `${label} memory available`),
    [`${prefix}.memory.major_page_faults`]: g("1", `${label} memory major_page_faults`),
    [`${prefix}.memory.page_faults`]: g("1", `${label} memory page_faults`),
    [`${prefix}.memory.rss`]: g("By", `${label} memory rss`),
    [`${prefix}.memory.usage`]: g("By", `${label} memory usage`),
    [`${prefix}.memory.working_set`]: g("By", `${label} memory working_set`),
    [`${prefix}.uptime`]: {
      group,
      unit: "s",
      type: "sum",
      value: "int",
      enabled: false,
      description: `The time since the ${label.toLowerCase()} started`,
    },
  };
  if (withNetwork) {
    for (const [what, unit] of [["errors", "1"], ["io", "By"]] as const) {
      out[`${prefix}.network.${what}`] = {
        group,
        unit,
        type: "sum",
        value: "int",
        enabled: true,
        description: `${label} network ${what === "io" ? "IO" : what}`,
      };
    }
  }
  return out;
}

const volume = (description: string, unit: string): MetricInfo => ({
  group: "volume",
  unit,
  type: "gauge",
  value: "int",
  enabled: true,
  description,
});

/** Every metric tfo emits, with the Collector's name, unit, type and default. */
export const KUBELET_METRICS: Readonly<Record<string, MetricInfo>> = {
  ...entity("k8s.node", "node", "Node", true),
  ...entity("k8s.pod", "pod", "Pod", true),
  ...entity("container", "container", "Container", false),
  "k8s.volume.available": volume("The number of available bytes in the volume.", "By"),
  "k8s.volume.capacity": volume("The total capacity in bytes of the volume.", "By"),
  "k8s.volume.inodes": volume("The total inodes in the filesystem.", "1"),
  "k8s.volume.inodes.free": volume("The free inodes in the filesystem.", "1"),
  "k8s.volume.inodes.used": volume(
    "The inodes used by the filesystem. This may not equal inodes - free because filesystem may " +
      "share inodes with other filesystems.",
    "1",
  ),
};

/** The Collector's metrics tfo does not compute (they need pod specs or node capacity). */
const UNSUPPORTED_METRICS = [
  "k8s.container.cpu.node.utilization",
  "k8s.container.cpu_limit_utilization",
  "k8s.container.cpu_request_utilization",
  "k8s.container.memory.node.utilization",
  "k8s.container.memory_limit_utilization",
  "k8s.container.memory_request_utilization",
  "k8s.pod.cpu.node.utilization",
  "k8s.pod.cpu_limit_utilization",
  "k8s.pod.cpu_request_utilization",
  "k8s.pod.memory.node.utilization",
  "k8s.pod.memory_limit_utilization",
  "k8s.pod.memory_request_utilization",
  "k8s.pod.volume.usage",
] as const;

/** The resource attributes the receiver sets (each can be turned off). */
export const KUBELET_RESOURCE_ATTRIBUTES = [
  "aws.volume.id",
  "container.id",
  "fs.type",
  "gce.pd.name",
  "glusterfs.endpoints.name",
  "glusterfs.path",
  "k8s.container.name",
  "k8s.namespace.name",
  "k8s.node.name",
  "k8s.persistentvolumeclaim.name",
  "k8s.pod.name",
  "k8s.pod.uid",
  "k8s.volume.name",
  "k8s.volume.type",
  "partition",
] as const;

const toggle = z.strictObject({ enabled: z.boolean() });

const metricsSchema = z.record(z.string(), toggle).default({}).superRefine((metrics, ctx) => {
  for (const [name, { enabled }] of Object.entries(metrics)) {
    if (name in KUBELET_METRICS) continue;
    if ((UNSUPPORTED_METRICS as readonly string[]).includes(name)) {
      if (!enabled) continue; // off, as by default
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: "is not implemented by tfo (it needs the pods' resource requests and limits or " +
          "the node's capacity); leave it disabled",
      });
      continue;
    }
    ctx.addIssue({
      code: "custom",
      path: [name],
      message: `is not a kubelet_stats metric (known: ${Object.keys(KUBELET_METRICS).join(", ")})`,
    });
  }
});

/** The `kubelet_stats` receiver's config schema. */
export const kubeletStatsConfigSchema = z.strictObject({
  /**
   * `tls` (client certificate, the Collector's default), `serviceAccount` (the pod's token and
   * CA), `kubeConfig` (through the API server's node proxy; `endpoint` is the node name) or
   * `none` (the read-only port, plain HTTP).
   */
  auth_type: z.enum(["tls", "serviceAccount", "kubeConfig", "none"]).default("tls"),
  /**
   * `host:port` or a URL; empty: this host's name and port 10250 (10255 for `none`). Without a
   * scheme, `https://` (`http://` for `none`).
   */
  endpoint: z.string().default(""),
  /** PEM file of the CA that signed the kubelet's serving certificate. */
  ca_file: z.string().min(1).optional(),
  /** Client certificate and key for `auth_type: tls`. */
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  /** Skip verifying the kubelet's certificate (kubelets often serve a self-signed one). */
  insecure_skip_verify: z.boolean().default(false),
  collection_interval: duration("10s"),
  /** Wait before the first scrape. */
  initial_delay: duration("1s"),
  /** How long one scrape may take; 0: the collection interval. */
  timeout: duration("0s"),
  /** Extra resource attributes from the kubelet's `/pods` (one more request per scrape). */
  extra_metadata_labels: z.array(z.enum(["container.id", "k8s.volume.type"])).default([]),
  /** Which metric groups to emit. */
  metric_groups: z.array(z.enum(METRIC_GROUPS)).default(["container", "pod", "node"]),
  /** The Kubernetes API, to resolve a PVC's persistent volume for `k8s.volume.type`. */
  k8s_api_config: z.strictObject({
    auth_type: z.enum(["serviceAccount", "kubeConfig", "none"]).default("serviceAccount"),
  }).optional(),
  /** Network metrics of every interface instead of the default one only. */
  collect_all_network_interfaces: z.strictObject({
    node: z.boolean().default(false),
    pod: z.boolean().default(false),
  }).default({ node: false, pod: false }),
  /** Metrics on or off by name. */
  metrics: metricsSchema,
  /** Resource attributes on or off by name. */
  resource_attributes: z.partialRecord(z.enum(KUBELET_RESOURCE_ATTRIBUTES), toggle).default({}),
}).superRefine((c, ctx) => {
  if (c.collection_interval <= 0) {
    ctx.addIssue({
      code: "custom",
      path: ["collection_interval"],
      message: "must be greater than 0",
    });
  }
  if (c.auth_type === "tls" && (c.cert_file === undefined || c.key_file === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: [c.cert_file === undefined ? "cert_file" : "key_file"],
      message: "auth_type tls needs cert_file and key_file (or use auth_type serviceAccount)",
    });
  }
  if (c.auth_type !== "tls" && (c.cert_file !== undefined || c.key_file !== undefined)) {
    ctx.addIssue({
      code: "custom",
      path: [c.cert_file !== undefined ? "cert_file" : "key_file"],
      message: "is only used with auth_type tls",
    });
  }
  if (c.auth_type === "kubeConfig" && /^[a-z]+:\/\/|:/.test(c.endpoint)) {
    ctx.addIssue({
      code: "custom",
      path: ["endpoint"],
      message: "with auth_type kubeConfig the endpoint is the node's name (the API server " +
        "proxies to its kubelet)",
    });
  }
  if (c.auth_type === "none" && c.endpoint.startsWith("https://")) {
    ctx.addIssue({
      code: "custom",
      path: ["endpoint"],
      message: "auth_type none uses the kubelet's plain-HTTP read-only port (http://…:10255)",
    });
  }
  if (c.k8s_api_config !== undefined && !c.extra_metadata_labels.includes("k8s.volume.type")) {
    ctx.addIssue({
      code: "custom",
      path: ["k8s_api_config"],
      message: "is only used to resolve k8s.volume.type; add it to extra_metadata_labels",
    });
  }
});

/** The `kubelet_stats` receiver's validated config. */
export type KubeletStatsConfig = z.output<typeof kubeletStatsConfigSchema>;

/** Whether `name` is emitted under `config`. */
export function metricEnabled(config: KubeletStatsConfig, name: string): boolean {
  return config.metrics[name]?.enabled ?? KUBELET_METRICS[name]?.enabled ?? false;
}
