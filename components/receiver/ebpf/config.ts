/**
 * The `ebpf` receiver's config: the keys and defaults of the TFO-Agent's `collectors.ebpf`
 * (`interval` 15s, `collect_syscalls`, `collect_network`, `collect_file_io`, `collect_tcp_events`
 * on, `collect_scheduler`, `collect_memory` off, `process_filter`, `exclude_processes`
 * `[tfo-agent, systemd]`, `btf_path`, `labels`), plus `max_entries`, the bound on each map's
 * entries (its series), and `latency_sample_period`, the share of system calls timed.
 *
 * The agent's `sample_rate` is accepted only at 100 (every event is counted; only the latency
 * sums are sampled, by `latency_sample_period`), and its
 * ring/perf buffer sizes, `pin_path` and `cilium` have no counterpart here: they are unknown keys.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";

/** The default of `latency_sample_period` (see `bench/RESULTS.md`, the eBPF section). */
export const LATENCY_SAMPLE_PERIOD = 16;

/** The ebpf receiver's config schema. */
export const ebpfConfigSchema = z.strictObject({
  /** How often the maps are read and emitted. */
  interval: duration("15s"),
  /** System calls: `ebpf.syscall.count`, `.latency_ns`, `.errors` by process and call. */
  collect_syscalls: z.boolean().default(true),
  /** TCP and UDP: `ebpf.tcp.*`, `ebpf.udp.*` by process. */
  collect_network: z.boolean().default(true),
  /** File I/O system calls: `ebpf.fileio.*` by process and operation. */
  collect_file_io: z.boolean().default(true),
  /** The scheduler: `ebpf.sched.*` by process. */
  collect_scheduler: z.boolean().default(false),
  /** Page faults: `ebpf.memory.*` by process. */
  collect_memory: z.boolean().default(false),
  /** TCP state transitions: `ebpf.tcp.state_transitions` by process and states. */
  collect_tcp_events: z.boolean().default(true),
  /** Regular expressions on the command name; when any is given, only matching processes. */
  process_filter: z.array(z.string()).default([]),
  /** Command names (exact) whose processes are left out. */
  exclude_processes: z.array(z.string()).default(["tfo-agent", "systemd"]),
  /** Percentage of events sampled; only 100 (every event) is supported. */
  sample_rate: z.literal(100, { error: "must be 100: tfo counts every event" }).default(100),
  /** The kernel's BTF; empty: `/sys/kernel/btf/vmlinux`. */
  btf_path: z.string().default(""),
  /** Attributes added to every data point. */
  labels: z.record(z.string(), z.string()).default({}),
  /**
   * The most entries of each statistics map: distinct processes (process × system call for
   * syscalls). Events of processes beyond it are counted as dropped, with a warning.
   */
  max_entries: z.number().int().min(16).max(1_048_576).default(10240),
  /**
   * One system call in this many is timed for `ebpf.syscall.latency_ns` and
   * `ebpf.fileio.latency_ns` (their sums are the timed calls' × this); counts, errors and bytes
   * stay exact. 1 times every call: two clock reads per call, most of the programs' cost.
   */
  latency_sample_period: z.number().int().min(1).max(65536).default(LATENCY_SAMPLE_PERIOD),
}).superRefine((c, ctx) => {
  const groups = [
    c.collect_syscalls,
    c.collect_network,
    c.collect_file_io,
    c.collect_scheduler,
    c.collect_memory,
    c.collect_tcp_events,
  ];
  if (!groups.some((on) => on)) {
    ctx.addIssue({
      code: "custom",
      path: [],
      message: "enables no metric group: set one of collect_syscalls, collect_network, " +
        "collect_file_io, collect_scheduler, collect_memory, collect_tcp_events to true",
    });
  }
  if (c.interval <= 0) {
    ctx.addIssue({ code: "custom", path: ["interval"], message: "must be greater than 0" });
  }
  c.process_filter.forEach((p, i) => {
    try {
      new RegExp(p);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        path: ["process_filter", i],
        message: `is not a regular expression: ${(error as Error).message}`,
      });
    }
  });
  if (c.btf_path !== "" && !c.btf_path.startsWith("/")) {
    ctx.addIssue({ code: "custom", path: ["btf_path"], message: "must be an absolute path" });
  }
});

/** The ebpf receiver's validated config. */
export type EbpfConfig = z.output<typeof ebpfConfigSchema>;
