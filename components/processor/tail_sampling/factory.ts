/**
 * The `tail_sampling` processor: the contrib Collector's tail sampler (v0.161 keys, defaults,
 * policies and decision rules), with a memory bound, early decisions and, with `storage`, pending
 * traces that survive a restart or `kill -9`. Upstream is answered once the spans are held: in
 * memory, or committed to storage when `storage` is set. See {@link ./_sampler.ts} for the rules.
 *
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import type { Host, Processor, ProcessorFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { errorMessage, permanentError, retryableError } from "../../../lib/consumer/consumer.ts";
import { encodeTracesRequest } from "../../../lib/otlp/traces_proto.ts";
import { EncodedSpansError } from "./_encoded.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { getStorageClient, type StorageClient } from "../../../lib/storage/mod.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { Meter } from "../../../lib/telemetry/metrics.ts";
import { type TailSamplingConfig, tailSamplingConfigSchema } from "./config.ts";
import { samplerMetrics } from "./_metrics.ts";
import { kvPendingStore, loadPending } from "./_persist.ts";
import { TailSampler, TICK_MS } from "./_sampler.ts";

/** Options of {@linkcode createTailSamplingProcessor}. */
export interface TailSamplingOptions {
  readonly id: string;
  readonly logger: Logger;
  readonly meter: Meter;
  /** @default SYSTEM_CLOCK */
  readonly clock?: Clock;
}

/** A tail sampling processor, with its engine exposed for tests. */
export interface TailSamplingProcessor extends Processor<"traces"> {
  readonly sampler: TailSampler;
}

/** Creates one tail sampling processor instance. */
export function createTailSamplingProcessor(
  config: TailSamplingConfig,
  next: Consumer<"traces">,
  options: TailSamplingOptions,
): TailSamplingProcessor {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const metrics = samplerMetrics(options.meter);
  const sampler = new TailSampler(config, next, {
    id: options.id,
    clock,
    logger: options.logger,
    metrics,
  });
  options.meter.observe(
    "tfo_processor_tail_sampling_held_bytes",
    "Estimated bytes of spans the tail sampler holds (what max_memory_mib bounds).",
    {},
    () => sampler.bytesHeld,
    { unit: "By" },
  );
  options.meter.observe(
    "tfo_processor_tail_sampling_pending_traces",
    "Traces waiting for their sampling decision.",
    {},
    () => sampler.pendingTraces,
    { unit: "{traces}" },
  );
  let timer: unknown;
  let ticking: Promise<void> = Promise.resolve();
  let state: "new" | "running" | "stopped" = "new";
  let storage: StorageClient | undefined;
  const schedule = () => {
    timer = clock.setTimer(() => {
      timer = undefined;
      ticking = sampler.tick().catch((error) => {
        options.logger.error("Tail sampling decision failed", { error: errorMessage(error) });
      }).finally(() => {
        if (state === "running") schedule();
      });
    }, TICK_MS);
  };
  return {
    sampler,
    // Spans are held as their encoded bytes; the payload itself is never changed.
    mutatesData: false,
    consume(payload: Payload<"traces">): Promise<void> {
      if (state === "stopped") {
        return Promise.reject(retryableError("tail_sampling processor is shutting down"));
      }
      let request: Uint8Array;
      try {
        request = payload.encodedProto ?? encodeTracesRequest(payload.read());
      } catch (error) {
        return Promise.reject(
          permanentError(`tail_sampling cannot read the spans: ${errorMessage(error)}`),
        );
      }
      return sampler.consume(request).catch((error) => {
        throw error instanceof EncodedSpansError
          ? permanentError(`tail_sampling cannot read the spans: ${error.message}`)
          : error;
      });
    },
    async start(host: Host): Promise<void> {
      if (config.storage !== undefined) {
        storage = getStorageClient(host, config.storage, "processor", options.id);
        sampler.setStore(kvPendingStore(storage));
        const now = clock.now();
        const restored = await loadPending(storage, now, options.logger);
        for (const entry of restored) {
          sampler.restore(entry, entry.arrival + config.decision_wait - now);
        }
        if (restored.length > 0) {
          options.logger.info("Restored pending traces from storage", { traces: restored.length });
        }
      }
      state = "running";
      schedule();
    },
    async shutdown(): Promise<void> {
      if (state === "stopped") return;
      const wasRunning = state === "running";
      state = "stopped";
      sampler.stopRetrying();
      if (timer !== undefined) clock.clearTimer(timer);
      timer = undefined;
      await ticking;
      sampler.releaseWaiters();
      if (wasRunning) await sampler.flush();
      await storage?.close();
      storage = undefined;
    },
  };
}

/** The `tail_sampling` processor factory. */
export const tailSamplingFactory: ProcessorFactory<TailSamplingConfig> = {
  kind: "processor",
  type: "tail_sampling",
  configSchema: tailSamplingConfigSchema,
  // A trace's spans must meet in one instance to be decided together.
  placement: { sharded: "trace_id" },
  // The limits bound the process: each of N instances holds its share.
  shardConfig: (config, shards) => ({
    ...config,
    num_traces: Math.max(1, Math.ceil(config.num_traces / shards)),
    max_memory_mib: config.max_memory_mib / shards,
  }),
  signals: { traces: "beta" },
  create: <S extends Signal>(
    settings: Parameters<ProcessorFactory<TailSamplingConfig>["create"]>[0],
    _signal: S,
    next: Consumer<S>,
  ) =>
    createTailSamplingProcessor(settings.config, next as unknown as Consumer<"traces">, {
      id: settings.id,
      logger: settings.logger,
      meter: settings.meter,
    }) as unknown as Processor<S>,
};
