/**
 * The primary's side of a service of several workers (`service.workers` above 1): it starts the
 * other workers (`worker_main.ts`), feeds what they forward into the primary's pipelines
 * (`worker_link.ts`), sums their metrics into the primary's registry, passes reloads on, stops
 * them first on shutdown (their receivers stop, their pipelines drain, what they forward reaches
 * the primary, which stops last), and restarts a worker that dies. Shards of sharded pipelines
 * travel through it: a worker's shard for another worker is relayed (its buffer transferred again,
 * not copied), and the primary's own routers reach the workers with
 * {@linkcode WorkerPool.deliverTo}; a shard for a worker that is not running is refused retryably.
 *
 * A worker that fails (an uncaught error or unhandled rejection in it) says `draining`: its shared
 * ports stop accepting and answer retryably (`lib/net/drain.ts`) while its graph drains, then it
 * says `drained` and is ended and started again; one that has not drained within `timeoutMs` is
 * ended all the same. A worker that dies at once (terminated, a hard crash of its isolate) takes
 * its connections with it: their clients see the connection close before an answer, which OTLP
 * clients retry; nothing here can answer them, since the worker held their sockets. What either
 * had already forwarded to the primary is delivered. Its counters stay in the sums
 * (`MetricRegistry.retireRemote`), so they never go down.
 *
 * @module
 */
import type { Logger } from "../lib/telemetry/logger.ts";
import {
  clearMemorySlot,
  createMemoryBoard,
  joinMemoryBoard,
  leaveMemoryBoard,
} from "../lib/host/isolate_memory.ts";
import type { MetricRegistry } from "../lib/telemetry/metrics.ts";
import {
  createBucketBoard,
  joinBucketBoard,
  leaveBucketBoard,
} from "../lib/tenancy/shared_buckets.ts";
import type { ConfigSources } from "./config_sources.ts";
import type {
  AckMessage,
  PrimaryMessage,
  PushMessage,
  WorkerHub,
  WorkerMessage,
} from "./worker_link.ts";

/** Options of {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /** Workers in all, the primary included; the pool starts `count - 1`. */
  readonly count: number;
  /** Where the workers read their config. */
  readonly sources: ConfigSources;
  /**
   * The primary's resolution of `sources` as bytes (`resolved_transport.ts`), when it has one:
   * the workers decode it instead of loading and validating the sources themselves.
   */
  readonly resolved?: Uint8Array;
  /** Where forwarded requests go. */
  readonly hub: WorkerHub;
  /** The primary's registry, which the workers' metrics are summed into. */
  readonly registry: MetricRegistry;
  readonly logger: Logger;
  /** tfo's version. */
  readonly version: string;
  /** How long a worker may take to start, reload or stop. @default 30000 */
  readonly timeoutMs?: number;
  /** The first delay before restarting a dead worker; doubles per failure, up to 10 s. @default 200 */
  readonly restartDelayMs?: number;
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  /** Settled by the worker's `ready` or `failed`. */
  ready: PromiseWithResolvers<void>;
  stopped: PromiseWithResolvers<boolean> | undefined;
  reloads: Map<number, PromiseWithResolvers<boolean>>;
  failures: number;
  /** Requests it forwarded to the primary, over all its lives. */
  forwarded: number;
  /** Resolved by its next metrics snapshot. */
  snapshotWaiters: Array<() => void>;
  /** Shards the primary handed it, over all its lives. */
  shards: number;
  /** Shards sent to it, waiting for its answer, by message ID. */
  answers: Map<number, (ack: AckMessage) => void>;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** How many times it was started. */
  lives: number;
  /** Ends a failed worker that has not drained in time. */
  drainTimer: ReturnType<typeof setTimeout> | undefined;
}

/** The other workers of a service, supervised. */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots: Slot[] = [];
  #sources: ConfigSources;
  #resolved: Uint8Array | undefined;
  #stopping = false;
  #seq = 0;
  #pushes = 0;
  #restarts = 0;
  /** Each isolate's live memory, summed by memory_limiter so its limit holds for the process. */
  readonly #memory: SharedArrayBuffer;
  /** Every receiver's `rate_limit` buckets, shared so a limit holds for the process. */
  readonly #buckets: SharedArrayBuffer = createBucketBoard();

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#sources = options.sources;
    this.#resolved = options.resolved;
    this.#memory = createMemoryBoard(options.count);
    for (let index = 1; index < options.count; index++) {
      this.#slots.push({
        index,
        worker: undefined,
        ready: Promise.withResolvers(),
        stopped: undefined,
        reloads: new Map(),
        failures: 0,
        forwarded: 0,
        shards: 0,
        snapshotWaiters: [],
        answers: new Map(),
        timer: undefined,
        lives: 0,
        drainTimer: undefined,
      });
    }
  }

  /** How many times a dead worker was restarted. */
  get restarts(): number {
    return this.#restarts;
  }

  /** How many requests worker `index` forwarded to the primary so far. */
  forwardedFrom(index: number): number {
    return this.#slots.find((s) => s.index === index)?.forwarded ?? 0;
  }

  /**
   * Asks every running worker for its metrics now; resolves when all answered or after 500 ms
   * (a worker that does not answer keeps its last snapshot in the sums).
   */
  refreshMetrics(): Promise<void> {
    const answers = this.#slots.filter((s) => s.worker !== undefined).map((slot) => {
      const answered = new Promise<void>((resolve) => slot.snapshotWaiters.push(resolve));
      this.#send(slot, { t: "snapshot" });
      return answered;
    });
    if (answers.length === 0) return Promise.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, 500));
    return Promise.race([Promise.all(answers).then(() => {}), timeout]).finally(() =>
      clearTimeout(timer)
    );
  }

  /** How many shards of sharded pipelines worker `index` was handed so far. */
  shardsTo(index: number): number {
    return this.#slots.find((s) => s.index === index)?.shards ?? 0;
  }

  /** How many workers are running (not counting the primary). */
  get running(): number {
    return this.#slots.filter((s) => s.worker !== undefined).length;
  }

  /**
   * Starts every worker; resolves once all of them listen, rejects (after stopping those that
   * started) when one cannot start.
   */
  async start(): Promise<void> {
    joinMemoryBoard(this.#memory, 0);
    joinBucketBoard(this.#buckets);
    for (const slot of this.#slots) this.#spawn(slot);
    try {
      await this.#within(
        Promise.all(this.#slots.map((s) => s.ready.promise)),
        "start",
      );
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * Rebuilds every worker's graph from `sources`, or from their resolution `resolved` when given
   * (both kept for workers restarted later); resolves to false when a worker could not apply it
   * (it keeps its previous graph).
   */
  async reload(sources: ConfigSources, resolved?: Uint8Array): Promise<boolean> {
    this.#sources = sources;
    this.#resolved = resolved;
    const seq = ++this.#seq;
    const results = this.#slots.map((slot) => {
      if (slot.worker === undefined) return Promise.resolve(true);
      const pending = Promise.withResolvers<boolean>();
      slot.reloads.set(seq, pending);
      this.#send(slot, {
        t: "reload",
        sources,
        ...(resolved === undefined ? {} : { resolved }),
        seq,
      });
      return this.#within(pending.promise, "reload").catch(() => false);
    });
    return (await Promise.all(results)).every(Boolean);
  }

  /** Drains and stops every worker; resolves to false when one did not drain in time. */
  async stop(): Promise<boolean> {
    this.#stopping = true;
    const results = this.#slots.map(async (slot) => {
      clearTimeout(slot.timer);
      clearTimeout(slot.drainTimer);
      const worker = slot.worker;
      if (worker === undefined) return true;
      slot.stopped = Promise.withResolvers();
      this.#send(slot, { t: "stop" });
      let clean = false;
      try {
        clean = await this.#within(slot.stopped.promise, "stop");
      } catch (error) {
        this.#options.logger.error("A worker did not stop in time", {
          worker: slot.index,
          error,
        });
      }
      worker.terminate();
      slot.worker = undefined;
      clearMemorySlot(this.#memory, slot.index);
      return clean;
    });
    const clean = (await Promise.all(results)).every(Boolean);
    leaveMemoryBoard();
    leaveBucketBoard();
    return clean;
  }

  /**
   * Hands a shard to worker `target`'s link receiver (its bytes are transferred); resolves to its
   * answer, a retryable refusal when that worker is not running.
   */
  deliverTo(target: number, message: PushMessage): Promise<AckMessage> {
    const slot = this.#slots.find((s) => s.index === target);
    const worker = slot?.worker;
    if (slot === undefined || worker === undefined) {
      return Promise.resolve({
        t: "ack",
        id: message.id,
        error: { message: `Worker ${target} is not running`, permanent: false, retryAfterMs: 1000 },
      });
    }
    const id = ++this.#pushes;
    slot.shards++;
    const answer = Promise.withResolvers<AckMessage>();
    slot.answers.set(id, answer.resolve);
    try {
      worker.postMessage({ ...message, id }, [message.bytes.buffer as ArrayBuffer]);
    } catch (error) {
      slot.answers.delete(id);
      return Promise.resolve({
        t: "ack",
        id: message.id,
        error: { message: `Cannot reach worker ${target}: ${error}`, permanent: false },
      });
    }
    return answer.promise.then((ack) => ({ ...ack, id: message.id }));
  }

  /** Ends worker `index` at once, as if it had crashed (tests, and the restart path). */
  kill(index: number): void {
    const slot = this.#slots.find((s) => s.index === index);
    if (slot?.worker !== undefined) this.#died(slot, slot.worker, "killed");
  }

  #within<T>(promise: Promise<T>, what: string): Promise<T> {
    const ms = this.#options.timeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`A worker did not ${what} within ${ms} ms`)),
        ms,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  #send(slot: Slot, message: PrimaryMessage): void {
    try {
      slot.worker?.postMessage(message);
    } catch (error) {
      this.#options.logger.warn("Cannot reach a worker", { worker: slot.index, error });
    }
  }

  #spawn(slot: Slot): void {
    const worker = new Worker(new URL("./worker_main.ts", import.meta.url), {
      type: "module",
      name: `tfo-worker-${slot.index}`,
    });
    slot.worker = worker;
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => this.#handle(slot, worker, event);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#died(slot, worker, event.message);
    };
    worker.onmessageerror = () => this.#died(slot, worker, "a message could not be read");
    this.#send(slot, {
      t: "init",
      index: slot.index,
      count: this.#options.count,
      sources: this.#sources,
      ...(this.#resolved === undefined ? {} : { resolved: this.#resolved }),
      version: this.#options.version,
      memory: this.#memory,
      buckets: this.#buckets,
      life: slot.lives++,
    });
  }

  #handle(slot: Slot, worker: Worker, event: MessageEvent<WorkerMessage>): void {
    if (slot.worker !== worker) return;
    const message = event.data;
    const key = `worker-${slot.index}`;
    switch (message.t) {
      case "ack": {
        const answer = slot.answers.get(message.id);
        slot.answers.delete(message.id);
        answer?.(message);
        return;
      }
      case "push":
        slot.forwarded++;
        void (message.target === 0
          ? this.#options.hub.deliver(message)
          : this.deliverTo(message.target, message)).then((ack) => {
            // A worker restarted meanwhile has other requests: the answer is for nobody.
            if (slot.worker === worker) this.#send(slot, ack);
          });
        return;
      case "metrics": {
        this.#options.registry.setRemote(key, message.snapshot);
        const waiters = slot.snapshotWaiters;
        slot.snapshotWaiters = [];
        for (const resolve of waiters) resolve();
        return;
      }
      case "ready":
        slot.failures = 0;
        slot.ready.resolve();
        return;
      case "failed":
        this.#options.logger.error("A worker could not start", {
          worker: slot.index,
          error: message.message,
        });
        slot.ready.reject(new Error(`Worker ${slot.index} could not start: ${message.message}`));
        this.#died(slot, worker, message.message);
        return;
      case "reloaded": {
        const pending = slot.reloads.get(message.seq);
        slot.reloads.delete(message.seq);
        pending?.resolve(message.ok);
        return;
      }
      case "stopped":
        this.#options.registry.setRemote(key, message.snapshot);
        slot.stopped?.resolve(message.clean);
        return;
      case "draining": {
        const ms = this.#options.timeoutMs ?? 30_000;
        this.#options.logger.error(
          "A worker failed; its ports refuse retryably while it drains, then it restarts",
          { worker: slot.index, error: message.message, drain_timeout_ms: ms },
        );
        clearTimeout(slot.drainTimer);
        slot.drainTimer = setTimeout(
          () => this.#died(slot, worker, `${message.message} (it did not drain within ${ms} ms)`),
          ms,
        );
        return;
      }
      case "drained":
        this.#options.registry.setRemote(key, message.snapshot);
        slot.stopped?.resolve(message.clean);
        this.#died(slot, worker, message.message);
        return;
    }
  }

  #died(slot: Slot, worker: Worker, reason: string): void {
    if (slot.worker !== worker) return;
    clearTimeout(slot.drainTimer);
    slot.drainTimer = undefined;
    worker.terminate();
    slot.worker = undefined;
    clearMemorySlot(this.#memory, slot.index);
    this.#options.registry.retireRemote(`worker-${slot.index}`);
    for (const pending of slot.reloads.values()) pending.resolve(false);
    slot.reloads.clear();
    slot.stopped?.resolve(false);
    for (const resolve of slot.snapshotWaiters) resolve();
    slot.snapshotWaiters = [];
    for (const [id, answer] of slot.answers) {
      answer({
        t: "ack",
        id,
        error: { message: `Worker ${slot.index} stopped`, permanent: false },
      });
    }
    slot.answers.clear();
    if (this.#stopping) return;
    slot.failures++;
    const first = this.#options.restartDelayMs ?? 200;
    const delay = Math.min(10_000, first * 2 ** (slot.failures - 1));
    this.#options.logger.error("A worker stopped unexpectedly; restarting it", {
      worker: slot.index,
      reason,
      restart_in_ms: delay,
    });
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.#stopping) return;
      this.#restarts++;
      slot.ready = Promise.withResolvers();
      // A restart that fails is logged by "failed" and retried from there.
      slot.ready.promise.catch(() => {});
      this.#spawn(slot);
    }, delay);
  }
}
