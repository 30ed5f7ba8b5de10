/**
 * The rule that lets a `batch` processor batch without holding its clients (README, "Batching and
 * acknowledgement"). A batch processor is *handed off* when it is the last processor of its
 * pipeline and every exporter of that pipeline is an exporter (not a connector) whose
 * `sending_queue` is enabled, or that is `debug` (it writes locally at once and takes data as it
 * comes, unbatched). Then it passes data straight
 * through, and its settings become the queued exporters' queue batching for that signal (`timeout` → `flush_timeout`, `send_batch_size` → `min_size`,
 * `send_batch_max_size` → `max_size`, `metadata_keys` → `partition.metadata_keys`, sizer `items`),
 * unless an exporter sets `sending_queue.batch` itself (its own settings win). The queue accepts
 * each request as it comes — committed to disk with a persistent queue — so the client is answered
 * in milliseconds and nothing acknowledged sits only in memory.
 *
 * Anywhere else (a processor after it, a connector or an exporter without an enabled queue) the batch
 * processor acknowledges data once it holds it in memory, as the OpenTelemetry Collector's does,
 * and `tfo validate` warns that data it holds is lost on a crash.
 *
 * An exporter fed by several handed-off batch processors of one signal takes the settings of the
 * first pipeline in config order; the others are warned about when their settings differ.
 *
 * @module
 */
import type { BatchConfig } from "../components/processor/batch/config.ts";
import type {
  HandedBatches,
  QueueBatchSettings,
  SendingQueueConfig,
} from "../lib/exporterhelper/exporter_helper.ts";
import type { Signal } from "../lib/pdata/types.ts";
import type { ResolvedConfig } from "./config.ts";
import { isDeepStrictEqual } from "node:util";

/** The processor type the rule applies to. */
export const BATCH_TYPE = "batch";

/** The exporter that writes locally and at once, taking data unbatched without harm. */
const LOCAL_EXPORTER = "debug";

/** A warning about a batch processor, pointing at its place in a pipeline. */
export interface BatchWarning {
  readonly pipeline: string;
  /** The processor's index in the pipeline's `processors` list. */
  readonly index: number;
  readonly message: string;
}

/** What the rule decided for a config. */
export interface BatchPlan {
  /** `<pipeline>\u0000<index>` of every handed-off batch processor. */
  readonly handedOff: ReadonlySet<string>;
  /** Batch settings per exporter ID and signal. */
  readonly exporterBatches: ReadonlyMap<string, HandedBatches>;
  readonly warnings: readonly BatchWarning[];
}

/** The key of a processor in {@linkcode BatchPlan.handedOff}. */
export function processorKey(pipeline: string, index: number): string {
  return `${pipeline}\u0000${index}`;
}

/** The queue batching equivalent of a batch processor's settings. */
export function queueBatchOf(config: BatchConfig): QueueBatchSettings {
  return {
    // timeout 0 sends at once: every entry completes a batch.
    flushTimeoutMs: config.timeout > 0 ? config.timeout : 1,
    minSize: config.timeout > 0 ? config.send_batch_size : 0,
    maxSize: config.send_batch_max_size,
    sizer: "items",
    metadataKeys: config.metadata_keys.map((k) => k.toLowerCase()),
  };
}

/** The enabled sending queue of an exporter's config, if it has one. */
function queueOf(config: unknown): SendingQueueConfig | undefined {
  const queue = (config as { sending_queue?: SendingQueueConfig } | undefined)?.sending_queue;
  return queue !== undefined && queue.enabled ? queue : undefined;
}

/** True when `config` has the batch processor's shape (a stand-in factory's may not). */
function isBatchConfig(config: unknown): config is BatchConfig {
  const c = config as Partial<BatchConfig> | undefined;
  return typeof c?.timeout === "number" && typeof c.send_batch_size === "number" &&
    typeof c.send_batch_max_size === "number" && Array.isArray(c.metadata_keys);
}

/** True for an exporter built on the exporter helper (one that can queue at all). */
function hasQueueKey(config: unknown): boolean {
  return (config as { sending_queue?: unknown } | undefined)?.sending_queue !== undefined;
}

/** Applies the rule to `config`. */
export function planBatchHandoff(config: ResolvedConfig): BatchPlan {
  const handedOff = new Set<string>();
  const exporterBatches = new Map<string, { [S in Signal]?: QueueBatchSettings }>();
  const warnings: BatchWarning[] = [];
  for (const p of config.service.pipelines.values()) {
    p.processors.forEach((id, index) => {
      const c = config.processors.get(id);
      if (c === undefined || c.type !== BATCH_TYPE || !isBatchConfig(c.config)) return;
      const where = `processor "${id}" (pipeline "${p.id}", position ${
        index + 1
      } of ${p.processors.length})`;
      const notDurable = (why: string) =>
        warnings.push({
          pipeline: p.id,
          index,
          message: `${where} holds data in memory because ${why}: data it holds is ` +
            "acknowledged but not durable (lost on a crash); make it the last processor before " +
            "exporters with a sending_queue, or use sending_queue.batch",
        });
      if (index !== p.processors.length - 1) {
        return notDurable(`processor "${p.processors[index + 1]}" follows it`);
      }
      for (const e of p.exporters) {
        const exporter = config.exporters.get(e);
        if (exporter === undefined) return notDurable(`connector "${e}" follows it`);
        if (exporter.type === LOCAL_EXPORTER) continue;
        if (!hasQueueKey(exporter.config)) {
          return notDurable(`exporter "${e}" has no sending_queue`);
        }
        if (queueOf(exporter.config) === undefined) {
          return notDurable(`exporter "${e}" has its sending_queue disabled`);
        }
      }
      handedOff.add(processorKey(p.id, index));
      const settings = queueBatchOf(c.config);
      for (const e of p.exporters) {
        const queue = queueOf(config.exporters.get(e)!.config);
        if (queue === undefined || queue.batch !== undefined) continue;
        const batches = exporterBatches.get(e) ?? {};
        const taken = batches[p.signal];
        if (taken === undefined) {
          batches[p.signal] = settings;
          exporterBatches.set(e, batches);
        } else if (!isDeepStrictEqual(taken, settings)) {
          warnings.push({
            pipeline: p.id,
            index,
            message: `${where}: exporter "${e}" already batches ${p.signal} with the settings ` +
              "of an earlier pipeline's batch processor, which it uses for all its " +
              `${p.signal}; give the pipelines the same settings or set sending_queue.batch`,
          });
        }
      }
    });
  }
  return { handedOff, exporterBatches, warnings };
}
