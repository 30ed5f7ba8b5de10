/**
 * Map entries → metrics, under the TFO-Agent's names and attributes (`pid`, `comm`, `syscall`,
 * `operation`, `old_state`, `new_state`, as strings like the agent's labels). Counters are
 * cumulative monotonic sums from the time the programs were attached; `ebpf.sched.runq_latency_ns`
 * and `ebpf.tcp.rtt_ns` are gauges as in the agent (the RTT only when measured). Received bytes
 * and datagrams go out under both the names (`ebpf.tcp.bytes_received`,
 * `ebpf.udp.packets_received`) and the agent's (`bytes_recv`, `packets_recv`, as its collector and
 * its metric catalog spell them), one counter each.
 *
 * @module
 */
import { cumulativeSumOf, gaugeOf, newMetric } from "../../../lib/pdata/new.ts";
import type { Exemplar, KeyValue, Metric, NumberDataPoint } from "../../../lib/pdata/types.ts";
import {
  FILE_OPERATIONS,
  FILE_SYSCALLS,
  FILEIO,
  MEMORY,
  SCHED,
  type StatsLayout,
  SYSCALLS,
  TCP,
  TCP_STATE_NAMES,
  TCP_STATES,
  UDP,
} from "./_layout.ts";
import type { Entry } from "./_reader.ts";
import { X86_64_SYSCALLS } from "./_syscalls_x86_64.ts";

/** One metric of a map: the counter it reads, its name, unit, description and kind. */
export interface MetricDef {
  counter: string;
  name: string;
  unit: string;
  description: string;
  kind: "sum" | "gauge";
  /** Leave zero values out (a gauge with nothing measured). */
  skipZero?: boolean;
}

/** How a map's entries become metrics: the attributes from its key, the metrics from its values. */
export interface MapMetrics {
  layout: StatsLayout;
  attributes(e: Entry): KeyValue[];
  metrics: readonly MetricDef[];
}

const sum = (counter: string, name: string, unit: string, description: string): MetricDef => ({
  counter,
  name,
  unit,
  description,
  kind: "sum",
});

function syscallName(nr: number): string {
  const name = Deno.build.arch === "x86_64" ? X86_64_SYSCALLS[nr] : undefined;
  return name ?? `syscall_${nr}`;
}

const proc = (e: Entry): KeyValue[] => [
  { key: "pid", value: String(e.key[0]) },
  { key: "comm", value: e.comm },
];

/** Every map's metrics. */
export const MAP_METRICS: readonly MapMetrics[] = [
  {
    layout: SYSCALLS,
    attributes: (e) => [...proc(e), { key: "syscall", value: syscallName(e.key[1]!) }],
    metrics: [
      sum("count", "ebpf.syscall.count", "{call}", "Number of system calls"),
      sum("latency_ns", "ebpf.syscall.latency_ns", "ns", "Time spent in system calls"),
      sum("errors", "ebpf.syscall.errors", "{call}", "System calls that returned an error"),
    ],
  },
  {
    layout: FILEIO,
    attributes: (e) => [...proc(e), {
      key: "operation",
      value: FILE_OPERATIONS[e.key[1]!] ?? "unknown",
    }],
    metrics: [
      sum("operations", "ebpf.fileio.operations", "{operation}", "File I/O system calls"),
      sum("bytes", "ebpf.fileio.bytes", "By", "Bytes read or written by file I/O system calls"),
      sum("latency_ns", "ebpf.fileio.latency_ns", "ns", "Time spent in file I/O system calls"),
    ],
  },
  {
    layout: TCP,
    attributes: proc,
    metrics: [
      sum("connections", "ebpf.tcp.connections", "{connection}", "TCP connections established"),
      sum("bytes_sent", "ebpf.tcp.bytes_sent", "By", "Bytes sent on TCP sockets"),
      sum("bytes_recv", "ebpf.tcp.bytes_received", "By", "Bytes received on TCP sockets"),
      sum(
        "bytes_recv",
        "ebpf.tcp.bytes_recv",
        "By",
        "Bytes received on TCP sockets (the TFO-Agent's name of ebpf.tcp.bytes_received)",
      ),
      sum("retransmits", "ebpf.tcp.retransmits", "{segment}", "TCP segments retransmitted"),
      {
        counter: "rtt_ns",
        name: "ebpf.tcp.rtt_ns",
        unit: "ns",
        description: "Smoothed round-trip time of the latest TCP segment received",
        kind: "gauge",
        skipZero: true,
      },
    ],
  },
  {
    layout: UDP,
    attributes: proc,
    metrics: [
      sum("packets_sent", "ebpf.udp.packets_sent", "{packet}", "UDP datagrams sent"),
      sum("packets_recv", "ebpf.udp.packets_received", "{packet}", "UDP datagrams received"),
      sum(
        "packets_recv",
        "ebpf.udp.packets_recv",
        "{packet}",
        "UDP datagrams received (the TFO-Agent's name of ebpf.udp.packets_received)",
      ),
    ],
  },
  {
    layout: TCP_STATES,
    attributes: (e) => [
      { key: "pid", value: String(e.key[0]) },
      { key: "old_state", value: TCP_STATE_NAMES[e.key[1]!] ?? `STATE_${e.key[1]}` },
      { key: "new_state", value: TCP_STATE_NAMES[e.key[2]!] ?? `STATE_${e.key[2]}` },
    ],
    metrics: [
      sum("count", "ebpf.tcp.state_transitions", "{transition}", "TCP state transitions"),
    ],
  },
  {
    layout: SCHED,
    attributes: proc,
    metrics: [
      sum(
        "context_switches",
        "ebpf.sched.context_switches",
        "{switch}",
        "Times a thread of the process was switched out",
      ),
      {
        counter: "runq_latency_ns",
        name: "ebpf.sched.runq_latency_ns",
        unit: "ns",
        description: "Time the process's threads waited runnable in a run queue",
        kind: "gauge",
      },
      sum("oncpu_ns", "ebpf.sched.oncpu_ns", "ns", "Time the process's threads ran on a CPU"),
      sum("migrations", "ebpf.sched.migrations", "{migration}", "Thread migrations between CPUs"),
    ],
  },
  {
    layout: MEMORY,
    attributes: proc,
    metrics: [
      sum("page_faults", "ebpf.memory.page_faults", "{fault}", "Page faults in user mode"),
      sum("major_faults", "ebpf.memory.major_faults", "{fault}", "Page faults that needed I/O"),
      sum("minor_faults", "ebpf.memory.minor_faults", "{fault}", "Page faults without I/O"),
    ],
  },
];

/**
 * Scales the latency sums of {@linkcode SYSCALLS} entries in place to estimates of every call's:
 * one call in `period` was timed, so each timed call stands for `period` calls.
 */
export function scaleLatency(entries: readonly Entry[], period: number): void {
  if (period === 1) return;
  const at = SYSCALLS.counters.indexOf("latency_ns");
  for (const e of entries) e.values[at] = e.values[at]! * period;
}

let fileOps: Map<number, number> | undefined;

/** File operation index by system call number, for this architecture. */
function fileOpOf(): Map<number, number> {
  if (fileOps !== undefined) return fileOps;
  fileOps = new Map();
  (FILE_SYSCALLS[Deno.build.arch] ?? []).forEach((nrs, op) => {
    for (const nr of nrs) fileOps!.set(nr, op);
  });
  return fileOps;
}

/**
 * The {@linkcode FILEIO} entries: {@linkcode SYSCALLS} entries of the file operations' system
 * calls summed by process and operation (bytes of read and write calls only).
 */
export function fileEntries(entries: readonly Entry[]): Entry[] {
  const ops = fileOpOf();
  const C = SYSCALLS.counters;
  const [count, latency, bytes] = [C.indexOf("count"), C.indexOf("latency_ns"), C.indexOf("bytes")];
  const out = new Map<string, Entry>();
  for (const e of entries) {
    const op = ops.get(e.key[1]!);
    if (op === undefined) continue;
    const id = `${e.key[0]}:${op}`;
    let f = out.get(id);
    if (f === undefined) {
      f = { key: [e.key[0]!, op], comm: e.comm, values: [0, 0, 0] };
      out.set(id, f);
    }
    f.values[0]! += e.values[count]!;
    if (op <= 1) f.values[1]! += e.values[bytes]!;
    f.values[2]! += e.values[latency]!;
  }
  return [...out.values()];
}

/** Timestamps and extra attributes of one emission. */
export interface Stamp {
  start: bigint;
  now: bigint;
  /** The config's `labels`. */
  labels: KeyValue[];
}

/** The exemplars of every point when nothing downstream edits data (never changed). */
const NO_EXEMPLARS: Exemplar[] = [];

/** Attribute lists kept from one collection to the next (see {@linkcode attributeCache}). */
export interface AttributeCache {
  /** The list of `e` under `def`, made once while the entry keeps its key and name. */
  get(def: MapMetrics, e: Entry, labels: readonly KeyValue[]): KeyValue[];
  /** Ends a collection: lists not asked for in it or the one before are let go. */
  sweep(): void;
  /** Lists held. */
  readonly size: number;
}

/**
 * A cache of attribute lists, for a pipeline that does not change data in place: the points of
 * one entry share one list, kept between collections, so a collection allocates only the points.
 * Bounded by the entries of two collections (each map's `max_entries`).
 */
export function attributeCache(): AttributeCache {
  let current = new Map<string, KeyValue[]>();
  let previous = new Map<string, KeyValue[]>();
  return {
    get(def, e, labels) {
      let id = def.layout.name;
      for (const k of e.key) id += `:${k}`;
      id += `:${e.comm}`;
      let list = current.get(id) ?? previous.get(id);
      if (list === undefined) {
        list = def.attributes(e);
        for (const l of labels) list.push(l);
      }
      current.set(id, list);
      return list;
    },
    sweep() {
      previous = current;
      current = new Map();
    },
    get size() {
      return current.size + previous.size;
    },
  };
}

/**
 * The metrics of one map's entries (metrics without points are left out). With `shared`, the
 * points of an entry share its cached attribute list (nothing downstream changes data in place);
 * without, every point gets its own attribute objects: a processor downstream may change one
 * point's in place.
 */
export function toMetrics(
  def: MapMetrics,
  entries: readonly Entry[],
  stamp: Stamp,
  shared?: AttributeCache,
): Metric[] {
  let lists: (readonly KeyValue[])[];
  if (shared !== undefined) {
    lists = entries.map((e) => shared.get(def, e, stamp.labels));
  } else {
    // Attributes once per entry; copied into fresh objects per point.
    lists = entries.map((e) => {
      const kvs = def.attributes(e);
      for (const l of stamp.labels) kvs.push(l);
      return kvs;
    });
  }
  const out: Metric[] = [];
  for (const m of def.metrics) {
    const c = def.layout.counters.indexOf(m.counter);
    const start = m.kind === "sum" ? stamp.start : 0n;
    const points: NumberDataPoint[] = [];
    for (let i = 0; i < entries.length; i++) {
      const v = entries[i]!.values[c]!;
      if (m.skipZero === true && v === 0) continue;
      let attributes: KeyValue[];
      if (shared !== undefined) {
        attributes = lists[i] as KeyValue[];
      } else {
        attributes = [];
        for (const kv of lists[i]!) attributes.push({ key: kv.key, value: kv.value });
      }
      points.push({
        attributes,
        startTimeUnixNano: start,
        timeUnixNano: stamp.now,
        // Zero, the value of most error and byte counters, needs no BigInt of its own.
        value: v === 0 ? 0n : BigInt(v),
        exemplars: shared === undefined ? [] : NO_EXEMPLARS,
        flags: 0,
      });
    }
    if (points.length === 0) continue;
    out.push(newMetric({
      name: m.name,
      unit: m.unit,
      description: m.description,
      data: m.kind === "sum" ? cumulativeSumOf(points, true) : gaugeOf(points),
    }));
  }
  return out;
}
