/**
 * CPU readers: `/proc/stat` (times per CPU, boot time, context switches, interrupts, process
 * counters) and `/proc/cpuinfo` (model, vendor, frequency, cache, topology).
 *
 * @module
 */
import {
  CLOCK_TICKS_PER_SECOND,
  hostPath,
  num,
  readText,
  type RootPath,
  splitFields,
  splitLines,
} from "./_read.ts";

/** Seconds a CPU (or all CPUs together) spent in each mode since boot. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  /** Already included in `user`, as the kernel counts it. */
  guest: number;
  /** Already included in `nice`, as the kernel counts it. */
  guestNice: number;
}

/** One logical CPU's times. */
export interface PerCpuTimes extends CpuTimes {
  /** `cpu0`, `cpu1`, … */
  cpu: string;
}

/** What `/proc/stat` says. */
export interface KernelStat {
  /** All CPUs together. */
  total: CpuTimes;
  /** Each online logical CPU. */
  perCpu: PerCpuTimes[];
  /** Boot time, Unix seconds (`btime`). */
  bootTimeSeconds: number;
  /** Context switches since boot (`ctxt`). */
  contextSwitches: number;
  /** Hardware interrupts serviced since boot (`intr` total). */
  interrupts: number;
  /** Soft interrupts serviced since boot (`softirq` total). */
  softInterrupts: number;
  /** Processes and threads created since boot (`processes`). */
  processesCreated: number;
  /** Runnable tasks now (`procs_running`). */
  procsRunning: number;
  /** Tasks blocked on I/O now (`procs_blocked`). */
  procsBlocked: number;
}

function cpuTimes(fields: readonly string[]): CpuTimes {
  const s = (i: number) => num(fields[i]) / CLOCK_TICKS_PER_SECOND;
  return {
    user: s(1),
    nice: s(2),
    system: s(3),
    idle: s(4),
    iowait: s(5),
    irq: s(6),
    softirq: s(7),
    steal: s(8),
    guest: s(9),
    guestNice: s(10),
  };
}

/** Parses the text of `/proc/stat`. */
export function parseKernelStat(text: string): KernelStat {
  const stat: KernelStat = {
    total: cpuTimes([]),
    perCpu: [],
    bootTimeSeconds: 0,
    contextSwitches: 0,
    interrupts: 0,
    softInterrupts: 0,
    processesCreated: 0,
    procsRunning: 0,
    procsBlocked: 0,
  };
  for (const line of splitLines(text)) {
    const space = line.indexOf(" ");
    if (space <= 0) continue;
    const key = line.slice(0, space);
    if (key.startsWith("cpu")) {
      const fields = splitFields(line);
      if (key === "cpu") stat.total = cpuTimes(fields);
      else stat.perCpu.push({ cpu: key, ...cpuTimes(fields) });
      continue;
    }
    // Only the first number matters for the long lines (intr, softirq): no full split.
    const rest = line.slice(space + 1).trimStart();
    const end = rest.indexOf(" ");
    const first = num(end < 0 ? rest : rest.slice(0, end));
    switch (key) {
      case "btime":
        stat.bootTimeSeconds = first;
        break;
      case "ctxt":
        stat.contextSwitches = first;
        break;
      case "intr":
        stat.interrupts = first;
        break;
      case "softirq":
        stat.softInterrupts = first;
        break;
      case "processes":
        stat.processesCreated = first;
        break;
      case "procs_running":
        stat.procsRunning = first;
        break;
      case "procs_blocked":
        stat.procsBlocked = first;
        break;
    }
  }
  return stat;
}

/** Reads `/proc/stat`. */
export async function readKernelStat(root: RootPath = ""): Promise<KernelStat> {
  return parseKernelStat(await readText(hostPath(root, "/proc/stat")));
}

/** The sum of every mode of a {@linkcode CpuTimes}, guest time not counted twice. */
export function totalCpuSeconds(t: CpuTimes): number {
  return t.user + t.nice + t.system + t.idle + t.iowait + t.irq + t.softirq + t.steal;
}

/** One logical processor in `/proc/cpuinfo`. */
export interface Processor {
  /** The logical CPU number. */
  processor: number;
  vendorId: string;
  modelName: string;
  /** Current frequency in MHz (0 when not reported). */
  mhz: number;
  /** Cache size in bytes (0 when not reported). */
  cacheSizeBytes: number;
  /** Socket number, -1 when not reported. */
  physicalId: number;
  /** Core number within the socket, -1 when not reported. */
  coreId: number;
}

/** What `/proc/cpuinfo` says. */
export interface CpuInfo {
  processors: Processor[];
  /** Logical CPUs. */
  logicalCount: number;
  /** Distinct (socket, core) pairs; the logical count when topology is not reported. */
  physicalCount: number;
}

function newProcessor(n: number): Processor {
  return {
    processor: n,
    vendorId: "",
    modelName: "",
    mhz: 0,
    cacheSizeBytes: 0,
    physicalId: -1,
    coreId: -1,
  };
}

/** Parses the text of `/proc/cpuinfo` (x86 and ARM layouts). */
export function parseCpuInfo(text: string): CpuInfo {
  const processors: Processor[] = [];
  let current: Processor | undefined;
  for (const line of splitLines(text)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    switch (key) {
      case "processor":
        current = newProcessor(num(value));
        processors.push(current);
        break;
      case "vendor_id":
      case "CPU implementer":
        if (current !== undefined && current.vendorId === "") current.vendorId = value;
        break;
      case "model name":
      case "Processor":
        if (current !== undefined) current.modelName = value;
        break;
      case "cpu MHz":
        if (current !== undefined) current.mhz = num(value);
        break;
      case "cache size":
        if (current !== undefined) {
          const n = num(splitFields(value)[0]);
          current.cacheSizeBytes = value.endsWith("KB") ? n * 1024 : n;
        }
        break;
      case "physical id":
        if (current !== undefined) current.physicalId = num(value);
        break;
      case "core id":
        if (current !== undefined) current.coreId = num(value);
        break;
    }
  }
  const cores = new Set<string>();
  for (const p of processors) {
    if (p.physicalId >= 0 && p.coreId >= 0) cores.add(`${p.physicalId}:${p.coreId}`);
  }
  return {
    processors,
    logicalCount: processors.length,
    physicalCount: cores.size > 0 ? cores.size : processors.length,
  };
}

/** Reads `/proc/cpuinfo`. */
export async function readCpuInfo(root: RootPath = ""): Promise<CpuInfo> {
  return parseCpuInfo(await readText(hostPath(root, "/proc/cpuinfo")));
}
