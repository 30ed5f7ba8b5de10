/**
 * The tail sampler: holds arriving spans by trace, decides each trace `decision_wait` after its
 * first span (on a one-second tick, in batches, as the Collector's ID batcher does), forwards the
 * sampled ones and remembers decisions for late spans.
 *
 * Decision rules, as the Collector's: `drop` policies run first and a drop vote wins; otherwise a
 * trace is sampled when any policy samples it (an inverted not-sampled vote, which no v0.161
 * policy gives any more, would veto it), evaluation stopping at the first sampling policy with
 * `sample_on_first_match`. A decided trace stays in the table (its spans released) until it is
 * evicted or, with a decision cache, is moved to the cache; late spans follow its decision.
 *
 * Beyond the Collector: `max_memory_mib` bounds the estimated bytes of held spans and
 * `num_traces` the traces held; past either the oldest trace is evicted — decided now on the spans
 * it has if it is still pending, instead of being dropped — and counted by reason. With
 * `early_decision`, a trace is sampled as soon as a policy whose "sampled" no later span can undo
 * samples it (an error span, a probabilistic hit), when no drop or stateful policy could disagree.
 *
 * @module
 */
import { type Clock, sleep } from "../../../lib/clock.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { errorMessage, isPermanent } from "../../../lib/consumer/consumer.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import { TRACES_PROTO } from "../../../lib/otlp/traces_proto.ts";
import type { ResourceSpans } from "../../../lib/pdata/types.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { TailSamplingConfig } from "./config.ts";
import {
  cacheKey,
  decodeBodies,
  heldBytes,
  type LightSpans,
  requestOf,
  splitRequest,
  type TraceGroup,
} from "./_encoded.ts";
import { Lru } from "./_lru.ts";
import { buildEvaluator, Decision, type Evaluator, type TraceData } from "./_policies.ts";
import { goResourceSpansSize } from "./_proto_size.ts";
import type { SamplerMetrics } from "./_metrics.ts";
import type { PendingStore } from "./_persist.ts";

/** One held trace. */
export interface TraceEntry {
  readonly key: string;
  readonly id: Uint8Array;
  /** The held spans: one encoded `ResourceSpans` message per arrival and resource. */
  bodies: Uint8Array[];
  light: LightSpans[];
  spanCount: number;
  /** Bytes of the held spans (0 once released). */
  bytes: number;
  /** Protobuf bytes received, when `maximum_trace_size_bytes` needs it. */
  protoBytes: number;
  arrival: number;
  decision: Decision;
  decisionTime: number;
  policy: string;
  /** The decision batch it waits in (an absolute batch number). */
  batch: number;
  /** Arrivals of it stored so far, the next arrival's number (with `storage`). */
  stored: number;
  /** Its keys in storage. */
  storedKeys?: Deno.KvKey[];
}

interface Policy {
  readonly name: string;
  /** The `policy` label: `<processor name>.<policy>` when the processor ID has a name. */
  readonly label: string;
  readonly evaluator: Evaluator;
  readonly isDrop: boolean;
}

/** What the sampler needs around it. */
export interface SamplerOptions {
  readonly id: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: SamplerMetrics;
}

const TICK_MS = 1000;

/** The tail sampling engine of one processor instance. */
export class TailSampler {
  readonly #config: TailSamplingConfig;
  readonly #next: Consumer<"traces">;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: SamplerMetrics;
  readonly #policies: Policy[];
  readonly #numDrop: number;
  readonly #early: Policy[] | undefined;
  readonly #traces = new Map<string, TraceEntry>();
  /** Decision batches: `#ring[i]` is batch number `#takeId + i`; `#current` is `#takeId + N`. */
  readonly #ring: Set<string>[];
  #current = new Set<string>();
  #takeId = 0;
  readonly #sampledCache: Lru<string, string> | undefined;
  readonly #notSampledCache: Lru<string, string> | undefined;
  readonly #maxBytes: number;
  #bytes = 0;
  #pendingCount = 0;
  #store: PendingStore | undefined;
  #spaceWaiters: (() => void)[] = [];

  constructor(config: TailSamplingConfig, next: Consumer<"traces">, options: SamplerOptions) {
    this.#config = config;
    this.#next = next;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    const slash = options.id.indexOf("/");
    const processorName = slash < 0 ? "" : options.id.slice(slash + 1);
    const deps = { clock: options.clock, logger: options.logger };
    const built = config.policies.map((p) => ({
      name: p.name,
      label: processorName === "" ? p.name : `${processorName}.${p.name}`,
      evaluator: buildEvaluator(p as Parameters<typeof buildEvaluator>[0], deps),
      isDrop: p.type === "drop",
    }));
    this.#policies = [...built.filter((p) => p.isDrop), ...built.filter((p) => !p.isDrop)];
    this.#numDrop = built.filter((p) => p.isDrop).length;
    const eligible = config.early_decision && this.#numDrop === 0 &&
      built.every((p) => !p.evaluator.stateful);
    this.#early = eligible ? this.#policies.filter((p) => p.evaluator.monotone) : undefined;
    if (this.#early?.length === 0) this.#early = undefined;
    const n = Math.max(1, Math.trunc(config.decision_wait / 1000));
    this.#ring = Array.from({ length: n }, () => new Set<string>());
    const dc = config.decision_cache;
    this.#sampledCache = dc.sampled_cache_size > 0 ? new Lru(dc.sampled_cache_size) : undefined;
    this.#notSampledCache = dc.non_sampled_cache_size > 0
      ? new Lru(dc.non_sampled_cache_size)
      : undefined;
    this.#maxBytes = config.max_memory_mib * 1024 * 1024;
  }

  /** Traces held (pending and decided). */
  get tracesHeld(): number {
    return this.#traces.size;
  }

  /** Traces waiting for their decision. */
  get pendingTraces(): number {
    return this.#pendingCount;
  }

  /** Estimated bytes of held spans. */
  get bytesHeld(): number {
    return this.#bytes;
  }

  /** Sets the store that keeps pending spans (before the first span arrives). */
  setStore(store: PendingStore): void {
    this.#store = store;
  }

  /** Takes an encoded request: holds its spans, or passes/drops them by an earlier decision. */
  async consume(request: Uint8Array): Promise<void> {
    const groups = splitRequest(request);
    if (this.#config.block_on_overflow) await this.#waitForRoom(groups);
    const now = this.#clock.now();
    const forward: Uint8Array[] = [];
    const toStore: { entry: TraceEntry; group: TraceGroup; isNew: boolean }[] = [];
    const evicted: TraceEntry[] = [];
    for (const group of groups) {
      if (this.#fromCache(group, forward)) continue;
      let entry = this.#traces.get(group.key);
      let isNew = false;
      if (entry === undefined) {
        // Also after waiting for room (`block_on_overflow`), so the table never outgrows it.
        while (this.#traces.size >= this.#config.num_traces) {
          const oldest = this.#evictOldest("num_traces", now);
          if (oldest === undefined) break;
          evicted.push(oldest);
        }
        entry = this.#newEntry(group, now);
        isNew = true;
      } else {
        entry.spanCount += group.spanCount;
      }
      if (group.hasRoot && this.#config.decision_wait_after_root_received > 0) {
        this.#moveEarlier(entry, Math.trunc(this.#config.decision_wait_after_root_received / 1000));
      }
      if (entry.decision === Decision.Unspecified) {
        if (this.#config.maximum_trace_size_bytes > 0) {
          entry.protoBytes += goResourceSpansSize(decodeBodies([group.body])[0]!);
          if (entry.protoBytes > this.#config.maximum_trace_size_bytes) {
            this.#metrics.tracesTooLarge.add(1);
            this.#removeFromBatch(entry);
            this.#decide(entry, Decision.NotSampled, "", now);
            evicted.push(entry);
            continue;
          }
        }
        entry.bodies.push(group.body);
        entry.light.push(group.light);
        this.#hold(entry, group);
        if (this.#early !== undefined && this.#tryEarly(entry, now)) {
          forward.push(...this.#release(entry));
          evicted.push(entry);
          continue;
        }
        if (this.#store !== undefined) toStore.push({ entry, group, isNew });
        continue;
      }
      this.#lateSpans(entry, group, forward, now);
    }
    for (const e of this.#evictForMemory(now)) evicted.push(e);
    for (const e of evicted) if (e.decision === Decision.Sampled) forward.push(...this.#release(e));
    this.#metrics.tracesOnMemory.set(this.#traces.size);
    if (this.#store !== undefined) {
      await this.#store.append(toStore);
      await this.#store.remove(evicted.filter((e) => e.stored > 0));
    }
    // Sampled spans that cannot be passed on fail the request, so the sender sends them again:
    // their trace is known as sampled, so they are passed on then (at least once).
    await this.#forwardOrFail(forward);
  }

  /** Late spans of a trace in the cache: passed on or dropped; true when handled. */
  #fromCache(group: TraceGroup, forward: Uint8Array[]): boolean {
    const ck = cacheKey(group.key);
    if (this.#sampledCache?.get(ck) !== undefined) {
      forward.push(group.body);
      this.#metrics.earlyReleases(true, group.spanCount);
      return true;
    }
    if (this.#notSampledCache?.get(ck) !== undefined) {
      this.#metrics.earlyReleases(false, group.spanCount);
      return true;
    }
    return false;
  }

  #newEntry(group: TraceGroup, now: number): TraceEntry {
    const entry: TraceEntry = {
      key: group.key,
      id: group.id,
      bodies: [],
      light: [],
      spanCount: group.spanCount,
      bytes: 0,
      protoBytes: 0,
      arrival: now,
      decision: Decision.Unspecified,
      decisionTime: 0,
      policy: "",
      batch: this.#takeId + this.#ring.length,
      stored: 0,
    };
    this.#traces.set(group.key, entry);
    this.#current.add(group.key);
    this.#pendingCount++;
    this.#metrics.newTraces.add(1);
    return entry;
  }

  /** Puts back a trace restored from storage, to be decided `waitMs` from now (at least a tick). */
  restore(entry: TraceEntry, waitMs: number): void {
    const existing = this.#traces.get(entry.key);
    if (existing !== undefined) return;
    const ahead = Math.min(this.#ring.length - 1, Math.max(0, Math.floor(waitMs / TICK_MS)));
    entry.batch = this.#takeId + ahead;
    this.#ring[ahead]!.add(entry.key);
    this.#traces.set(entry.key, entry);
    this.#pendingCount++;
    if (this.#maxBytes > 0) {
      let bytes = 0;
      for (const [i, body] of entry.bodies.entries()) {
        bytes += body.length + entry.light[i]!.count * 21 + 400;
      }
      entry.bytes = bytes;
      this.#bytes += bytes;
    }
  }

  #hold(entry: TraceEntry, group: TraceGroup): void {
    if (this.#maxBytes === 0) return;
    const b = heldBytes(group);
    entry.bytes += b;
    this.#bytes += b;
  }

  #moveEarlier(entry: TraceEntry, batchesFromNow: number): void {
    const proposed = this.#takeId + batchesFromNow;
    if (proposed >= entry.batch) return;
    this.#removeFromBatch(entry);
    const idx = proposed - this.#takeId;
    this.#ring[idx]!.add(entry.key);
    entry.batch = proposed;
  }

  #removeFromBatch(entry: TraceEntry): void {
    const currentId = this.#takeId + this.#ring.length;
    if (entry.batch === currentId) this.#current.delete(entry.key);
    else if (entry.batch >= this.#takeId && entry.batch < currentId) {
      this.#ring[entry.batch - this.#takeId]!.delete(entry.key);
    }
  }

  /** With early decision: samples the trace now when a monotone policy samples it. */
  #tryEarly(entry: TraceEntry, now: number): boolean {
    const data = traceData(entry);
    for (const p of this.#early!) {
      let d: Decision;
      try {
        d = this.#run(p, data);
      } catch {
        continue;
      }
      if (d === Decision.Sampled) {
        this.#removeFromBatch(entry);
        this.#metrics.policyDecision(p.label, Decision.Sampled);
        this.#metrics.globalDecision(Decision.Sampled);
        this.#metrics.earlyDecisions.add(1);
        this.#decide(entry, Decision.Sampled, p.name, now);
        return true;
      }
    }
    return false;
  }

  /** Spans of a decided trace. */
  #lateSpans(entry: TraceEntry, group: TraceGroup, forward: Uint8Array[], now: number): void {
    if (entry.decision === Decision.Sampled) forward.push(group.body);
    else if (entry.decision === Decision.NotSampled) this.#cacheDecision(entry);
    if (entry.decisionTime > 0) {
      this.#metrics.lateSpanAge.record(Math.trunc((now - entry.decisionTime) / 1000));
    }
  }

  /** Evicts the oldest held trace; a pending one is decided first. */
  #evictOldest(reason: string, now: number): TraceEntry | undefined {
    const first = this.#traces.values().next();
    if (first.done) return undefined;
    const entry = first.value;
    if (entry.decision === Decision.Unspecified) {
      this.#removeFromBatch(entry);
      this.#metrics.evicted(reason);
      this.#decideNow(entry, now);
    }
    this.#forget(entry);
    return entry;
  }

  /** Past the byte budget: evicts the oldest pending traces until under it. */
  #evictForMemory(now: number): TraceEntry[] {
    const out: TraceEntry[] = [];
    if (this.#maxBytes === 0 || this.#bytes <= this.#maxBytes) return out;
    for (const entry of this.#traces.values()) {
      if (this.#bytes <= this.#maxBytes) break;
      if (entry.decision !== Decision.Unspecified) continue;
      this.#removeFromBatch(entry);
      this.#metrics.evicted("memory");
      this.#decideNow(entry, now);
      out.push(entry);
    }
    return out;
  }

  /** Runs the policies on a pending trace and records the decision (spans still held). */
  #decideNow(entry: TraceEntry, now: number): void {
    const data = traceData(entry);
    let decision: Decision;
    let policy = "";
    const drop = this.#evaluateDrops(data);
    if (drop !== undefined) {
      decision = Decision.Dropped;
      policy = drop;
    } else {
      [decision, policy] = this.#makeDecision(data);
    }
    this.#metrics.globalDecision(decision);
    this.#decide(entry, decision, policy, now);
  }

  /** Runs one policy, counting its executions and their time as the Collector does. */
  #run(p: Policy, data: TraceData): Decision {
    const t0 = performance.now();
    try {
      return p.evaluator.evaluate(data);
    } finally {
      this.#metrics.policyExecution(p.label, (performance.now() - t0) * 1000);
    }
  }

  #evaluateDrops(data: TraceData): string | undefined {
    for (let i = 0; i < this.#numDrop; i++) {
      const p = this.#policies[i]!;
      let d: Decision;
      try {
        d = this.#run(p, data);
      } catch (error) {
        this.#metrics.evaluationErrors.add(1);
        this.#logger.debug("Sampling policy error", { error: errorMessage(error) });
        continue;
      }
      this.#metrics.policyDecision(p.label, d);
      if (d === Decision.Dropped) return p.name;
    }
    return undefined;
  }

  #makeDecision(data: TraceData): [Decision, string] {
    const first: (Policy | undefined)[] = [];
    for (let i = this.#numDrop; i < this.#policies.length; i++) {
      const p = this.#policies[i]!;
      let d: Decision;
      try {
        d = this.#run(p, data);
      } catch (error) {
        first[Decision.Error] ??= p;
        this.#metrics.evaluationErrors.add(1);
        this.#logger.debug("Sampling policy error", { error: errorMessage(error) });
        continue;
      }
      this.#metrics.policyDecision(p.label, d);
      first[d] ??= p;
      if (d === Decision.Dropped) break;
      if (this.#config.sample_on_first_match && d === Decision.Sampled) break;
    }
    const dropped = first[Decision.Dropped];
    if (dropped !== undefined) return [Decision.Dropped, dropped.name];
    if (first[Decision.InvertNotSampled] !== undefined) return [Decision.NotSampled, ""];
    const sampled = first[Decision.Sampled];
    if (sampled !== undefined) return [Decision.Sampled, sampled.name];
    const inverted = first[Decision.InvertSampled];
    if (inverted !== undefined && first[Decision.NotSampled] === undefined) {
      return [Decision.Sampled, inverted.name];
    }
    return [Decision.NotSampled, ""];
  }

  #decide(entry: TraceEntry, decision: Decision, policy: string, now: number): void {
    entry.decision = decision;
    entry.policy = policy;
    entry.decisionTime = now;
    this.#pendingCount--;
    if (decision !== Decision.Sampled) this.#cacheDecision(entry);
  }

  /** A not-sampled (or dropped) decision: its spans are let go, the cache remembers it. */
  #cacheDecision(entry: TraceEntry): void {
    this.#dropSpans(entry);
    if (this.#notSampledCache !== undefined) {
      this.#notSampledCache.set(cacheKey(entry.key), entry.policy);
      this.#forget(entry);
    }
  }

  /** A sampled trace's spans to forward; the cache remembers it. */
  #release(entry: TraceEntry): Uint8Array[] {
    const batches = entry.bodies;
    this.#dropSpans(entry);
    if (this.#sampledCache !== undefined) {
      this.#sampledCache.set(cacheKey(entry.key), entry.policy);
      this.#forget(entry);
    }
    return batches;
  }

  #dropSpans(entry: TraceEntry): void {
    entry.bodies = [];
    entry.light = [];
    this.#bytes -= entry.bytes;
    entry.bytes = 0;
  }

  #forget(entry: TraceEntry): void {
    if (this.#traces.get(entry.key) === entry) {
      this.#traces.delete(entry.key);
      this.#notifyRoom();
    }
  }

  /** The one-second tick: decides the oldest batch. */
  async tick(): Promise<void> {
    const head = this.#ring.shift()!;
    this.#ring.push(this.#current);
    this.#current = new Set();
    this.#takeId++;
    await this.#decideBatch(head);
    this.#notifyRoom();
  }

  /** Decides every pending trace now (shutdown), or lets them go with `drop_pending_traces_on_shutdown`. */
  async flush(): Promise<void> {
    const all = new Set<string>();
    for (const b of this.#ring) for (const k of b) all.add(k);
    for (const k of this.#current) all.add(k);
    for (const b of this.#ring) b.clear();
    this.#current.clear();
    if (this.#config.drop_pending_traces_on_shutdown) {
      for (const key of all) {
        const e = this.#traces.get(key);
        if (e !== undefined && e.decision === Decision.Unspecified) {
          this.#dropSpans(e);
          this.#pendingCount--;
          this.#forget(e);
        }
      }
      return;
    }
    await this.#decideBatch(all);
  }

  async #decideBatch(keys: Set<string>): Promise<void> {
    const started = performance.now();
    const now = this.#clock.now();
    const forward: Uint8Array[] = [];
    const decided: TraceEntry[] = [];
    for (const key of keys) {
      const entry = this.#traces.get(key);
      if (entry === undefined) {
        this.#metrics.droppedTooEarly.add(1);
        continue;
      }
      if (entry.decision !== Decision.Unspecified) continue;
      this.#decideNow(entry, now);
      decided.push(entry);
      if ((entry.decision as Decision) === Decision.Sampled) forward.push(...this.#release(entry));
    }
    this.#metrics.decisionLatency.record(performance.now() - started);
    this.#metrics.tracesOnMemory.set(this.#traces.size);
    await this.#forward(forward);
    if (this.#store !== undefined) await this.#store.remove(decided.filter((e) => e.stored > 0));
  }

  async #forwardOrFail(bodies: Uint8Array[]): Promise<void> {
    if (bodies.length === 0) return;
    await this.#next.consume(Payload.fromProto("traces", requestOf(bodies), TRACES_PROTO));
  }

  /**
   * Passes on the spans of traces decided on the tick: a retryable refusal (a full queue) is tried
   * again, up to 10 times 200 ms apart, before the spans are given up, logged and counted.
   */
  async #forward(bodies: Uint8Array[]): Promise<void> {
    if (bodies.length === 0) return;
    const payload = Payload.fromProto("traces", requestOf(bodies), TRACES_PROTO);
    for (let attempt = 0;; attempt++) {
      try {
        await this.#next.consume(attempt === 0 ? payload : payload.clone());
        return;
      } catch (error) {
        if (isPermanent(error) || attempt >= 10 || this.#stopping) {
          this.#logger.warn("Error sending spans to destination", { error: errorMessage(error) });
          this.#metrics.forwardFailed.add(payload.itemCount);
          return;
        }
        await sleep(this.#clock, 200);
      }
    }
  }

  #stopping = false;

  /** Stops retrying refused forwards (at shutdown). */
  stopRetrying(): void {
    this.#stopping = true;
  }

  /** Waits (a tick at a time, at most a decision wait and two ticks) until new traces fit. */
  async #waitForRoom(groups: TraceGroup[]): Promise<void> {
    for (let round = 0; round < this.#ring.length + 2; round++) {
      let fresh = 0;
      for (const g of groups) if (!this.#traces.has(g.key)) fresh++;
      if (
        fresh === 0 || this.#traces.size === 0 ||
        this.#traces.size + fresh <= this.#config.num_traces
      ) return;
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
  }

  #notifyRoom(): void {
    const waiters = this.#spaceWaiters;
    if (waiters.length === 0) return;
    this.#spaceWaiters = [];
    for (const w of waiters) w();
  }

  /** Wakes senders waiting for room (at shutdown). */
  releaseWaiters(): void {
    this.#notifyRoom();
  }
}

/** What the policies see of an entry; its spans are decoded only if a policy asks. */
function traceData(entry: TraceEntry): TraceData {
  let decoded: ResourceSpans[] | undefined;
  const bodies = entry.bodies;
  return {
    id: entry.id,
    light: entry.light,
    spanCount: entry.spanCount,
    get batches() {
      return decoded ??= decodeBodies(bodies);
    },
  };
}

export { TICK_MS };
