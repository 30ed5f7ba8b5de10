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
import { z } from "zod";
import type { Host } from "../component/host.ts";
import {
  type Consumer,
  type ConsumerError,
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
import { type QueueSender, startQueueSender } from "./queue_sender.ts";
import { type RetryConfig, retrySender } from "./retry_sender.ts";
import { type PushFunc, type Sender, timeoutSender } from "./timeout_sender.ts";

export type { PushFunc, Sender } from "./timeout_sender.ts";
export type { RetryConfig } from "./retry_sender.ts";
export type { QueueFactory, QueueRequest } from "./_queue_factory.ts";

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

/** The `sending_queue` schema: the Collector's keys and defaults, plus tfo's. */
export const sendingQueueSchema = z
  .strictObject({
    /** Queue data and send it in the background (`consume` resolves once it is queued). */
    enabled: z.boolean().default(true),
    /** How many queued requests are sent at once. */
    num_consumers: z.number().int().positive().default(10),
    /** The most requests (batches) the queue holds. */
    queue_size: z.number().int().positive().default(1000),
    /** When full, wait for room instead of refusing. Same as `when_full: block`. */
    blocking: z.boolean().default(false),
    /** The ID of a storage extension (`file_storage`): the queue lives on disk. */
    storage: z.string().min(1).optional(),
    /**
     * tfo: the most bytes (encoded size) the queue holds, in MiB; 0 means no byte bound (only
     * `queue_size` bounds it). Over it, the memory queue refuses new data whatever `when_full`
     * says; the persistent queue applies `when_full`.
     */
    max_size_mib: z.number().nonnegative().default(0),
    /**
     * tfo: what a full queue does with new data: `refuse` it (retryable: the receiver answers
     * 503 / `UNAVAILABLE`) or `drop_oldest` queued data, counted. `blocking: true` waits instead.
     */
    when_full: z.enum(["refuse", "drop_oldest"]).default("refuse"),
  })
  .superRefine((c, ctx) => {
    if (c.blocking && c.when_full === "drop_oldest") {
      ctx.addIssue({
        code: "custom",
        path: ["when_full"],
        message: "cannot be drop_oldest when blocking is true (blocking waits for room)",
      });
    }
  });

/** The validated `retry_on_failure` settings. */
export type RetryOnFailureConfig = z.output<typeof retryOnFailureSchema>;
/** The validated `sending_queue` settings. */
export type SendingQueueConfig = z.output<typeof sendingQueueSchema>;

/**
 * The helper's keys, to spread into an exporter's config schema next to its own `timeout`
 * (whose default differs per exporter): `z.strictObject({ ...exporterHelperShape, … })`.
 */
export const exporterHelperShape = {
  /** Retries of retryable failures. */
  retry_on_failure: retryOnFailureSchema.prefault({}),
  /** The sending queue. */
  sending_queue: sendingQueueSchema.prefault({}),
};

/** What the helper reads of an exporter's config. */
export interface ExporterHelperConfig {
  /** The deadline of one attempt in milliseconds; 0 means none. */
  readonly timeout: number;
  readonly retry_on_failure: RetryConfig;
  readonly sending_queue: SendingQueueConfig;
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
}

/** Consumers with queue, retry and timeout, and their lifecycle. */
export interface ExporterHelper {
  /** A consumer per signal given a push function. */
  readonly consumers: SignalConsumers;
  /** Opens the queues (finding the storage extension) and starts their consumers. */
  start(host: Host): Promise<void>;
  /**
   * Stops taking data; drains a memory queue (retries go on, so with the backend down this lasts
   * until the queue is empty or retries give up — the service's shutdown timeout bounds it),
   * closes a persistent one (sending in flight is aborted; the data stays on disk), and
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
  const clock = options.clock ?? SYSTEM_CLOCK;
  const queueFactory = options.queueFactory ?? defaultQueueFactory;
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
      if (persistent) stopAttempts.abort();
      await Promise.all(chains.map((e) => e.queue?.shutdown()));
      while (inflight.size > 0) await Promise.all([...inflight]);
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
        const done = entry.queue !== undefined ? entry.queue.send(payload) : entry.chain(payload);
        const tracked = done.catch(() => {});
        inflight.add(tracked);
        tracked.finally(() => inflight.delete(tracked));
        return done;
      },
    };
    return consumer;
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
            const queue = await queueFactory({
              id: settings.id,
              signal: entry.signal,
              config: queueConfig,
              host,
              logger,
              meter,
            });
            entry.queue = startQueueSender(queue, entry.chain, entry.signal, {
              numConsumers: queueConfig.num_consumers,
              persistent,
              meter,
              logger,
              clock,
            });
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
