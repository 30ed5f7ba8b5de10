/**
 * The built-in components. Nothing else knows the full list.
 *
 * Each row names a component (kind, type, older names) and says how to load its factory; the
 * factory module — its config schema, its implementation and their dependencies — is imported
 * only when a config first names the component (`pipelines/factories.ts`), so a process runs with
 * the code its config uses and no more. The specifiers are string literals, which `deno compile`
 * embeds like static imports, and which `deno run` with `lazy-dynamic-imports` (deno.json) does not
 * read before they are imported.
 *
 * Types are the OpenTelemetry Collector's current names (v0.16x): the OTLP exporters are
 * `otlp_grpc` and `otlp_http`, and the types that moved to snake_case (`host_metrics`, `file_log`,
 * `resource_detection`) are listed under their new name. The older names (`otlp`, `otlphttp`,
 * `hostmetrics`, `filelog`, `resourcedetection`) still select them, with a warning, as in the
 * Collector. The rule for every component: `type` is the Collector's current name, `aliases` its
 * older names (a test checks that every type is lower snake_case, that no name is taken twice, and
 * that each row matches the factory it loads).
 *
 * To add a component, add one row:
 *
 * ```ts
 * lazy("receiver", "my_type", async () => (await import("./receiver/my_type/factory.ts")).myFactory),
 * ```
 *
 * with the older names, if any, as a last argument (`["mytype"]`). Never import a factory module
 * statically here: that loads it into every process.
 *
 * @module
 */
import { asFactory, type Factory, type Kind, type LazyFactory } from "./component.ts";

/** Any typed factory, as its module exports it. */
type TypedFactory = Parameters<typeof asFactory>[0];

/**
 * A registry row. The row's type and older names are what configs select it by; the loaded
 * factory gets them (a factory written under an older type is renamed), once, so every load gives
 * the same object.
 */
export function lazy(
  kind: Kind,
  type: string,
  load: () => Promise<TypedFactory>,
  aliases?: readonly string[],
): LazyFactory {
  let loaded: Promise<Factory> | undefined;
  return {
    kind,
    type,
    ...(aliases === undefined ? {} : { aliases }),
    load() {
      loaded ??= load().then((typed) => {
        const factory = asFactory(typed);
        const sameAliases = (factory.aliases ?? []).join() === (aliases ?? []).join();
        if (factory.type === type && sameAliases) return factory;
        return { ...factory, type, aliases: aliases ?? [] } as Factory;
      });
      return loaded;
    },
  };
}

/** Every built-in component, unloaded. */
export const BUILTIN_COMPONENTS: readonly LazyFactory[] = [
  lazy(
    "receiver",
    "otlp",
    async () => (await import("./receiver/otlp/factory.ts")).otlpReceiverFactory,
  ),
  lazy(
    "receiver",
    "prometheus",
    async () => (await import("./receiver/prometheus/factory.ts")).prometheusReceiverFactory,
  ),
  lazy(
    "receiver",
    "fluent_forward",
    async () => (await import("./receiver/fluentforward/factory.ts")).fluentforwardReceiverFactory,
    ["fluentforward"],
  ),
  lazy(
    "receiver",
    "syslog",
    async () => (await import("./receiver/syslog/factory.ts")).syslogReceiverFactory,
  ),
  lazy(
    "receiver",
    "file_log",
    async () => (await import("./receiver/filelog/factory.ts")).filelogReceiverFactory,
    ["filelog"],
  ),
  lazy(
    "receiver",
    "host_metrics",
    async () => (await import("./receiver/hostmetrics/factory.ts")).hostmetricsReceiverFactory,
    ["hostmetrics"],
  ),
  lazy(
    "receiver",
    "ebpf",
    async () => (await import("./receiver/ebpf/factory.ts")).ebpfReceiverFactory,
  ),
  lazy(
    "receiver",
    "k8s_cluster",
    async () => (await import("./receiver/k8s_cluster/factory.ts")).k8sClusterReceiverFactory,
  ),
  lazy(
    "receiver",
    "k8s_events",
    async () => (await import("./receiver/k8s_events/factory.ts")).k8sEventsReceiverFactory,
  ),
  lazy(
    "receiver",
    "kubelet_stats",
    async () => (await import("./receiver/kubelet_stats/factory.ts")).kubeletStatsReceiverFactory,
    ["kubeletstats"],
  ),
  lazy(
    "receiver",
    "kafka",
    async () => (await import("./receiver/kafka/factory.ts")).kafkaReceiverFactory,
  ),
  lazy(
    "processor",
    "batch",
    async () => (await import("./processor/batch/factory.ts")).batchFactory,
  ),
  lazy(
    "processor",
    "memory_limiter",
    async () => (await import("./processor/memory_limiter/factory.ts")).memoryLimiterFactory,
  ),
  lazy(
    "processor",
    "attributes",
    async () => (await import("./processor/attributes/factory.ts")).attributesFactory,
  ),
  lazy(
    "processor",
    "resource",
    async () => (await import("./processor/resource/factory.ts")).resourceFactory,
  ),
  lazy(
    "processor",
    "resource_detection",
    async () => (await import("./processor/resourcedetection/factory.ts")).resourceDetectionFactory,
    ["resourcedetection"],
  ),
  lazy(
    "processor",
    "filter",
    async () => (await import("./processor/filter/factory.ts")).filterFactory,
  ),
  lazy(
    "processor",
    "k8s_attributes",
    async () => (await import("./processor/k8sattributes/factory.ts")).k8sattributesFactory,
    ["k8sattributes"],
  ),
  lazy(
    "processor",
    "transform",
    async () => (await import("./processor/transform/factory.ts")).transformFactory,
  ),
  lazy(
    "processor",
    "logstransform",
    async () => (await import("./processor/logstransform/factory.ts")).logstransformFactory,
  ),
  lazy(
    "processor",
    "probabilistic_sampler",
    async () =>
      (await import("./processor/probabilistic_sampler/factory.ts")).probabilisticSamplerFactory,
  ),
  lazy(
    "processor",
    "tail_sampling",
    async () => (await import("./processor/tail_sampling/factory.ts")).tailSamplingFactory,
  ),
  lazy("exporter", "debug", async () => (await import("./exporter/debug/factory.ts")).debugFactory),
  lazy(
    "exporter",
    "logging",
    async () => (await import("./exporter/debug/factory.ts")).loggingFactory,
  ),
  lazy(
    "exporter",
    "otlp_grpc",
    async () => (await import("./exporter/otlp/factory.ts")).otlpExporterFactory,
    ["otlp"],
  ),
  lazy(
    "exporter",
    "otlp_http",
    async () => (await import("./exporter/otlphttp/factory.ts")).otlphttpExporterFactory,
    ["otlphttp"],
  ),
  lazy(
    "exporter",
    "prometheus",
    async () => (await import("./exporter/prometheus/factory.ts")).prometheusExporterFactory,
  ),
  lazy(
    "exporter",
    "file",
    async () => (await import("./exporter/file/factory.ts")).fileExporterFactory,
  ),
  lazy(
    "exporter",
    "loki",
    async () => (await import("./exporter/loki/factory.ts")).lokiExporterFactory,
  ),
  lazy(
    "exporter",
    "opensearch",
    async () => (await import("./exporter/opensearch/factory.ts")).opensearchExporterFactory,
  ),
  lazy(
    "exporter",
    "postgresql",
    async () => (await import("./exporter/postgresql/factory.ts")).postgresqlExporterFactory,
  ),
  lazy(
    "exporter",
    "clickhouse",
    async () => (await import("./exporter/clickhouse/factory.ts")).clickhouseExporterFactory,
  ),
  lazy(
    "exporter",
    "kafka",
    async () => (await import("./exporter/kafka/factory.ts")).kafkaExporterFactory,
  ),
  lazy(
    "exporter",
    "prometheus_remote_write",
    async () => (await import("./exporter/prometheusremotewrite/factory.ts")).prwExporterFactory,
    ["prometheusremotewrite"],
  ),
  lazy(
    "exporter",
    "loadbalancing",
    async () => (await import("./exporter/loadbalancing/factory.ts")).loadBalancingExporterFactory,
  ),
  lazy(
    "extension",
    "health_check",
    async () => (await import("./extension/health_check/factory.ts")).healthCheckFactory,
  ),
  lazy(
    "extension",
    "headers_setter",
    async () => (await import("./extension/headers_setter/factory.ts")).headersSetterFactory,
  ),
  lazy(
    "extension",
    "pprof",
    async () => (await import("./extension/pprof/factory.ts")).pprofFactory,
  ),
  lazy(
    "extension",
    "zpages",
    async () => (await import("./extension/zpages/factory.ts")).zpagesFactory,
  ),
  lazy(
    "extension",
    "file_storage",
    async () => (await import("./extension/file_storage/factory.ts")).fileStorageFactory,
  ),
  lazy(
    "extension",
    "apikeyauth",
    async () => (await import("./extension/apikeyauth/factory.ts")).apikeyauthFactory,
  ),
  lazy(
    "extension",
    "telemetryflow",
    async () => (await import("./extension/telemetryflow/factory.ts")).telemetryflowFactory,
  ),
  lazy(
    "connector",
    "forward",
    async () => (await import("./connector/forward/factory.ts")).forwardFactory,
  ),
  lazy(
    "connector",
    "span_metrics",
    async () => (await import("./connector/spanmetrics/factory.ts")).spanmetricsFactory,
    ["spanmetrics"],
  ),
  lazy(
    "connector",
    "count",
    async () => (await import("./connector/count/factory.ts")).countFactory,
  ),
  lazy(
    "connector",
    "routing",
    async () => (await import("./connector/routing/factory.ts")).routingFactory,
  ),
  lazy(
    "connector",
    "servicegraph",
    async () => (await import("./connector/servicegraph/factory.ts")).servicegraphFactory,
  ),
];

/** Loads every built-in factory (`tfo components`, tests); a run loads only what its config uses. */
export function loadBuiltinFactories(): Promise<Factory[]> {
  return Promise.all(BUILTIN_COMPONENTS.map((c) => c.load()));
}
