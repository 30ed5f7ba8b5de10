/**
 * The built-in factories. Nothing else knows the full list.
 *
 * @module
 */
import { asFactory, type Factory } from "./component.ts";
import { forwardFactory } from "./connector/forward/factory.ts";
import { debugFactory, loggingFactory } from "./exporter/debug/factory.ts";
import { apikeyauthFactory } from "./extension/apikeyauth/factory.ts";
import { fileStorageFactory } from "./extension/file_storage/factory.ts";
import { healthCheckFactory } from "./extension/health_check/factory.ts";
import { telemetryflowFactory } from "./extension/telemetryflow/factory.ts";
import { otlpExporterFactory } from "./exporter/otlp/factory.ts";
import { otlphttpExporterFactory } from "./exporter/otlphttp/factory.ts";
import { prometheusExporterFactory } from "./exporter/prometheus/factory.ts";
import { fileExporterFactory } from "./exporter/file/factory.ts";
import { attributesFactory } from "./processor/attributes/factory.ts";
import { batchFactory } from "./processor/batch/factory.ts";
import { memoryLimiterFactory } from "./processor/memory_limiter/factory.ts";
import { resourceFactory } from "./processor/resource/factory.ts";
import { resourceDetectionFactory } from "./processor/resourcedetection/factory.ts";
import { filelogReceiverFactory } from "./receiver/filelog/factory.ts";
import { hostmetricsReceiverFactory } from "./receiver/hostmetrics/factory.ts";
import { otlpReceiverFactory } from "./receiver/otlp/factory.ts";
import { prometheusReceiverFactory } from "./receiver/prometheus/factory.ts";

/** Every built-in component factory. */
export const BUILTIN_FACTORIES: readonly Factory[] = [
  asFactory(otlpReceiverFactory),
  asFactory(prometheusReceiverFactory),
  asFactory(filelogReceiverFactory),
  asFactory(hostmetricsReceiverFactory),
  asFactory(batchFactory),
  asFactory(memoryLimiterFactory),
  asFactory(attributesFactory),
  asFactory(resourceFactory),
  asFactory(resourceDetectionFactory),
  asFactory(debugFactory),
  asFactory(loggingFactory),
  asFactory(otlpExporterFactory),
  asFactory(otlphttpExporterFactory),
  asFactory(prometheusExporterFactory),
  asFactory(fileExporterFactory),
  asFactory(healthCheckFactory),
  asFactory(fileStorageFactory),
  asFactory(apikeyauthFactory),
  asFactory(telemetryflowFactory),
  asFactory(forwardFactory),
];
