/**
 * The exporter helper: turns an exporter's single-attempt push functions into consumers with a
 * sending queue, retries and per-attempt timeouts, composed of small senders as the OpenTelemetry
 * Collector's `exporterhelper` is:
 *
 * ```
 * consume → queue → report (sent / send_failed) → retry → timeout → push
 * ```
 *
 * It also holds the shared config of those senders (`timeout`, `retry_on_failure`,
 * `sending_queue`) with the Collector's keys and defaults, plus tfo's `sending_queue.max_size_mib`
 * and `sending_queue.when_full`.
 *
 * Consumers made here count `otelcol_exporter_sent_*` and `otelcol_exporter_send_failed_*`
 * themselves, where the data really reached (or finally failed to reach) the backend; they carry a
 * mark ({@linkcode countsItsOwnSends}) so the pipeline graph does not count them a second time.
 *
 * @module
 */
import { z } from "../config/z.js";
import type { Host } from "../component/host.ts";
import {
  type Consumer,
  type ConsumerError,
  errorMessage,
  permanentError,
  retryableError,
  type SignalConsumers,
} from "../consumer/consumer.ts";
import { duration } from "../config/schema.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Meter } from "../telemetry/metrics.ts";
import { type Clock, SYSTEM_CLOCK } from "./_clock.ts";
import { defaultQueueFactory, type QueueFactory } from "./_queue_factory.ts";
import { reportSender } from "./_report_sender.ts";
import { itemBounded } from "./_item_bounded_queue.ts";
import { type TenantMetricsConfig, tenantMetricsSchema } from "../tenancy/config.ts";
import { tenantSendCounters } from "../tenancy/exporter_metrics.ts";
import type { QueueBatchSettings } from "./_queue_batcher.ts";
import { type QueueSender, startQueueSender } from "./queue_sender.ts";
import { type RetryConfig, retrySender } from "./retry_sender.ts";
import { type PushFunc, type Sender, timeoutSender } from "./timeout_sender.ts";

export type { PushFunc, Sender } from "./timeout_sender.ts";
export type { RetryConfig } from "./retry_sender.ts";
export type { QueueFactory, QueueRequest } from "./_queue_factory.ts";
export type { QueueBatchSettings, Sizer } from "./_queue_batcher.ts";

/** The `retry_on_failure` schema: the Collector's keys and defaults. */
export const retryOnFailureSchema = z
  .strictObject({
    /** Retry retryable failures. */
    enabled: z.boolean().default(true),
    /** The wait after the first failure. */
    initial_interval: duration("5s"),
    /** How far each wait is spread around its nominal value (0 to 1). */
    randomization_factor: z.number().min(0).max(1).default(0.5),
    /** The growth of the nominal wait per retry. */
    multiplier: z.number().positive().default(1.5),
    /** The largest nominal wait. */
    max_interval: duration("30s"),
    /** The most time spent on one request, from the first attempt; 0 retries forever. */
    max_elapsed_time: duration("300s"),
  })
  .superRefine((c, ctx) => {
    if (!c.enabled || c.max_elapsed_time === 0) return;
    for (const key of ["initial_interval", "max_interval"] as const) {
      if (c.max_elapsed_time < c[key]) {
        ctx.addIssue({
          code: "custom",
          path: ["max_elapsed_time"],
          message: `must be 0 or at least ${key}`,
        });
      }
    }
  });

const sizerSchema = z.enum(["requests", "items", "bytes"]);

/** The `sending_queue.batch` schema: the Collector's keys and defaults. */
export const queueBatchSchema = z
  .strictObject({
    /** Batch in the queue (`batch: {}` turns batching on with the defaults). */
    enabled: z.boolean().default(true),
    /** How long a partial batch waits before it is sent anyway; must not be 0. */
    flush_timeout: duration("200ms"),
    /** The size (in the batch sizer's unit) that sends a batch before `flush_timeout`. */
    min_size: z.number().int().nonnegative().default(8192),
    /** The largest batch, in the batch sizer's unit; larger ones are split. 0: no limit. */
    max_size: z.number().int().nonnegative().default(0),
    /** How batches are measured; defaults to the queue's `sizer`, else `items`. */
    sizer: sizerSchema.optional(),
    /** What keeps batches apart. */
    partition: z
      .strictObject({
        /** Client metadata keys whose values partition batches (case-insensitive). */
        metadata_keys: z.array(z.string().min(1)).default([]),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.flush_timeout <= 0) {
      ctx.addIssue({ code: "custom", path: ["flush_timeout"], message: "must be more than 0" });
    }
    if (c.max_size > 0 && c.max_size < c.min_size) {
      ctx.addIssue({
        code: "custom",
        path: ["max_size"],
        message: "must be 0 or at least min_size",
      });
    }
    const seen = new Set<string>();
    for (const key of c.partition.metadata_keys) {
      if (seen.has(key.toLowerCase())) {
        ctx.addIssue({
          code: "custom",
          path: ["partition", "metadata_keys"],
          message: `names "${key}" twice (keys are case-insensitive)`,
        });
      }
      seen.add(key.toLowerCase());
    }
  });

/** The `sending_queue` schema: the Collector's keys and defaults, plus tfo's. */
export const sendingQueueSchema = z
  .strictObject({
    /** Queue data and send it in the background (`consume` resolves once it is queued). */
    enabled: z.boolean().default(true),
    /** How many queued requests (batches) are sent at once. */
    num_consumers: z.number().int().positive().default(10),
    /**
     * How `queue_size` is measured: `requests` (when not set), `items` (spans, data points, log
     * records) or `bytes` (encoded size).
     */
    sizer: sizerSchema.optional(),
    /** The most the queue holds, in `sizer` units. */
    queue_size: z.number().int().positive().default(1000),
    /** When full, wait for room instead of refusing. */
    block_on_overflow: z.boolean().default(false),
    /** The older name of `block_on_overflow`. */
    blocking: z.boolean().default(false),
    /** Answer the caller only once its data was sent (or failed), not once it is queued. */
    wait_for_result: z.boolean().default(false),
    /** Batching behind the queue; off unless given. */
    batch: queueBatchSchema.optional(),
    /** The ID of a storage extension (`file_storage`): the queue lives on disk. */
    storage: z.string().min(1).optional(),
    /** The Collector's adaptive concurrency extension; tfo has none (refused with a reason). */
    concurrency_controller: z.string().min(1).optional(),
    /**
     * tfo: the most bytes (encoded size) the queue holds, in MiB; 0 means no byte bound (only
     * `queue_size` bounds it). Over it, the memory queue refuses new data whatever `when_full`
     * says; the persistent queue applies `when_full`.
     */
    max_size_mib: z.number().nonnegative().default(0),
    /**
     * tfo: what a full queue does with new data: `refuse` it (retryable: the receiver answers
     * 503 / `UNAVAILABLE`) or `drop_oldest` queued data, counted. `block_on_overflow: true` waits
     * instead.
     */
    when_full: z.enum(["refuse", "drop_oldest"]).default("refuse"),
  })
  .superRefine((c, ctx) => {
    const problem = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if ((c.blocking || c.block_on_overflow) && c.when_full === "drop_oldest") {
      problem("when_full", "cannot be drop_oldest when block_on_overflow is true (it waits)");
    }
    if (c.sizer === "items" && c.when_full === "drop_oldest") {
      problem("when_full", "cannot be drop_oldest with sizer: items (use requests or bytes)");
    }
    if (c.wait_for_result && c.storage !== undefined) {
      problem(
        "wait_for_result",
        "cannot be true with a persistent queue (storage): accepted means on disk there",
      );
    }
    if (c.wait_for_result && c.when_full === "drop_oldest") {
      problem("wait_for_result", "cannot be true with when_full: drop_oldest");
    }
    if (c.concurrency_controller !== undefined) {
      problem(
        "concurrency_controller",
        "is not supported: tfo has no concurrency controller extension; set num_consumers",
      );
    }
  });

/** The validated `sending_queue` settings. */
export type SendingQueueConfig = z.output<typeof sendingQueueSchema>;
/** The validated `sending_queue.batch` settings. */
export type QueueBatchConfig = z.output<typeof queueBatchSchema>;

/**
 * Batch settings handed to an exporter's queue per signal by a `batch` processor in front of it
 * (see `pipelines/_batch_handoff.ts`); used where the exporter sets no `sending_queue.batch`.
 */
export type HandedBatches = { readonly [S in Signal]?: QueueBatchSettings };

/** The key under which the graph hands batch settings to an exporter's `sending_queue`. */
export const HANDED_BATCHES = "tfo_handed_batches";

/** The batch settings of one signal's queue, from the exporter's config or handed to it. */
export function queueBatchSettings(
  queue: SendingQueueConfig,
  signal: Signal,
): QueueBatchSettings | undefined {
  const own = queue.batch;
  if (own !== undefined) {
    if (!own.enabled) return undefined;
    return {
      flushTimeoutMs: own.flush_timeout,
      minSize: own.min_size,
      maxSize: own.max_size,
      sizer: own.sizer ?? queue.sizer ?? "items",
      metadataKeys: own.partition.metadata_keys.map((k) => k.toLowerCase()),
    };
  }
  const handed = (queue as { [HANDED_BATCHES]?: HandedBatches })[HANDED_BATCHES];
  return handed?.[signal];
}

/**
 * The helper's keys, to spread into an exporter's config schema next to its own `timeout`
 * (whose default differs per exporter): `z.strictObject({ ...exporterHelperShape, … })`.
 */
export const exporterHelperShape = {
  /** Retries of retryable failures. */
  retry_on_failure: retryOnFailureSchema.prefault({}),
  /** The sending queue. */
  sending_queue: sendingQueueSchema.prefault({}),
  /** tfo: sent and send-failed items per tenant (`lib/tenancy/exporter_metrics.ts`). */
  tenant_metrics: tenantMetricsSchema.optional(),
};

/** What the helper reads of an exporter's config. */
export interface ExporterHelperConfig {
  /** The deadline of one attempt in milliseconds; 0 means none. */
  readonly timeout: number;
  readonly retry_on_failure: RetryConfig;
  readonly sending_queue: SendingQueueConfig;
  /** tfo: per-tenant sent / send-failed counters. */
  readonly tenant_metrics?: TenantMetricsConfig | undefined;
}

/** The exporter's single-attempt push function per signal it serves. */
export type PushBySignal = { readonly [S in Signal]?: PushFunc<S> };

/** What the helper needs of the exporter's create settings. */
export interface ExporterHelperSettings {
  /** The exporter's ID, for messages. */
  readonly id: string;
  readonly logger: Logger;
  /** The exporter's meter (its series carry the `exporter` label). */
  readonly meter: Meter;
}

/** Test seams of {@linkcode createExporterHelper}. */
export interface ExporterHelperOptions {
  /** @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Uniform in [0, 1), for retry jitter. @default Math.random */
  random?: () => number;
  /** Makes the queue of each signal. @default memory, or persistent with `storage` */
  queueFactory?: QueueFactory;
  /**
   * How long an attempt in flight behind a persistent queue may go on at shutdown before it is
   * aborted (its data then stays on disk). @default SHUTDOWN_GRACE_MS
   */
  shutdownGraceMs?: number;
  /**
   * Applied to each payload before it enters the sending queue: an exporter that sends protobuf
   * encodes decoded data here (see `components/exporter/otlp/signals.ts`), so the queue and its
   * batches hold compact bytes that merge by concatenation, and the decoded objects die young
   * instead of living on in the queue. May throw: the data is then refused as permanent.
   */
  beforeQueue?: <S extends Signal>(payload: Payload<S>) => Payload<S>;
}

/** The default of {@linkcode ExporterHelperOptions.shutdownGraceMs}. */
export const SHUTDOWN_GRACE_MS = 5000;

const MIB = 1024 * 1024;

/** Consumers with queue, retry and timeout, and their lifecycle. */
export interface ExporterHelper {
  /** A consumer per signal given a push function. */
  readonly consumers: SignalConsumers;
  /** Opens the queues (finding the storage extension) and starts their consumers. */
  start(host: Host): Promise<void>;
  /**
   * Stops taking data; drains a memory queue (retries go on, so with the backend down this lasts
   * until the queue is empty or retries give up — the service's shutdown timeout bounds it),
   * closes a persistent one (sends in flight get {@linkcode SHUTDOWN_GRACE_MS} to finish and be
   * acknowledged, then are aborted; unsent data stays on disk), and
   * interrupts retry waits of calls made without a queue (they fail retryably). Safe to call
   * twice and without start. Call it before closing the exporter's connections.
   */
  shutdown(): Promise<void>;
}

const COUNTS_SENDS: unique symbol = Symbol.for("tfo.exporterhelper.countsItsOwnSends");

/**
 * True for a consumer made by the exporter helper, which counts sent and send-failed items
 * itself: the pipeline graph must not wrap it with counters of its own.
 */
export function countsItsOwnSends(consumer: Consumer): boolean {
  return (consumer as Consumer & { [COUNTS_SENDS]?: boolean })[COUNTS_SENDS] === true;
}

type State = "new" | "running" | "stopping" | "stopped";

interface SignalChain<S extends Signal> {
  signal: S;
  /** report → retry → timeout → push. */
  chain: Sender<S>;
  queue: QueueSender<S> | undefined;
}

/**
 * Wraps an exporter's push functions with the senders `config` asks for.
 * @param push one single-attempt push function per signal the exporter serves
 */
export function createExporterHelper(
  settings: ExporterHelperSettings,
  config: ExporterHelperConfig,
  push: PushBySignal,
  options: ExporterHelperOptions = {},
): ExporterHelper {
  const { logger, meter } = settings;
  const tenants = tenantSendCounters(meter, config.tenant_metrics);
  const clock = options.clock ?? SYSTEM_CLOCK;
  const queueFactory = options.queueFactory ?? defaultQueueFactory;
  const beforeQueue = options.beforeQueue;
  const queueConfig = config.sending_queue;
  const queued = queueConfig.enabled;
  const persistent = queued && queueConfig.storage !== undefined;
  // Retry waits end at shutdown, except behind a memory queue, which drains with retries.
  const stopRetries = new AbortController();
  // Attempts in flight are aborted at shutdown only behind a persistent queue (data stays on disk).
  const stopAttempts = new AbortController();
  let state: State = "new";
  const inflight = new Set<Promise<unknown>>();
  const chains: SignalChain<Signal>[] = [];
  let stopping: Promise<void> | undefined;

  async function stop(): Promise<void> {
    const wasRunning = state === "running";
    state = "stopping";
    if (wasRunning) {
      stopRetries.abort();
      // Behind a persistent queue, an attempt in flight may finish (and be acknowledged: no
      // duplicate after restart) within a grace period; then it is aborted and stays on disk.
      const grace = persistent
        ? clock.setTimer(() => stopAttempts.abort(), options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS)
        : undefined;
      try {
        await Promise.all(chains.map((e) => e.queue?.shutdown()));
        while (inflight.size > 0) await Promise.all([...inflight]);
      } finally {
        if (grace !== undefined) clock.clearTimer(grace);
      }
    }
    state = "stopped";
  }

  function chainFor<S extends Signal>(signal: S, pushFn: PushFunc<S>): Sender<S> {
    const timed = timeoutSender(pushFn, {
      timeoutMs: config.timeout,
      clock,
      ...(persistent ? { stopSignal: stopAttempts.signal } : {}),
    });
    const retried = retrySender(timed, config.retry_on_failure, {
      logger,
      clock,
      ...(queued && !persistent ? {} : { stopSignal: stopRetries.signal }),
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    return reportSender(retried, signal, {
      meter,
      logger,
      clock,
      queued,
      keepsOnShutdown: persistent,
      tenants,
    });
  }

  function refusal(signal: Signal): ConsumerError | undefined {
    if (state === "running") return undefined;
    return retryableError(
      `Cannot export ${signal} with "${settings.id}": the exporter is ${
        state === "new" ? "not started" : "shut down"
      }`,
    );
  }

  function consumerFor<S extends Signal>(entry: SignalChain<S>): Consumer<S> {
    const consumer = {
      mutatesData: false,
      [COUNTS_SENDS]: true,
      consume(payload: Payload<S>): Promise<void> {
        const refused = refusal(entry.signal);
        if (refused !== undefined) return Promise.reject(refused);
        if (entry.queue !== undefined && beforeQueue !== undefined) {
          try {
            payload = beforeQueue(payload);
          } catch (error) {
            return Promise.reject(
              permanentError(`Cannot encode the data to send: ${errorMessage(error)}`, {
                cause: error,
              }),
            );
          }
        }
        const done = entry.queue !== undefined ? entry.queue.send(payload) : entry.chain(payload);
        const tracked = done.catch(() => {});
        inflight.add(tracked);
        tracked.finally(() => inflight.delete(tracked));
        return done;
      },
    };
    return consumer;
  }

  /** The queue of one signal, bounded in its sizer's unit, with its sender started. */
  async function openQueue(entry: SignalChain<Signal>, host: Host): Promise<QueueSender<Signal>> {
    const { sizer = "requests", queue_size } = queueConfig;
    const block = queueConfig.block_on_overflow || queueConfig.blocking;
    // Each entry holds at least one item and one byte: queue_size bounds the entries too.
    const maxMib = sizer === "bytes"
      ? Math.min(queue_size / MIB, queueConfig.max_size_mib || Infinity)
      : queueConfig.max_size_mib;
    const made = await queueFactory({
      id: settings.id,
      signal: entry.signal,
      config: { ...queueConfig, blocking: block, max_size_mib: maxMib },
      host,
      logger,
      meter,
    });
    const queue = sizer === "items" ? itemBounded(made, queue_size, block) : made;
    const size = sizer === "items"
      ? () => (queue as ReturnType<typeof itemBounded>).items
      : sizer === "bytes"
      ? () => queue.bytes
      : () => queue.size;
    return startQueueSender(queue, entry.chain, entry.signal, {
      numConsumers: queueConfig.num_consumers,
      persistent,
      meter,
      logger,
      clock,
      batch: queueBatchSettings(queueConfig, entry.signal),
      waitForResult: queueConfig.wait_for_result,
      measure: { size, capacity: queue_size },
    });
  }

  const consumers: Record<string, Consumer> = {};
  for (const signal of Object.keys(push) as Signal[]) {
    const pushFn = push[signal] as PushFunc<Signal> | undefined;
    if (pushFn === undefined) continue;
    const entry: SignalChain<Signal> = {
      signal,
      chain: chainFor(signal, pushFn),
      queue: undefined,
    };
    chains.push(entry);
    consumers[signal] = consumerFor(entry);
  }

  return {
    consumers: consumers as SignalConsumers,
    async start(host) {
      if (state !== "new") return;
      if (queued) {
        const opened: SignalChain<Signal>[] = [];
        try {
          for (const entry of chains) {
            entry.queue = await openQueue(entry, host);
            opened.push(entry);
          }
        } catch (error) {
          state = "stopped";
          await Promise.all(opened.map((e) => e.queue?.shutdown()));
          throw error;
        }
        if (state !== "new") {
          // Shut down while the queues were opening.
          await Promise.all(opened.map((e) => e.queue?.shutdown()));
          return;
        }
      }
      state = "running";
    },
    shutdown() {
      stopping ??= stop();
      return stopping;
    },
  };
}
