/**
 * The `ebpf` receiver: the TFO-Agent's eBPF collector. At start it loads and attaches BPF programs
 * for the enabled groups (`collect_*`); every `interval` it reads their maps and emits the
 * counters as cumulative metrics by process. At shutdown every program, link, perf event and map
 * is closed, which detaches them.
 *
 * It cannot start without Linux, root (or CAP_BPF + CAP_PERFMON) and tracefs; the error says which
 * is missing. A group whose tracepoint or BTF is missing is left out with a warning naming it while
 * the rest run; when no group can run, start fails with every reason.
 *
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { BpfError } from "../../../lib/ebpf/errors.ts";
import { FdSet } from "../../../lib/ebpf/fds.ts";
import { newResource, newScope } from "../../../lib/pdata/new.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { KeyValue, Metric } from "../../../lib/pdata/types.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { Meter } from "../../../lib/telemetry/metrics.ts";
import { instrumentReceiverOutput } from "../../../lib/telemetry/receiver_metrics.ts";
import type { Receiver, ReceiverFactory } from "../../component.ts";
import { DROP_SLOTS, FILEIO, SYSCALLS } from "./_layout.ts";
import {
  type AttributeCache,
  attributeCache,
  fileEntries,
  MAP_METRICS,
  type MapMetrics,
  scaleLatency,
  toMetrics,
} from "./_metrics.ts";
import { preflight } from "./_preflight.ts";
import { type Group, type Loaded, loadPrograms } from "./_programs.ts";
import { currentComm, type Entry, forget, livePids, readDrops, readStats } from "./_reader.ts";
import { type EbpfConfig, ebpfConfigSchema } from "./config.ts";

/** The instrumentation scope of the metrics. */
export const EBPF_SCOPE = "tfo/receiver/ebpfreceiver";

/** The groups a config enables. */
export function enabledGroups(config: EbpfConfig): Set<Group> {
  const out = new Set<Group>();
  if (config.collect_syscalls) out.add("syscalls");
  if (config.collect_file_io) out.add("file_io");
  if (config.collect_network) out.add("network");
  if (config.collect_tcp_events) out.add("tcp_events");
  if (config.collect_scheduler) out.add("scheduler");
  if (config.collect_memory) out.add("memory");
  return out;
}

/** Options of {@linkcode createEbpfReceiver}. */
export interface EbpfOptions {
  /** Time and timers of the collection schedule. @default SYSTEM_CLOCK */
  clock?: Clock;
}

/** The state of a started receiver: what is loaded and what it owns. */
interface Running {
  fds: FdSet;
  loaded: Loaded;
  startNs: bigint;
  lastDrops: bigint[];
  /** Process names by pid, and when they were read. */
  comms: Map<number, { comm: string; at: bigint }>;
  /** Attribute lists kept between collections, when nothing downstream changes data in place. */
  attributes: AttributeCache | undefined;
}

/** How long a process's name is used before it is read again. */
const COMM_REFRESH_NS = 60_000_000_000n;

/** An error for the service's start message. */
function startError(message: string, cause?: unknown): Error {
  const e = new Error(`Cannot start the eBPF receiver: ${message}`, { cause });
  e.name = "EbpfStartError";
  return e;
}

/** Creates one ebpf receiver. */
export function createEbpfReceiver(
  config: EbpfConfig,
  logger: Logger,
  meter: Meter,
  next: SignalConsumers,
  options: EbpfOptions = {},
): Receiver & { collect(): Promise<void> } {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const consumer: Consumer<"metrics"> | undefined = next.metrics === undefined
    ? undefined
    : instrumentReceiverOutput("metrics", next.metrics, meter, "");
  const exclude = new Set(config.exclude_processes);
  const include = config.process_filter.map((p) => new RegExp(p));
  const labels: KeyValue[] = Object.entries(config.labels).map(([key, value]) => ({ key, value }));
  const wanted = (e: Entry) =>
    !exclude.has(e.comm) && (include.length === 0 || include.some((re) => re.test(e.comm)));

  let state: Running | undefined;
  let timer: unknown;
  let inflight: Promise<void> | undefined;

  function read(run: Running): Metric[] {
    const now = BigInt(Date.now()) * 1_000_000n;
    const metrics: Metric[] = [];
    const stamp = { start: run.startNs, now, labels };
    const emit = (def: MapMetrics, entries: Entry[]) =>
      metrics.push(...toMetrics(def, entries.filter(wanted), stamp, run.attributes));
    // Each process's name (it may have exec'd since its first event), read once a minute; the
    // processes alive, from one listing of /proc.
    const live = livePids();
    const commOf = (pid: number): string | undefined => {
      if (!live.has(pid)) {
        run.comms.delete(pid);
        return undefined;
      }
      const known = run.comms.get(pid);
      if (known !== undefined && now - known.at < COMM_REFRESH_NS) return known.comm;
      const comm = currentComm(pid);
      if (comm === undefined) return known?.comm;
      run.comms.set(pid, { comm, at: now });
      return comm;
    };
    const groups = run.loaded.groups;
    let syscalls: Entry[] = [];
    for (const def of MAP_METRICS) {
      // File I/O is the file operations' share of the system call map, read once for both.
      if (def.layout === FILEIO) {
        if (groups.has("file_io")) emit(def, fileEntries(syscalls));
        continue;
      }
      const entry = run.loaded.stats.get(def.layout.name);
      if (entry === undefined) continue;
      const gone = new Set<number>();
      const entries = readStats(def.layout, entry.map, (pid) => {
        const comm = commOf(pid);
        if (comm === undefined) gone.add(pid);
        return comm;
      });
      if (def.layout === SYSCALLS) {
        scaleLatency(entries, config.latency_sample_period);
        syscalls = entries;
        if (groups.has("syscalls")) emit(def, entries);
      } else {
        emit(def, entries);
      }
      // Exited processes: their last values are out; their entries would only take up room.
      if (gone.size > 0) forget(def.layout, entry.map, entries, gone);
    }
    const drops = readDrops(run.loaded.drops);
    drops.forEach((n, slot) => {
      const before = run.lastDrops[slot] ?? 0n;
      if (n > before) {
        logger.warn("A BPF map is full: events of new processes are not counted", {
          group: DROP_SLOTS[slot],
          dropped_events: Number(n - before),
          max_entries: config.max_entries,
        });
      }
    });
    run.lastDrops = drops;
    run.attributes?.sweep();
    return metrics;
  }

  async function collect(): Promise<void> {
    const run = state;
    if (run === undefined) return;
    let metrics: Metric[];
    try {
      metrics = read(run);
    } catch (error) {
      logger.error("Cannot read the eBPF maps", { error: String(error) });
      return;
    }
    if (consumer === undefined || metrics.length === 0) return;
    const data = {
      resourceMetrics: [{
        resource: newResource(),
        scopeMetrics: [{ scope: newScope({ name: EBPF_SCOPE }), metrics, schemaUrl: "" }],
        schemaUrl: "",
      }],
    };
    try {
      await consumer.consume(Payload.of("metrics", data));
    } catch (error) {
      logger.warn("Pipeline refused eBPF metrics", { error: String(error) });
    }
  }

  function schedule(): void {
    timer = clock.setTimer(() => {
      timer = undefined;
      if (state === undefined) return;
      inflight = collect().finally(() => {
        inflight = undefined;
        if (state !== undefined) schedule();
      });
    }, config.interval);
  }

  /** Checks the system, loads and attaches the programs; throws the start error. */
  function attach(): void {
    const fds = new FdSet();
    try {
      const system = preflight(config.btf_path, config.collect_scheduler);
      const loaded = loadPrograms(enabledGroups(config), {
        tracefs: system.tracefs,
        btf: system.btf,
        ...(system.btfProblem === undefined ? {} : { btfProblem: system.btfProblem }),
        maxEntries: config.max_entries,
        latencySamplePeriod: config.latency_sample_period,
      }, fds);
      if (loaded.groups.size === 0) {
        throw startError(`no metric group can run: ${loaded.warnings.join("; ")}`);
      }
      for (const w of loaded.warnings) logger.warn(`Metric group left out: ${w}`);
      state = {
        fds,
        loaded,
        startNs: BigInt(Date.now()) * 1_000_000n,
        lastDrops: [],
        comms: new Map(),
        attributes: next.metrics?.mutatesData === false ? attributeCache() : undefined,
      };
      logger.info("eBPF programs attached", {
        groups: [...loaded.groups],
        descriptors: fds.size,
      });
    } catch (error) {
      fds.closeAll();
      if (error instanceof BpfError) throw startError(error.message, error);
      throw error;
    }
  }

  return {
    collect,
    start() {
      if (state !== undefined) return Promise.resolve();
      try {
        attach();
      } catch (error) {
        return Promise.reject(error);
      }
      schedule();
      return Promise.resolve();
    },
    async shutdown() {
      const run = state;
      state = undefined;
      if (timer !== undefined) clock.clearTimer(timer);
      timer = undefined;
      while (inflight !== undefined) await inflight;
      run?.fds.closeAll();
    },
  };
}

/** The `ebpf` receiver factory. */
export const ebpfReceiverFactory: ReceiverFactory<EbpfConfig> = {
  kind: "receiver",
  type: "ebpf",
  configSchema: ebpfConfigSchema,
  signals: { metrics: "alpha" },
  create: (settings, next) =>
    createEbpfReceiver(settings.config, settings.logger, settings.meter, next),
};
