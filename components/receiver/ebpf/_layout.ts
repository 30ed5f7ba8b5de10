/**
 * The layouts of the receiver's maps, shared by the programs that write them and the reader that
 * turns them into metrics. Values are u64 counters followed, where present, by the 16-byte command
 * name of the process that created the entry. Keys start with the process ID (tgid).
 *
 * @module
 */

/** One statistics map: key and value sizes, counter names in value order, the comm offset. */
export interface StatsLayout {
  /** The map's name. */
  name: string;
  keySize: number;
  /** The counters, one u64 each, in order. */
  counters: readonly string[];
  /** Bytes of the value: counters then, when `hasComm`, the 16-byte comm. */
  valueSize: number;
  /** The offset of the comm in the value, or undefined. */
  commAt: number | undefined;
}

function stats(name: string, keySize: number, counters: string[], hasComm = true): StatsLayout {
  const commAt = hasComm ? counters.length * 8 : undefined;
  return {
    name,
    keySize,
    counters,
    valueSize: counters.length * 8 + (hasComm ? 16 : 0),
    commAt,
  };
}

/** Byte offset of counter `name` in a layout's value. */
export function counterOffset(layout: StatsLayout, name: string): number {
  const i = layout.counters.indexOf(name);
  if (i < 0) throw new Error(`Map ${layout.name} has no counter ${name}`);
  return i * 8;
}

/**
 * Key `{pid u32, nr u32}`. Serves both the syscalls and the file I/O groups (one lookup per
 * system call): `latency_ns` sums the latency of the calls timed (`latency_samples` of them, one
 * in `latency_sample_period`), `bytes` the positive return values (what read and write calls
 * moved).
 */
export const SYSCALLS = stats("tfo_syscalls", 8, [
  "count",
  "latency_ns",
  "errors",
  "bytes",
  "latency_samples",
]);
/**
 * Key `{pid u32, operation u32}`: not a kernel map, the entries of {@linkcode SYSCALLS} summed by
 * file operation in user space.
 */
export const FILEIO = stats("tfo_fileio", 8, ["operations", "bytes", "latency_ns"]);
/** Key `{pid u32, 0}`. */
export const TCP = stats("tfo_tcp", 8, [
  "connections",
  "bytes_sent",
  "bytes_recv",
  "retransmits",
  "rtt_ns",
]);
/** Key `{pid u32, 0}`. */
export const UDP = stats("tfo_udp", 8, ["packets_sent", "packets_recv"]);
/** Key `{pid u32, old_state u32, new_state u32, 0}`. */
export const TCP_STATES = stats("tfo_tcpstate", 16, ["count"]);
/** Key `{pid u32, 0}`. */
export const SCHED = stats("tfo_sched", 8, [
  "context_switches",
  "runq_latency_ns",
  "oncpu_ns",
  "migrations",
]);
/** Key `{pid u32, 0}`. */
export const MEMORY = stats("tfo_memory", 8, ["page_faults", "major_faults", "minor_faults"]);

/** File I/O operations, the `operation` attribute, by their key number. */
export const FILE_OPERATIONS = ["read", "write", "open", "fsync"] as const;

/** The system calls of each file operation (in {@linkcode FILE_OPERATIONS} order), by architecture. */
export const FILE_SYSCALLS: Readonly<Record<string, readonly (readonly number[])[]>> = {
  // read, write, open, fsync
  x86_64: [[0, 17, 19, 295, 327], [1, 18, 20, 296, 328], [2, 257, 437], [74, 75]],
  aarch64: [[63, 67, 65, 69, 286], [64, 68, 66, 70, 287], [56, 437], [82, 83]],
};

/** TCP states (`include/net/tcp_states.h`), the `old_state` / `new_state` attributes. */
export const TCP_STATE_NAMES: Readonly<Record<number, string>> = {
  1: "ESTABLISHED",
  2: "SYN_SENT",
  3: "SYN_RECV",
  4: "FIN_WAIT1",
  5: "FIN_WAIT2",
  6: "TIME_WAIT",
  7: "CLOSE",
  8: "CLOSE_WAIT",
  9: "LAST_ACK",
  10: "LISTEN",
  11: "CLOSING",
  12: "NEW_SYN_RECV",
};

/** Slots of the per-CPU `drops` array: events not counted because a map was full. */
export const DROP_SLOTS = ["syscalls", "file_io", "network", "tcp_events", "scheduler", "memory"];
