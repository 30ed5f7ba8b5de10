/**
 * The built-in factories. Nothing else knows the full list.
 *
 * Types are the OpenTelemetry Collector's current names (v0.16x): the OTLP exporters are
 * `otlp_grpc` and `otlp_http`, and the types that moved to snake_case (`host_metrics`, `file_log`,
 * `resource_detection`) are listed under their new name. The older names (`otlp`, `otlphttp`,
 * `hostmetrics`, `filelog`, `resourcedetection`) still select them, with a warning, as in the
 * Collector. The rule for every component: `type` is the Collector's current name, `aliases` its
 * older names (a test checks that every type is lower snake_case and that no name is taken twice).
 *
 * @module
 */
import { asFactory, type Factory } from "./component.ts";
import { countFactory } from "./connector/count/factory.ts";
import { forwardFactory } from "./connector/forward/factory.ts";
import { routingFactory } from "./connector/routing/factory.ts";
import { servicegraphFactory } from "./connector/servicegraph/factory.ts";
import { spanmetricsFactory } from "./connector/spanmetrics/factory.ts";
import { debugFactory, loggingFactory } from "./exporter/debug/factory.ts";
import { apikeyauthFactory } from "./extension/apikeyauth/factory.ts";
import { fileStorageFactory } from "./extension/file_storage/factory.ts";
import { healthCheckFactory } from "./extension/health_check/factory.ts";
import { headersSetterFactory } from "./extension/headers_setter/factory.ts";
import { fluentforwardReceiverFactory } from "./receiver/fluentforward/factory.ts";
import { syslogReceiverFactory } from "./receiver/syslog/factory.ts";
import { pprofFactory } from "./extension/pprof/factory.ts";
import { zpagesFactory } from "./extension/zpages/factory.ts";
import { telemetryflowFactory } from "./extension/telemetryflow/factory.ts";
import { otlpExporterFactory } from "./exporter/otlp/factory.ts";
import { loadBalancingExporterFactory } from "./exporter/loadbalancing/factory.ts";
import { otlphttpExporterFactory } from "./exporter/otlphttp/factory.ts";
import { prometheusExporterFactory } from "./exporter/prometheus/factory.ts";
import { fileExporterFactory } from "./exporter/file/factory.ts";
import { lokiExporterFactory } from "./exporter/loki/factory.ts";
import { opensearchExporterFactory } from "./exporter/opensearch/factory.ts";
import { clickhouseExporterFactory } from "./exporter/clickhouse/factory.ts";
import { postgresqlExporterFactory } from "./exporter/postgresql/factory.ts";
import { prwExporterFactory } from "./exporter/prometheusremotewrite/factory.ts";
import { kafkaExporterFactory } from "./exporter/kafka/factory.ts";
import { kafkaReceiverFactory } from "./receiver/kafka/factory.ts";
import { attributesFactory } from "./processor/attributes/factory.ts";
import { batchFactory } from "./processor/batch/factory.ts";
import { memoryLimiterFactory } from "./processor/memory_limiter/factory.ts";
import { resourceFactory } from "./processor/resource/factory.ts";
import { resourceDetectionFactory } from "./processor/resourcedetection/factory.ts";
import { filterFactory } from "./processor/filter/factory.ts";
import { k8sattributesFactory } from "./processor/k8sattributes/factory.ts";
import { logstransformFactory } from "./processor/logstransform/factory.ts";
import { transformFactory } from "./processor/transform/factory.ts";
import { probabilisticSamplerFactory } from "./processor/probabilistic_sampler/factory.ts";
import { tailSamplingFactory } from "./processor/tail_sampling/factory.ts";
import { ebpfReceiverFactory } from "./receiver/ebpf/factory.ts";
import { filelogReceiverFactory } from "./receiver/filelog/factory.ts";
import { hostmetricsReceiverFactory } from "./receiver/hostmetrics/factory.ts";
import { otlpReceiverFactory } from "./receiver/otlp/factory.ts";
import { prometheusReceiverFactory } from "./receiver/prometheus/factory.ts";
import { k8sClusterReceiverFactory } from "./receiver/k8s_cluster/factory.ts";

/** `factory` under the Collector's current name, its former type kept as an older name. */
function renamed(factory: Factory, type: string): Factory {
  return { ...factory, type, aliases: [factory.type, ...(factory.aliases ?? [])] } as Factory;
}

/** Every built-in component factory. */
export const BUILTIN_FACTORIES: readonly Factory[] = [
  asFactory(otlpReceiverFactory),
  asFactory(prometheusReceiverFactory),
  asFactory(fluentforwardReceiverFactory),
  asFactory(syslogReceiverFactory),
  renamed(asFactory(filelogReceiverFactory), "file_log"),
  renamed(asFactory(hostmetricsReceiverFactory), "host_metrics"),
  asFactory(ebpfReceiverFactory),
  asFactory(k8sClusterReceiverFactory),
  asFactory(batchFactory),
  asFactory(memoryLimiterFactory),
  asFactory(attributesFactory),
  asFactory(resourceFactory),
  renamed(asFactory(resourceDetectionFactory), "resource_detection"),
  asFactory(filterFactory),
  renamed(asFactory(k8sattributesFactory), "k8s_attributes"),
  asFactory(transformFactory),
  asFactory(logstransformFactory),
  asFactory(probabilisticSamplerFactory),
  asFactory(tailSamplingFactory),
  asFactory(debugFactory),
  asFactory(loggingFactory),
  renamed(asFactory(otlpExporterFactory), "otlp_grpc"),
  renamed(asFactory(otlphttpExporterFactory), "otlp_http"),
  asFactory(prometheusExporterFactory),
  asFactory(fileExporterFactory),
  asFactory(lokiExporterFactory),
  asFactory(opensearchExporterFactory),
  asFactory(postgresqlExporterFactory),
  asFactory(clickhouseExporterFactory),
  renamed(asFactory(prwExporterFactory), "prometheus_remote_write"),
  asFactory(kafkaExporterFactory),
  asFactory(kafkaReceiverFactory),
  asFactory(loadBalancingExporterFactory),
  asFactory(healthCheckFactory),
  asFactory(pprofFactory),
  asFactory(zpagesFactory),
  asFactory(fileStorageFactory),
  asFactory(apikeyauthFactory),
  asFactory(telemetryflowFactory),
  asFactory(headersSetterFactory),
  asFactory(forwardFactory),
  asFactory(spanmetricsFactory),
  asFactory(countFactory),
  asFactory(routingFactory),
  asFactory(servicegraphFactory),
];
