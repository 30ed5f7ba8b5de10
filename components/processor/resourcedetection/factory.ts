/**
 * The `resourcedetection` processor: at start, runs its detectors once (concurrently, bounded by
 * `timeout`), merges what they found in detector order (the first detector to report a key wins,
 * as in the Collector), and then stamps every payload's resources with the result: replacing
 * existing values when `override` is true, only adding missing keys otherwise.
 *
 * A detector that fails is logged and skipped, never fatal; a cloud detector off its cloud logs at
 * debug. Processors created from the same config object (one per pipeline) share one detection.
 *
 * It changes resources only, so it declares that it needs no item field: a request that arrives
 * encoded is decoded down to its resources and scopes, and the exporter encodes it by copying
 * every item's bytes. Asking for all fields (as it did) decoded and re-encoded every span, data
 * point and log record of every request (the agent seed's first requests compiled and ran the
 * full decoder and encoder); edit plus encode of a request now takes 0.37–0.63 of the time
 * (bench/RESULTS.md, "Request latency with the seed batch settings").
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { cloneAnyValue } from "../../../lib/pdata/clone.ts";
import { indexOfAttribute } from "../../../lib/pdata/attributes.ts";
import { NO_FIELDS, NOTHING } from "../../../lib/pdata/fields.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { KeyValue, Resource, Signal } from "../../../lib/pdata/types.ts";
import { forEachResource } from "../../../lib/processing/walk.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import {
  type DetectorName,
  type ResourceDetectionConfig,
  resourceDetectionConfigSchema,
} from "./config.ts";
import {
  type DetectorContext,
  MetadataUnavailableError,
  systemContext,
} from "./detectors/_detector.ts";
import { detectAzure } from "./detectors/azure.ts";
import { detectDocker } from "./detectors/docker.ts";
import { detectEc2 } from "./detectors/ec2.ts";
import { detectEnv } from "./detectors/env.ts";
import { detectGcp } from "./detectors/gcp.ts";
import { detectK8sNode } from "./detectors/k8snode.ts";
import { detectSystem } from "./detectors/system.ts";

/** Replacements for what detectors look at (tests); each defaults to the running system. */
export type DetectorOverrides = Partial<Omit<DetectorContext, "signal" | "logger">>;

function runDetector(name: DetectorName, config: ResourceDetectionConfig, ctx: DetectorContext) {
  switch (name) {
    case "env":
      return detectEnv(ctx);
    case "system":
      return detectSystem(config.system, ctx);
    case "docker":
      return detectDocker(config.docker, ctx);
    case "k8snode":
      return detectK8sNode(config.k8snode, ctx);
    case "ec2":
      return detectEc2(config.ec2, ctx);
    case "gcp":
      return detectGcp(config.gcp, ctx);
    case "azure":
      return detectAzure(config.azure, ctx);
  }
}

/** How long to wait, after the timeout, for detectors to notice the abort and release resources. */
const SETTLE_MS = 250;

/**
 * Runs the configured detectors and merges their results (first detector wins per key). Never
 * rejects: failures and timeouts are logged, and what did arrive in time is used.
 */
export async function detectResource(
  config: ResourceDetectionConfig,
  logger: Logger,
  overrides: DetectorOverrides = {},
): Promise<KeyValue[]> {
  const controller = new AbortController();
  const ctx: DetectorContext = {
    ...systemContext(controller.signal, logger),
    ...overrides,
    signal: controller.signal,
    logger,
  };
  const results: (KeyValue[] | undefined)[] = config.detectors.map(() => undefined);
  const runs = config.detectors.map(async (name, i) => {
    try {
      results[i] = await runDetector(name, config, ctx);
    } catch (error) {
      const fields = {
        detector: name,
        error: error instanceof Error ? error.message : String(error),
      };
      if (error instanceof MetadataUnavailableError) logger.debug("Detector found nothing", fields);
      else if (controller.signal.aborted) logger.warn("Detector timed out", fields);
      else logger.warn("Detector failed", fields);
    }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      const pending = config.detectors.filter((_, i) => results[i] === undefined);
      if (pending.length > 0) {
        logger.warn("Resource detection timed out", { timeout_ms: config.timeout, pending });
      }
      controller.abort();
      resolve();
    }, config.timeout);
  });
  const all = Promise.all(runs);
  await Promise.race([all, expired]);
  clearTimeout(timer);
  if (!controller.signal.aborted) controller.abort();
  // Give aborted requests a moment to settle so nothing outlives start.
  let settle: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([all, new Promise<void>((r) => (settle = setTimeout(r, SETTLE_MS)))]);
  clearTimeout(settle);

  const merged: KeyValue[] = [];
  for (const found of results) {
    for (const kv of found ?? []) {
      if (indexOfAttribute(merged, kv.key) < 0) merged.push(kv);
    }
  }
  logger.info("Detected resource information", {
    resource: Object.fromEntries(merged.map((kv) => [kv.key, kv.value])),
  });
  return merged;
}

/** Lays `detected` over a resource's attributes. */
export function applyDetected(
  resource: Resource,
  detected: readonly KeyValue[],
  override: boolean,
): void {
  const attrs = resource.attributes;
  for (const kv of detected) {
    const i = indexOfAttribute(attrs, kv.key);
    if (i < 0) attrs.push({ key: kv.key, value: cloneAnyValue(kv.value) });
    else if (override) attrs[i]!.value = cloneAnyValue(kv.value);
  }
}

const shared = new WeakMap<object, Promise<KeyValue[]>>();

/** Options of {@linkcode createResourceDetectionProcessor}. */
export interface ResourceDetectionOptions {
  /** Replacements for the environment, files, hostname and network (tests). */
  overrides?: DetectorOverrides;
}

/** Creates one resourcedetection processor instance. */
export function createResourceDetectionProcessor<S extends Signal>(
  config: ResourceDetectionConfig,
  signal: S,
  next: Consumer<S>,
  logger: Logger,
  options: ResourceDetectionOptions = {},
): Processor<S> {
  let detected: readonly KeyValue[] = [];
  return {
    mutatesData: true,
    needs: next.needs ?? NOTHING,
    consume(payload: Payload<S>): Promise<void> {
      if (detected.length > 0) {
        forEachResource(
          signal,
          payload.edit(NO_FIELDS),
          (r) => applyDetected(r, detected, config.override),
        );
      }
      return next.consume(payload);
    },
    async start() {
      let detection = options.overrides === undefined ? shared.get(config) : undefined;
      if (detection === undefined) {
        detection = detectResource(config, logger, options.overrides);
        if (options.overrides === undefined) shared.set(config, detection);
      }
      detected = await detection;
    },
    shutdown: () => Promise.resolve(),
  };
}

/** The `resourcedetection` processor factory. */
export const resourceDetectionFactory: ProcessorFactory<ResourceDetectionConfig> = {
  kind: "processor",
  type: "resourcedetection",
  configSchema: resourceDetectionConfigSchema,
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: (settings, signal, next) =>
    createResourceDetectionProcessor(settings.config, signal, next, settings.logger),
};
