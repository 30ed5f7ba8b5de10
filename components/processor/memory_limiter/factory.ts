/**
 * The `memory_limiter` processor: measures the process's memory every `check_interval` and, above
 * the soft limit (`limit - spike_limit`), refuses new data with a retryable error ("data refused
 * due to high memory usage"), which the OTLP receiver answers with 503 / `UNAVAILABLE` so clients
 * back off and retry. Above the hard limit it also forces a garbage collection. It lets data
 * through again by itself once memory is back below the soft limit. Items let through are counted as
 * `otelcol_processor_memory_limiter_accepted_<unit>`, refused ones as
 * `otelcol_processor_memory_limiter_refused_<unit>`, the Collector's names (labelled `processor`).
 *
 * Memory is the live memory the runtime allocated: the V8 heap in use plus the external memory
 * held by JavaScript objects (the `Uint8Array` buffers encoded OTLP stays in), the counterpart of
 * the Go heap the Collector reads. Not RSS: freed memory is seldom returned to the OS, so RSS
 * stays at its high-water mark after a spike and a limiter reading it would refuse forever. RSS is
 * this plus a roughly constant runtime overhead (code, native buffers, the KV store, memory the
 * allocator keeps after it was freed): measured under saturation (bench/RESULTS.md, "Sizing") RSS
 * stayed 90–110 MiB above the live memory, about the idle process's RSS. So `limit_mib` bounds RSS
 * at about `limit_mib` + 110 MiB; a container limit of `limit_mib` + 128 MiB leaves headroom.
 * External memory counts buffers that are garbage until the next collection, so the live memory
 * read here runs ahead of what is really held, never behind: the limiter refuses early, not late.
 *
 * Like the Collector's, one limiter ID measures once for every pipeline that lists it: instances
 * created for several pipelines share one monitor. The monitors live in the factory (not in a
 * module global), keyed by ID *and* config: a reload that changes `limit_mib` gets a new monitor
 * with the new limits while the old chains drain on the old one, and a reload that changes nothing
 * keeps measuring on the same one.
 *
 * @module
 */
import type { CreateSettings, Processor, ProcessorFactory } from "../../component.ts";
import { type Consumer, retryableError } from "../../../lib/consumer/consumer.ts";
import { ITEM_UNIT } from "../../../lib/pdata/count.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { findGc, readLiveMemory, readTotalMemory } from "./_memory.ts";
import { type MemoryLimiterConfig, memoryLimiterConfigSchema } from "./config.ts";

const MIB = 1024 * 1024;
const MAX_RETRY_AFTER_MS = 30_000;

/** The message of a refusal, as the Collector words it. */
export const DATA_REFUSED_MESSAGE = "data refused due to high memory usage";

/** Test seams of {@linkcode createMemoryLimiter}. */
export interface MemoryLimiterOptions {
  /** Reads the memory in use, in bytes. @default the runtime's live memory */
  readMemory?: () => number;
  /** Reads the total memory, in bytes, for percentage limits. @default cgroup or /proc/meminfo */
  readTotalMemory?: () => number | undefined;
  /** Forces a garbage collection; `null` for none. @default found at run time */
  gc?: (() => void) | null;
  /** The current time in milliseconds. @default Date.now */
  now?: () => number;
}

/** The limits in bytes. */
export interface MemoryLimits {
  readonly hard: number;
  readonly soft: number;
}

/** The hard and soft limits `config` gives, in bytes. Throws when a percentage has no total. */
export function memoryLimits(
  config: MemoryLimiterConfig,
  total: () => number | undefined = readTotalMemory,
): MemoryLimits {
  let hard: number;
  let spike: number;
  if (config.limit_mib > 0) {
    hard = config.limit_mib * MIB;
    spike = config.spike_limit_mib * MIB;
  } else {
    const bytes = total();
    if (bytes === undefined) {
      throw new Error(
        "Cannot read the total memory for limit_percentage; set limit_mib instead",
      );
    }
    hard = Math.floor(bytes * config.limit_percentage / 100);
    spike = Math.floor(bytes * config.spike_limit_percentage / 100);
  }
  if (spike === 0) spike = Math.floor(hard / 5);
  return { hard, soft: hard - spike };
}

/** The most time between a measurement and data let through (reading memory costs microseconds). */
const ADMISSION_CHECK_MS = 5;

/** Measures memory and decides whether data must be refused. */
class MemoryMonitor {
  readonly limits: MemoryLimits;
  #refusing = false;
  #lastGc = Number.NEGATIVE_INFINITY;
  #lastCheck = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setInterval> | undefined;
  #users = 0;
  readonly #config: MemoryLimiterConfig;
  readonly #logger: Logger;
  readonly #read: () => number;
  readonly #gc: (() => void) | undefined;
  readonly #now: () => number;

  constructor(config: MemoryLimiterConfig, logger: Logger, options: MemoryLimiterOptions) {
    this.#config = config;
    this.#logger = logger;
    this.limits = memoryLimits(config, options.readTotalMemory);
    this.#read = options.readMemory ?? readLiveMemory;
    this.#gc = options.gc === null ? undefined : (options.gc ?? findGc());
    this.#now = options.now ?? Date.now;
    logger.info("Memory limiter configured", {
      limit_mib: Math.floor(this.limits.hard / MIB),
      spike_limit_mib: Math.floor((this.limits.hard - this.limits.soft) / MIB),
      check_interval_ms: config.check_interval,
      can_force_gc: this.#gc !== undefined,
    });
  }

  /** True while memory is above the soft limit. */
  get refusing(): boolean {
    return this.#refusing;
  }

  /** Starts measuring (the first user starts the timer). */
  acquire(): void {
    if (this.#users++ > 0) return;
    this.check();
    this.#timer = setInterval(() => this.check(), this.#config.check_interval);
  }

  /** Stops measuring when the last user is gone; true then. */
  release(): boolean {
    if (this.#users === 0 || --this.#users > 0) return false;
    clearInterval(this.#timer);
    this.#timer = undefined;
    return true;
  }

  #collect(reason: string, used: number, minIntervalMs: number): number {
    if (this.#gc === undefined || this.#now() - this.#lastGc < minIntervalMs) return used;
    this.#logger.info(`Memory usage is above ${reason} limit. Forcing a GC`, mib(used));
    this.#gc();
    this.#lastGc = this.#now();
    const after = this.#read();
    this.#logger.info("Memory usage after GC", mib(after));
    return after;
  }

  /**
   * Measures again when data arrives and the last measurement is older than
   * {@linkcode ADMISSION_CHECK_MS}: between two `check_interval` ticks a burst could otherwise
   * bring in far more than the spike limit before anything notices.
   */
  checkOnArrival(): void {
    if (this.#now() - this.#lastCheck >= ADMISSION_CHECK_MS) this.check();
  }

  /** Measures once and updates the refusing state. */
  check(): void {
    this.#lastCheck = this.#now();
    let used = this.#read();
    if (used >= this.limits.hard) {
      this.#logger.warn("Memory usage is above hard limit", mib(used));
      used = this.#collect("hard", used, this.#config.min_gc_interval_when_hard_limited);
    }
    const was = this.#refusing;
    let refuse = used >= this.limits.soft;
    if (!was && refuse) {
      used = this.#collect("soft", used, this.#config.min_gc_interval_when_soft_limited);
      refuse = used >= this.limits.soft;
      if (refuse) this.#logger.warn("Memory usage is above soft limit. Refusing data", mib(used));
    } else if (was && !refuse) {
      this.#logger.info("Memory usage back within limits. Resuming normal operation", mib(used));
    }
    this.#refusing = refuse;
  }
}

function mib(bytes: number): { cur_mem_mib: number } {
  return { cur_mem_mib: Math.floor(bytes / MIB) };
}

/**
 * Monitors shared by the instances of one limiter ID and config (one instance per pipeline), as in
 * the Collector. A monitor is in the pool only while an instance uses it.
 */
export class MonitorPool {
  readonly #monitors = new Map<string, MemoryMonitor>();

  /** The monitor for `id` with `config`, made on first use. */
  get(
    id: string,
    config: MemoryLimiterConfig,
    logger: Logger,
    options: MemoryLimiterOptions,
  ): { monitor: MemoryMonitor; release: () => void } {
    const key = `${id}\n${JSON.stringify(config)}`;
    let monitor = this.#monitors.get(key);
    if (monitor === undefined) {
      monitor = new MemoryMonitor(config, logger, options);
      this.#monitors.set(key, monitor);
    }
    const found = monitor;
    return {
      monitor: found,
      release: () => {
        if (found.release() && this.#monitors.get(key) === found) this.#monitors.delete(key);
      },
    };
  }

  /** How many monitors are in use. */
  get size(): number {
    return this.#monitors.size;
  }
}

/** A memory limiter instance; `check` measures at once (for tests and diagnostics). */
export interface MemoryLimiterProcessor<S extends Signal> extends Processor<S> {
  /** Measures memory now and updates whether data is refused. */
  check(): void;
  /** The hard and soft limits, in bytes. */
  readonly limits: MemoryLimits;
}

/**
 * Creates one memory limiter instance. With a `pool`, instances of the same ID and config share
 * one monitor; without one the instance has its own.
 */
export function createMemoryLimiter<S extends Signal>(
  settings: CreateSettings<MemoryLimiterConfig>,
  signal: S,
  next: Consumer<S>,
  options: MemoryLimiterOptions = {},
  pool?: MonitorPool,
): MemoryLimiterProcessor<S> {
  const { config, logger, meter } = settings;
  const shared = pool?.get(settings.id, config, logger, options);
  const monitor = shared?.monitor ?? new MemoryMonitor(config, logger, options);
  const release = shared?.release ?? (() => void monitor.release());
  const unit = ITEM_UNIT[signal];
  const items = unit.replace("_", " ");
  const accepted = meter.counter(
    `otelcol_processor_memory_limiter_accepted_${unit}`,
    `Number of ${items} successfully pushed into the next component in the pipeline.`,
  );
  const refused = meter.counter(
    `otelcol_processor_memory_limiter_refused_${unit}`,
    `Number of ${items} that were rejected by the next component in the pipeline.`,
  );
  // The receiver turns this into Retry-After / RetryInfo: no sooner than the next check, whole
  // seconds, at most 30s.
  const retryAfterMs = Math.min(
    MAX_RETRY_AFTER_MS,
    Math.max(1000, Math.ceil(config.check_interval / 1000) * 1000),
  );
  let started = false;

  return {
    mutatesData: false,
    limits: monitor.limits,
    check: () => monitor.check(),
    consume(payload) {
      monitor.checkOnArrival();
      if (monitor.refusing) {
        refused.add(payload.itemCount);
        return Promise.reject(retryableError(DATA_REFUSED_MESSAGE, { retryAfterMs }));
      }
      // As the Collector counts it: passed on, whatever the next component then does with it.
      accepted.add(payload.itemCount);
      return next.consume(payload);
    },
    start() {
      if (!started) {
        started = true;
        monitor.acquire();
      }
      return Promise.resolve();
    },
    shutdown() {
      if (started) {
        started = false;
        release();
      }
      return Promise.resolve();
    },
  };
}

/**
 * A `memory_limiter` factory owning its own {@linkcode MonitorPool}: the instances it creates for
 * one ID and config share a monitor.
 * @param options test seams for every monitor it makes
 */
export function memoryLimiterFactoryWith(
  options: MemoryLimiterOptions = {},
): ProcessorFactory<MemoryLimiterConfig> & { readonly pool: MonitorPool } {
  const pool = new MonitorPool();
  return {
    kind: "processor",
    type: "memory_limiter",
    configSchema: memoryLimiterConfigSchema,
    signals: { traces: "beta", metrics: "beta", logs: "beta" },
    pool,
    create: (settings, signal, next) => createMemoryLimiter(settings, signal, next, options, pool),
  };
}

/** The `memory_limiter` processor factory. */
export const memoryLimiterFactory: ProcessorFactory<MemoryLimiterConfig> =
  memoryLimiterFactoryWith();
