/**
 * The `process` scraper: one resource per process (PID, parent PID, executable name and path,
 * command, command line, owner; optionally cgroup) with its CPU time, memory, disk I/O and, when
 * enabled, faults, threads, file descriptors, context switches, pending signals and uptime.
 * Processes are filtered by executable name (strict or regexp); read failures are partial errors
 * unless muted, as in the Collector.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import {
  countOpenFds,
  isKernelThread,
  nextSlice,
  PROCESSES_PER_SLICE,
  type ProcStat,
  type ProcStatus,
  readCgroup,
  readCmdline,
  readExe,
  readProcIoSync,
  readProcStatusSync,
  readUsers,
} from "../../../../lib/host/process.ts";
import { newResource, newScope, nowUnixNano } from "../../../../lib/pdata/new.ts";
import type { KeyValue, ResourceMetrics } from "../../../../lib/pdata/types.ts";
import { duration } from "../../../../lib/config/schema.ts";
import { compileFilter, matchTypeSchema, passes, refineFilter } from "../_filter.ts";
import {
  attrs,
  enabledMetrics,
  type MetricDefs,
  MetricsBuilder,
  metricsSchema,
} from "../_metrics.ts";
import { collectorScope, errorMessage, type ScrapeError, type Scraper } from "../_scraper.ts";

const upDown = (description: string, unit: string, enabled: boolean) =>
  ({ description, unit, enabled, type: "sum", monotonic: false, double: false }) as const;
const counter = (description: string, unit: string, enabled: boolean) =>
  ({ description, unit, enabled, type: "sum", monotonic: true, double: false }) as const;

/** The process scraper's metrics. */
export const PROCESS_METRICS = {
  "process.cpu.time": {
    description: "Total CPU seconds broken down by different states.",
    unit: "s",
    enabled: true,
    type: "sum",
    monotonic: true,
    double: true,
  },
  "process.cpu.utilization": {
    description:
      "Percentage of total CPU time used by the process since last scrape, expressed as a value between 0 and 1. On the first scrape, no data point is emitted for this metric.",
    unit: "1",
    enabled: false,
    type: "gauge",
    double: true,
  },
  "process.memory.usage": upDown("The amount of physical memory in use.", "By", true),
  "process.memory.virtual": upDown("Virtual memory size.", "By", true),
  "process.memory.utilization": {
    description: "Percentage of total physical memory that is used by the process.",
    unit: "1",
    enabled: false,
    type: "gauge",
    double: true,
  },
  "process.disk.io": counter("Disk bytes transferred.", "By", true),
  "process.disk.operations": counter(
    "Number of disk operations performed by the process.",
    "{operations}",
    false,
  ),
  "process.paging.faults": counter(
    "Number of page faults the process has made.",
    "{faults}",
    false,
  ),
  "process.signals_pending": upDown(
    "Number of pending signals for the process.",
    "{signals}",
    false,
  ),
  "process.threads": upDown("Process threads count.", "{threads}", false),
  "process.open_file_descriptors": upDown(
    "Number of file descriptors in use by the process.",
    "{count}",
    false,
  ),
  "process.handles": upDown(
    "Number of handles held by the process (Windows only).",
    "{count}",
    false,
  ),
  "process.context_switches": counter(
    "Number of times the process has been context switched.",
    "{count}",
    false,
  ),
  "process.uptime": {
    description: "The time the process has been running.",
    unit: "s",
    enabled: false,
    type: "gauge",
    double: true,
  },
} as const satisfies MetricDefs;

/** The process resource attributes and whether each is on by default. */
export const PROCESS_RESOURCE_ATTRIBUTES = {
  "process.pid": true,
  "process.parent_pid": true,
  "process.executable.name": true,
  "process.executable.path": true,
  "process.command": true,
  "process.command_line": true,
  "process.owner": true,
  "process.cgroup": false,
} as const;

type ResourceAttribute = keyof typeof PROCESS_RESOURCE_ATTRIBUTES;

const toggle = z.strictObject({ enabled: z.boolean() }).optional();

const namesFilter = z.strictObject({
  names: z.array(z.string()).default([]),
  match_type: matchTypeSchema,
}).superRefine(refineFilter("names"));

/** The process scraper's config. */
export const processConfigSchema = z.strictObject({
  metrics: metricsSchema(PROCESS_METRICS),
  resource_attributes: z.strictObject({
    "process.pid": toggle,
    "process.parent_pid": toggle,
    "process.executable.name": toggle,
    "process.executable.path": toggle,
    "process.command": toggle,
    "process.command_line": toggle,
    "process.owner": toggle,
    "process.cgroup": toggle,
  }).default({}),
  /** Only processes whose executable name matches. */
  include: namesFilter.optional(),
  /** Leave out processes whose executable name matches. */
  exclude: namesFilter.optional(),
  mute_process_name_error: z.boolean().default(false),
  mute_process_exe_error: z.boolean().default(false),
  mute_process_io_error: z.boolean().default(false),
  mute_process_user_error: z.boolean().default(false),
  mute_process_cgroup_error: z.boolean().default(false),
  mute_process_all_errors: z.boolean().default(false),
  /** Skip processes younger than this. */
  scrape_process_delay: duration("0s"),
});

/** The process scraper's validated config. */
export type ProcessConfig = z.output<typeof processConfigSchema>;

interface CpuSample {
  user: number;
  system: number;
  wait: number;
  at: number;
}

/**
 * What is read once per process: its executable (only `exec` changes it, and `exec` gives the
 * process a new memory map, so new argument addresses, and usually a new command name).
 * The fields before `exe` tell whether a PID is still the process that was read.
 */
interface Identity {
  start: number;
  comm: string;
  uid: number;
  argStart: number;
  argEnd: number;
  exe: string;
  /** Why `exe` could not be read, reported again on every scrape as if it were read again. */
  exeError: string | undefined;
  kernelThread: boolean;
}

/** True when `stat` and `status` describe the process `identity` was read from. */
function sameProcess(identity: Identity, stat: ProcStat, status: ProcStatus): boolean {
  // A kernel thread never execs, but renames itself often (a kworker takes its work queue's name).
  const sameName = identity.kernelThread ? isKernelThread(stat) : identity.comm === stat.comm;
  return identity.start === stat.startSecondsAfterBoot && sameName &&
    identity.uid === status.uid && identity.argStart === stat.argStart &&
    identity.argEnd === stat.argEnd;
}

function rethrow(error: unknown): never {
  throw error;
}

const NO_ARGS: string[] = [];

/** Creates the process scraper. */
export function createProcessScraper(config: ProcessConfig): Scraper {
  const mb = new MetricsBuilder(PROCESS_METRICS, enabledMetrics(PROCESS_METRICS, config.metrics));
  const include = compileFilter(config.include?.names, config.include?.match_type);
  const exclude = compileFilter(config.exclude?.names, config.exclude?.match_type);
  const ra = new Set<ResourceAttribute>();
  for (const [key, on] of Object.entries(PROCESS_RESOURCE_ATTRIBUTES)) {
    const k = key as ResourceAttribute;
    if (config.resource_attributes[k]?.enabled ?? on) ra.add(k);
  }
  const scope = collectorScope("process");
  let previous = new Map<number, CpuSample>();
  /** What was read once per process, by PID, for the processes of the last scrape. */
  let identities = new Map<number, Identity>();
  const mute = config.mute_process_all_errors;

  return {
    name: "process",
    scope,
    async scrape(ctx) {
      const errors: ScrapeError[] = [];
      const fail = (message: string, failed: number, muted = false) => {
        if (!muted && !mute) errors.push({ message, failed });
      };
      const root = ctx.root;
      const bootNs = await ctx.bootTime();
      const bootMs = Number(bootNs / 1_000_000n);
      const users = ra.has("process.owner") ? await readUsers(root) : new Map<number, string>();
      const memTotal = mb.enabled("process.memory.utilization") ? (await ctx.memInfo()).total : 0;
      const cores = mb.enabled("process.cpu.utilization")
        ? Math.max(1, (await ctx.kernelStat()).perCpu.length)
        : 1;
      const resources: ResourceMetrics[] = [];
      const current = new Map<number, CpuSample>();

      const seen = new Map<number, Identity>();

      const stats = await ctx.processStats();
      for (let i = 0; i < stats.length; i++) {
        if (i > 0 && i % PROCESSES_PER_SLICE === 0) await nextSlice();
        const entry = stats[i]!;
        const pid = entry.pid;
        let stat: ProcStat;
        let status: ProcStatus;
        try {
          stat = entry.stat ?? rethrow(entry.error);
          status = readProcStatusSync(pid, root);
        } catch (error) {
          // Gone between listing and reading: not an error worth reporting.
          if (!(error instanceof Deno.errors.NotFound)) {
            fail(
              `Error reading process name for pid ${pid}: ${errorMessage(error)}`,
              1,
              config.mute_process_name_error,
            );
          }
          continue;
        }
        let identity = identities.get(pid);
        if (identity === undefined || !sameProcess(identity, stat, status)) {
          identity = {
            start: stat.startSecondsAfterBoot,
            comm: stat.comm,
            uid: status.uid,
            argStart: stat.argStart,
            argEnd: stat.argEnd,
            exe: "",
            exeError: undefined,
            kernelThread: isKernelThread(stat),
          };
          try {
            identity.exe = await readExe(pid, root);
          } catch (error) {
            identity.exeError = errorMessage(error);
          }
        }
        seen.set(pid, identity);
        const exe = identity.exe;
        if (identity.exeError !== undefined) {
          fail(
            `Error reading process executable for pid ${pid}: ${identity.exeError}`,
            1,
            config.mute_process_exe_error,
          );
        }
        let args: string[] = NO_ARGS;
        // A kernel thread has no command line; any other process may rewrite its own (as
        // PostgreSQL and nginx do), so that is read on every scrape, as the Collector does.
        if (!identity.kernelThread) {
          try {
            args = await readCmdline(pid, root);
          } catch (error) {
            fail(
              `Error reading command for process ${JSON.stringify(status.name)} (pid ${pid}): ${
                errorMessage(error)
              }`,
              0,
            );
          }
        }
        const name = executableName(status.name, args);
        let cgroup = "";
        if (ra.has("process.cgroup")) {
          try {
            cgroup = await readCgroup(pid, root);
          } catch (error) {
            fail(
              `Error reading process cgroup for pid ${pid}: ${errorMessage(error)}`,
              1,
              config.mute_process_cgroup_error,
            );
            continue;
          }
        }
        if (!passes(name, include, exclude)) continue;

        const createMs = bootMs + Math.round(stat.startSecondsAfterBoot * 1000);
        if (config.scrape_process_delay > Date.now() - createMs) continue;
        let owner = "";
        if (ra.has("process.owner")) {
          const user = users.get(status.uid);
          if (user === undefined) {
            fail(
              `Error reading username for process ${
                JSON.stringify(name)
              } (pid ${pid}): unknown uid ${status.uid}`,
              0,
              config.mute_process_user_error,
            );
          } else {
            owner = user;
          }
        }

        const start = BigInt(createMs) * 1_000_000n;
        const now = nowUnixNano();
        const sample: CpuSample = {
          user: stat.userSeconds,
          system: stat.systemSeconds,
          wait: stat.ioWaitSeconds,
          at: Number(now) / 1e9,
        };
        current.set(pid, sample);
        mb.record("process.cpu.time", sample.user, attrs("state", "user"), now, start);
        mb.record("process.cpu.time", sample.system, attrs("state", "system"), now, start);
        mb.record("process.cpu.time", sample.wait, attrs("state", "wait"), now, start);
        const before = previous.get(pid);
        if (before !== undefined && sample.at > before.at) {
          const elapsed = (sample.at - before.at) * cores;
          for (const state of ["user", "system", "wait"] as const) {
            const share = Math.max(0, sample[state] - before[state]) / elapsed;
            mb.record("process.cpu.utilization", share, attrs("state", state), now, 0n);
          }
        }
        mb.record("process.memory.usage", status.residentBytes, [], now, start);
        mb.record("process.memory.virtual", status.virtualBytes, [], now, start);
        if (memTotal > 0) {
          // The Collector reports gopsutil's MemoryPercent here: a percentage, not a fraction.
          mb.record(
            "process.memory.utilization",
            (100 * status.residentBytes) / memTotal,
            [],
            now,
            0n,
          );
        }
        if (mb.anyEnabled("process.disk.io", "process.disk.operations")) {
          try {
            const io = readProcIoSync(pid, root);
            mb.record("process.disk.io", io.readChars, attrs("direction", "read"), now, start);
            mb.record("process.disk.io", io.writeChars, attrs("direction", "write"), now, start);
            mb.record(
              "process.disk.operations",
              io.readSyscalls,
              attrs("direction", "read"),
              now,
              start,
            );
            mb.record(
              "process.disk.operations",
              io.writeSyscalls,
              attrs("direction", "write"),
              now,
              start,
            );
          } catch (error) {
            fail(
              `Error reading disk usage for process ${JSON.stringify(name)} (pid ${pid}): ${
                errorMessage(error)
              }`,
              1,
              config.mute_process_io_error,
            );
          }
        }
        mb.record("process.paging.faults", stat.majorFaults, attrs("type", "major"), now, start);
        mb.record("process.paging.faults", stat.minorFaults, attrs("type", "minor"), now, start);
        mb.record("process.signals_pending", status.signalsQueued, [], now, start);
        mb.record("process.threads", status.threads, [], now, start);
        if (mb.enabled("process.open_file_descriptors")) {
          try {
            mb.record(
              "process.open_file_descriptors",
              await countOpenFds(pid, root),
              [],
              now,
              start,
            );
          } catch (error) {
            fail(
              `Error reading open file descriptor count for process ${
                JSON.stringify(name)
              } (pid ${pid}): ${errorMessage(error)}`,
              1,
            );
          }
        }
        const ctxType = "process.context_switches";
        mb.record(
          ctxType,
          status.involuntaryContextSwitches,
          attrs("type", "involuntary"),
          now,
          start,
        );
        mb.record(ctxType, status.voluntaryContextSwitches, attrs("type", "voluntary"), now, start);
        mb.record("process.uptime", Math.max(0, (Date.now() - createMs) / 1000), [], now, 0n);

        const metrics = mb.emit();
        if (metrics.length === 0) continue;
        const resourceAttributes: KeyValue[] = [];
        const put = (key: ResourceAttribute, value: string | bigint) => {
          if (ra.has(key)) resourceAttributes.push({ key, value });
        };
        put("process.pid", BigInt(pid));
        put("process.parent_pid", BigInt(stat.ppid));
        put("process.executable.name", name);
        put("process.executable.path", exe);
        put("process.command", args[0] ?? "");
        put("process.command_line", args.join(" "));
        put("process.owner", owner);
        put("process.cgroup", cgroup);
        resources.push({
          resource: newResource({ attributes: resourceAttributes }),
          scopeMetrics: [{ scope: newScope({ name: scope }), metrics, schemaUrl: "" }],
          schemaUrl: "",
        });
      }
      previous = current;
      identities = seen;
      return { metrics: [], resources, errors };
    },
  };
}

/**
 * The executable name: `Name` from status, or — when that is cut at the kernel's 15 characters —
 * the base name of the first argument it starts.
 */
export function executableName(statusName: string, args: readonly string[]): string {
  if (statusName.length < 15 || args.length === 0) return statusName;
  const first = args[0]!;
  const base = first.slice(first.lastIndexOf("/") + 1).split(" ")[0]!;
  return base.startsWith(statusName) ? base : statusName;
}
