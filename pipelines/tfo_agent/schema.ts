/**
 * The TFO-Agent config shape (the config file of the TelemetryFlow Go agent, `tfo-agent.yaml`):
 * the sections tfo translates into a pipeline, with the Go agent's defaults, and the sections and
 * collectors tfo recognizes but cannot provide, each with the reason.
 *
 * Sections tfo translates: `telemetryflow` (platform connection), `api` (its deprecated older
 * name), `agent`, `heartbeat`, `collectors` (`system`, `node_exporter`, `process`, `logs`, `ebpf`,
 * `kubernetes`),
 * `exporter.otlp`, `buffer`, `logging` and `resources` (its memory limits). Every other key of the
 * Go agent's shape is listed in {@linkcode UNSUPPORTED_SECTIONS} or
 * {@linkcode UNSUPPORTED_COLLECTORS}; anything else is an unknown key.
 *
 * @module
 */
import { z } from "../../lib/config/z.js";
import { duration } from "../../lib/config/schema.ts";

const text = () => z.string().default("");
const strings = () => z.array(z.string()).default([]);
const stringMap = () =>
  z.preprocess(
    (v) => v ?? {},
    z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  );
const flag = (value: boolean) => z.boolean().default(value);
/** A map that may be written as `key:` with nothing after it. */
const block = <S extends z.ZodType>(schema: S) => z.preprocess((v) => v ?? {}, schema);

/** TLS settings of the platform connection. */
export const tlsSchema = z.strictObject({
  /** Use TLS. The Go agent's default is on. */
  enabled: flag(true),
  /** Accept any server certificate. */
  insecure_skip_verify: z.boolean().optional(),
  /** The Go agent's older name of `insecure_skip_verify`. */
  skip_verify: z.boolean().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
  ca_file: z.string().optional(),
});

/** Retry settings of the platform connection. */
const retrySchema = z.strictObject({
  enabled: flag(true),
  max_attempts: z.number().int().nonnegative().default(3),
  initial_interval: duration("1s"),
  max_interval: duration("30s"),
});

/** `telemetryflow:` — the platform connection. */
export const telemetryflowSchema = z.strictObject({
  /** `tfk_…`; read from `TELEMETRYFLOW_API_KEY_ID` when not given. */
  api_key_id: text(),
  /** `tfs_…`; read from `TELEMETRYFLOW_API_KEY_SECRET` when not given. */
  api_key_secret: text(),
  /** The OTLP endpoint: `host:port` for gRPC, a base URL for HTTP. */
  endpoint: z.string().default("localhost:4317"),
  /** The platform's REST API (registration, heartbeats) when it differs from `endpoint`. */
  backend_endpoint: text(),
  /** `grpc` or `http`; when absent, an `http(s)://` endpoint means `http`. */
  protocol: z.enum(["grpc", "http"]).optional(),
  tls: block(tlsSchema),
  timeout: duration("30s"),
  retry: block(retrySchema),
  workspace_id: text(),
  tenant_id: text(),
});

/** `api:` — the deprecated older name of the platform connection. */
export const legacyApiSchema = z.strictObject({
  endpoint: text(),
  api_key_id: text(),
  api_key_secret: text(),
  workspace_id: text(),
  tenant_id: text(),
  tls: block(tlsSchema).optional(),
  timeout: duration().optional(),
  retry_attempts: z.number().int().nonnegative().optional(),
  retry_delay: duration().optional(),
});

/** `agent:` — the agent's identity. */
export const agentSchema = z.strictObject({
  /** Empty: the platform assigns one at registration. */
  id: text(),
  /** Empty: the host's name. */
  hostname: text(),
  /**
   * Empty: the extension's default (`TELEMETRYFLOW_AGENT_NAME`, else the host name) rather than the
   * Go agent's fixed "TelemetryFlow Agent", so that agents of a fleet stay apart.
   */
  name: text(),
  description: text(),
  /** Set at build time in the Go agent; tfo reports its own version. */
  version: text(),
  /** Labels sent with registration and heartbeats and put on every resource. */
  tags: stringMap(),
  /** Labels put on every resource. */
  labels: stringMap(),
});

/** `heartbeat:`. */
export const heartbeatSchema = z.strictObject({
  interval: duration("60s"),
  timeout: duration("10s"),
  include_system_info: flag(true),
});

/** `collectors.system`: the basic host metrics. On by default in the Go agent. */
export const systemCollectorSchema = z.strictObject({
  enabled: flag(true),
  interval: duration("15s"),
  cpu: flag(true),
  memory: flag(true),
  disk: flag(true),
  network: flag(true),
  /** Mount points to report (empty: all). */
  disk_paths: strings(),
});

/** A filter written either as one regular expression or as a list of globs (`veth*`). */
const filterSchema = z.union([z.string(), z.array(z.string())]).optional();

/** `collectors.node_exporter`: the detailed host metrics. */
export const nodeExporterCollectorSchema = z.strictObject({
  enabled: flag(false),
  interval: duration("15s"),
  cpu: flag(true),
  memory: flag(true),
  diskio: flag(true),
  filesystem: flag(true),
  network: flag(true),
  loadavg: flag(true),
  thermal: flag(true),
  textfile: flag(false),
  textfile_path: text(),
  conntrack: flag(true),
  psi: flag(true),
  vmstat: flag(true),
  sockstat: flag(true),
  entropy: flag(true),
  filedesc: flag(true),
  stat: flag(true),
  filesystem_mount_exclude: filterSchema,
  filesystem_type_exclude: filterSchema,
  network_device_exclude: filterSchema,
  disk_device_exclude: filterSchema,
});

/** `collectors.process`: per-process metrics. */
export const processCollectorSchema = z.strictObject({
  enabled: flag(false),
  interval: duration("30s"),
  /** Executable names to report (empty: all processes). */
  processes: strings(),
});

/** `collectors.logs`: log files. */
export const logsCollectorSchema = z.strictObject({
  enabled: flag(false),
  /** File paths or globs. */
  paths: strings(),
  /** Regular expressions; when any is given, only lines matching one are sent. */
  include_patterns: strings(),
  /** Regular expressions; lines matching one are dropped. */
  exclude_patterns: strings(),
});

/** `collectors.ebpf.cilium`: the Go agent's Cilium Hubble client. */
const ciliumSchema = z.strictObject({
  enabled: flag(false),
  hubble_address: text(),
  hubble_tls_enabled: z.boolean().optional(),
  hubble_tls_cert: text(),
  hubble_tls_key: text(),
  hubble_tls_ca: text(),
  collect_flows: z.boolean().optional(),
  collect_l7_flows: z.boolean().optional(),
  collect_drops: z.boolean().optional(),
  collect_policies: z.boolean().optional(),
});

/** `collectors.ebpf`: kernel metrics from eBPF programs (the `ebpf` receiver). */
export const ebpfCollectorSchema = z.strictObject({
  enabled: flag(false),
  interval: duration("15s"),
  collect_syscalls: flag(true),
  collect_network: flag(true),
  collect_file_io: flag(true),
  collect_scheduler: flag(false),
  collect_memory: flag(false),
  collect_tcp_events: flag(true),
  /** Regular expressions on the command name (empty: every process). */
  process_filter: strings(),
  /** Exact command names left out. */
  exclude_processes: z.array(z.string()).default(["tfo-agent", "systemd"]),
  /** Percentage of events sampled (1–100); tfo counts every event, so only 100 translates. */
  sample_rate: z.number().int().min(1).max(100).default(100),
  /** The Go agent's event buffers; tfo reads counters from maps and has none. */
  ring_buffer_size: z.number().int().nonnegative().optional(),
  perf_buffer_size: z.number().int().nonnegative().optional(),
  btf_path: text(),
  /** Where the Go agent pins its maps; tfo does not pin them. */
  pin_path: z.string().optional(),
  labels: z.preprocess((v) => v ?? {}, z.record(z.string(), z.string())),
  cilium: block(ciliumSchema),
});

/**
 * `collectors.kubernetes`: the Go agent's Kubernetes collector, with the keys its published
 * examples show (`configs/collectors-kubernetes.yaml` and the k8s-collector ConfigMap of the
 * TelemetryFlow agent). The Go agent's defaults are not published; tfo assumes the resource
 * collectors (`nodes`, `pods`, `deployments`, `namespaces_collect`, `workloads`, `events`) on and
 * everything else off. What each key becomes is in `_kubernetes.ts`.
 */
export const kubernetesCollectorSchema = z.strictObject({
  enabled: flag(false),
  interval: duration("30s"),
  /** A kubeconfig path; empty: the pod's service account. */
  kubeconfig: text(),
  context: text(),
  cluster_name: text(),
  /** `eks`, `gke`, `aks` or empty. */
  cluster_provider: text(),
  cluster_id: text(),
  namespaces: strings(),
  exclude_namespaces: strings(),
  label_selector: text(),
  nodes: flag(true),
  pods: flag(true),
  deployments: flag(true),
  namespaces_collect: flag(true),
  workloads: flag(true),
  events: flag(true),
  services: flag(false),
  storage: flag(false),
  resource_counts: flag(false),
  network: flag(false),
  metrics_api: flag(false),
  hpa: flag(false),
  pdb: flag(false),
  resource_quotas: flag(false),
  limit_ranges: flag(false),
  pod_conditions: flag(false),
  node_taints: flag(false),
  workload_generations: flag(false),
  container_extended_metrics: flag(false),
  pv_io_stats: flag(false),
  pod_logs: flag(false),
  pod_logs_tail_lines: z.number().int().nonnegative().optional(),
  pod_logs_namespaces: strings(),
  node_logs: flag(false),
  node_logs_tail_lines: z.number().int().nonnegative().optional(),
  node_log_sources: strings(),
  apiserver_metrics: flag(false),
  coredns_metrics: flag(false),
  coredns_service: text(),
  sync_to_backend: flag(false),
  sync_interval: duration().optional(),
  sync_timeout: duration().optional(),
  kubelet_insecure_skip_verify: flag(false),
});

/** The `collectors:` keys tfo translates. */
export const collectorsSchema = z.strictObject({
  system: block(systemCollectorSchema),
  node_exporter: block(nodeExporterCollectorSchema),
  process: block(processCollectorSchema),
  logs: block(logsCollectorSchema),
  ebpf: block(ebpfCollectorSchema),
  kubernetes: block(kubernetesCollectorSchema),
});

const signalSchema = z.strictObject({
  enabled: flag(true),
  /** A full URL for this signal, bypassing the base endpoint. */
  endpoint: text(),
});

/** `exporter.otlp`: where the collected data goes. */
export const otlpExporterSchema = z.strictObject({
  enabled: flag(true),
  /** `grpc` or `http`; overrides `telemetryflow.protocol`. */
  protocol: z.enum(["grpc", "http"]).optional(),
  /** Overrides `telemetryflow.endpoint`. */
  endpoint: text(),
  /** Items per batch. */
  batch_size: z.number().int().positive().default(100),
  /** The longest a partial batch waits. */
  flush_interval: duration("10s"),
  compression: z.enum(["gzip", "none", ""]).default("gzip"),
  /** The OTLP/HTTP path version: `v1` (`/v1/metrics`) or `v2` (`/v2/metrics`). */
  endpoint_version: z.enum(["v1", "v2"]).default("v2"),
  /** Per-signal paths (appended to the base URL) or full URLs. */
  metrics_endpoint: text(),
  traces_endpoint: text(),
  logs_endpoint: text(),
  metrics: block(signalSchema),
  traces: block(signalSchema),
  logs: block(signalSchema),
  /** Extra headers on every export. */
  headers: z.preprocess((v) => v ?? {}, z.record(z.string(), z.string())),
  /** Overrides `telemetryflow.tls`. */
  tls: block(tlsSchema).optional(),
  /** Overrides `telemetryflow.timeout`. */
  timeout: duration().optional(),
});

/** `exporter:`. */
export const exporterSchema = z.strictObject({ otlp: block(otlpExporterSchema) });

/** `buffer:`: the disk buffer that keeps data through backend outages. */
export const bufferSchema = z.strictObject({
  enabled: flag(true),
  max_size_mb: z.number().nonnegative().default(100),
  /** Same as `max_size_mb`. */
  max_size: z.number().nonnegative().optional(),
  path: z.string().min(1).default("/var/lib/tfo-agent/buffer"),
  max_age: duration().optional(),
  flush_interval: duration().optional(),
});

/** `logging:`: the agent's own logs. */
export const loggingSchema = z.strictObject({
  level: z.preprocess(
    (v) => typeof v === "string" ? v.toLowerCase() : v,
    z.enum(["debug", "info", "warn", "warning", "error"]),
  ).default("info"),
  format: z.enum(["json", "text", "console"]).default("json"),
  file: text(),
  max_size_mb: z.number().optional(),
  max_backups: z.number().optional(),
  max_age_days: z.number().optional(),
  include_stack_trace: z.boolean().optional(),
  sampling_initial: z.number().optional(),
  sampling_thereafter: z.number().optional(),
});

/** `resources:`: the agent's own resource limits; tfo uses the memory limits. */
export const resourcesSchema = z.strictObject({
  enabled: flag(true),
  memory: block(z.strictObject({
    /** The hard limit in MB. */
    max_mb: z.number().nonnegative().default(0),
    /** The soft limit in MB. */
    soft_limit_mb: z.number().nonnegative().default(0),
    gc_percent: z.number().optional(),
  })),
  cpu: z.unknown().optional(),
  disk: z.unknown().optional(),
  network: z.unknown().optional(),
  lightweight_mode: z.boolean().optional(),
  adaptive_collection: z.unknown().optional(),
});

/** The translated TFO-Agent shape. */
export const tfoAgentSchema = z.strictObject({
  telemetryflow: block(telemetryflowSchema),
  api: block(legacyApiSchema).optional(),
  agent: block(agentSchema),
  heartbeat: block(heartbeatSchema),
  collectors: block(collectorsSchema),
  exporter: block(exporterSchema),
  buffer: block(bufferSchema),
  logging: block(loggingSchema),
  resources: block(resourcesSchema).optional(),
});

/** A validated TFO-Agent config, the Go agent's defaults filled in. */
export type TfoAgentConfig = z.output<typeof tfoAgentSchema>;

/**
 * Collectors of the Go agent that tfo does not provide, with the reason. A collector with
 * `enabled: true` is an error; a disabled one is a warning (it is left out).
 */
export const UNSUPPORTED_COLLECTORS: Readonly<Record<string, string>> = {
  fluent_bit: "tfo does not manage a Fluent Bit subprocess; use collectors.logs (filelog) instead",
  docker: "tfo does not read the Docker Engine API; scrape cAdvisor or use the Collector's " +
    "docker_stats receiver",
  cadvisor: "tfo does not translate a cadvisor collector; scrape cAdvisor with a prometheus " +
    "receiver in an OpenTelemetry-shaped config",
  remote_write_receiver: "tfo has no Prometheus remote-write receiver",
};

/** The reason given for a collector that is neither translated nor in the list above. */
export const UNKNOWN_COLLECTOR_REASON = "tfo has no equivalent of this TFO-Agent collector " +
  "(database, message queue, network probe and similar integrations are not built in)";

/**
 * Top-level sections of the Go agent that tfo does not provide, with the reason. A section with
 * `enabled: true` (or without an `enabled` key) is reported as its reason says: an error when it
 * asks for something tfo would silently not do, else a warning.
 */
export const UNSUPPORTED_SECTIONS: Readonly<
  Record<string, { reason: string; errorWhenEnabled: boolean }>
> = {
  prometheus_server: {
    reason: "tfo has no Prometheus exporter for collected data (its own metrics are served on " +
      "service.telemetry.metrics.address)",
    errorWhenEnabled: true,
  },
  security: {
    reason: "encryption at rest, data sanitization, key rotation and audit logs are not " +
      "provided; TLS is set through telemetryflow.tls",
    errorWhenEnabled: false,
  },
  auto_update: { reason: "tfo does not update itself", errorWhenEnabled: false },
  retention: {
    reason: "retention is applied by the platform, not the agent",
    errorWhenEnabled: false,
  },
  cache: { reason: "tfo keeps no collection cache", errorWhenEnabled: false },
  integrations: {
    reason: "third-party exporters are not translated; write an OpenTelemetry-shaped config " +
      "with the exporters tfo has",
    errorWhenEnabled: true,
  },
  persister: {
    reason: "log offsets are kept in the buffer's file_storage when buffer is enabled",
    errorWhenEnabled: false,
  },
  agent_api: { reason: "tfo has no agent query API", errorWhenEnabled: true },
  pipeline: {
    reason: "TFO-Agent pipeline processors are not translated",
    errorWhenEnabled: true,
  },
  outputs: { reason: "multiple outputs are not translated", errorWhenEnabled: true },
  secret_stores: {
    reason: "secret stores are not supported; use ${env:NAME} references",
    errorWhenEnabled: true,
  },
};
